"""What Flux asks of the local AWS configuration without calling AWS (botocore is imported only
when asked)."""

from __future__ import annotations

__all__ = ["default_region"]


def default_region() -> str | None:
    """The region boto3 would use from the environment and shared AWS config (no network);
    None when there is none or the configuration cannot be read."""
    try:
        import botocore.session

        region = botocore.session.get_session().get_config_variable("region")
    except Exception:  # a broken profile is reported as a missing region, not a crash
        return None
    return str(region) if region else None
