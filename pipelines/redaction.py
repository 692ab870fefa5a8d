"""Keeps secrets out of log lines and error messages.

:func:`scrub` hides the user info of any URL (``postgresql://user:secret@host`` becomes
``postgresql://***@host``), ``password=...``-style pairs, and the values of the secrets this
process knows about: the database URL's password and AWS/PG credentials in the environment.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from urllib.parse import unquote, urlsplit

_USERINFO = re.compile(r"(?<=://)[^/@\s\"']+@")
_PAIRS = re.compile(
    r"(?i)\b(password|passwd|pwd|secret|token|aws_secret_access_key|aws_session_token)"
    r"(\s*[=:]\s*)(\"[^\"]*\"|'[^']*'|[^\s,;&\"']+)"
)
SECRET_ENV = (
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "PGPASSWORD",
    "FLUX_DATABASE_URL",
)
MASK = "***"
_REGISTERED: set[str] = set()


def register_secret(value: str | None) -> None:
    """Remembers a secret (a password, or a URL holding one) to mask from now on."""
    if value:
        _REGISTERED.update(known_secrets_of([value]))


def known_secrets_of(values: Iterable[str | None]) -> list[str]:
    """The secret parts of ``values``: a URL's password, or the value itself."""
    found: list[str] = []
    for value in values:
        if not value:
            continue
        password = _url_password(value) if "://" in value else value
        if password and len(password) >= 4:
            found.append(password)
    return found


def _url_password(url: str) -> str | None:
    try:
        parts = urlsplit(url)
        return unquote(parts.password) if parts.password else None
    except ValueError:
        return None


def known_secrets(extra: Iterable[str | None] = ()) -> list[str]:
    """Secret values to hide: from the environment and ``extra`` (passwords or URLs)."""
    env = [os.environ.get(name) for name in SECRET_ENV]
    found = known_secrets_of([*env, *extra]) + list(_REGISTERED)
    return sorted(set(found), key=len, reverse=True)


def mask(text: str, secrets: Iterable[str]) -> str:
    """``text`` with each of ``secrets`` masked where it stands as a whole word (a weak password
    such as "postgres" must not mangle "postgresql")."""
    for secret in secrets:
        text = re.sub(rf"(?<![A-Za-z0-9]){re.escape(secret)}(?![A-Za-z0-9])", MASK, text)
    return text


def scrub(text: str, secrets: Iterable[str] | None = None) -> str:
    """``text`` with URL user info, ``password=...`` values and known secrets masked."""
    text = _USERINFO.sub(MASK + "@", text)
    text = _PAIRS.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", text)
    return mask(text, known_secrets() if secrets is None else secrets)
