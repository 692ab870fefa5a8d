"""Where ``flux pull`` finds the vendors' credentials, and how they stay secret.

Each credential field of a ``[pos.<vendor>]`` table (``token``, ``client_id``,
``client_secret``, ``api_key``, ``api_secret``, ``refresh_token``) comes from, highest first:

1. the settings themselves: ``FLUX_POS__SQUARE__TOKEN`` or flux.toml;
2. ``pos.secrets_file``: a TOML file of one table per vendor (``[square]`` ``token = "..."``),
   readable by the service account only;
3. ``[pos.<vendor>] secret_name``: an AWS Secrets Manager secret whose ``SecretString`` is a
   JSON object with the same keys (fetched once per run with boto3).

Values are :class:`~pydantic.SecretStr` from then on; no message here quotes one (errors name
the file, the secret's name and the field, never a value).
"""

from __future__ import annotations

import json
import tomllib
from typing import Any

from pydantic import SecretStr

from pipelines.errors import ConfigError
from pipelines.settings import PosConfig, ProviderConfig

FIELDS = ("token", "client_id", "client_secret", "api_key", "api_secret", "refresh_token")
_SECRET_FIELDS = frozenset(FIELDS) - {"client_id"}


def _file_values(pos: PosConfig, name: str) -> dict[str, Any]:
    path = pos.secrets_file
    if path is None:
        return {}
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: pos.secrets_file not found") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not a readable TOML file"
        raise ConfigError(f"{path}: pos.secrets_file: {reason}") from None
    table = doc.get(name, {})
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [{name}] must be a table of credentials")
    return table


def _aws_values(pos: PosConfig, cfg: ProviderConfig, name: str) -> dict[str, Any]:
    if cfg.secret_name is None:
        return {}
    import boto3
    import botocore.exceptions

    client = boto3.client(
        "secretsmanager", region_name=pos.secrets_region, endpoint_url=pos.secrets_endpoint_url
    )
    where = f"[pos.{name}] secret_name {cfg.secret_name!r} (AWS Secrets Manager)"
    try:
        answer = client.get_secret_value(SecretId=cfg.secret_name)
    except botocore.exceptions.ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "error")
        raise ConfigError(f"{where}: {code}") from None
    except botocore.exceptions.BotoCoreError as exc:
        raise ConfigError(f"{where}: {type(exc).__name__}") from None
    try:
        values = json.loads(answer.get("SecretString") or "")
    except ValueError:
        values = None
    if not isinstance(values, dict):
        raise ConfigError(
            f"{where}: its SecretString must be a JSON object with {', '.join(FIELDS)} keys"
        )
    return values


def resolve(name: str, cfg: ProviderConfig, pos: PosConfig) -> ProviderConfig:
    """``cfg`` with each credential it lacks filled from the secrets file, then Secrets Manager.

    Raises:
        ConfigError: the file or secret cannot be read, or a value is not a string.
    """
    missing = [f for f in FIELDS if getattr(cfg, f) is None]
    if not missing:
        return cfg
    found: dict[str, Any] = {}

    def take(source: str, values: dict[str, Any]) -> None:
        for field_name in missing:
            if field_name in found or field_name not in values:
                continue
            value = values[field_name]
            if not isinstance(value, str):
                raise ConfigError(f"{source}: {field_name} must be a string")
            found[field_name] = SecretStr(value) if field_name in _SECRET_FIELDS else value

    take(f"{pos.secrets_file} [{name}]", _file_values(pos, name))
    if len(found) < len(missing):
        take(f"secret {cfg.secret_name!r}", _aws_values(pos, cfg, name))
    return cfg.model_copy(update=found) if found else cfg
