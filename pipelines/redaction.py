"""Keeps secrets out of log lines and error messages.

:func:`scrub` hides the user info of any URL (``postgresql://user:secret@host`` becomes
``postgresql://***@host``), ``password=...``-style pairs, and the values of the secrets this
process knows about: the database URL's password and AWS/PG credentials in the environment.

:func:`redact_url` renders one URL for display (``postgresql://user:***@host/db``, and
``?password=`` or ``sslpassword=`` in its query masked); it never raises, whatever the URL. A
password holding an unencoded ``@`` (``user:p@ss@host``) is read up to the *last* ``@`` before the
query, by both :func:`redact_url` and :func:`normalise_url` (which percent-encodes it so that
SQLAlchemy connects to the right host instead of leaking the password's tail as a host name).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from urllib.parse import unquote

_USERINFO = re.compile(r"(?<=://)[^/\s\"']+@")  # greedy: up to the last @ (a password's @)
_QUERY_SECRET = re.compile(
    r"(?i)([?&;](?:password|passwd|pwd|sslpassword|secret|token)=)([^&;#\s\"']*)"
)
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
    parts = split_userinfo(url)
    if parts is None:
        return None
    _, userinfo, rest = parts
    if userinfo and ":" in userinfo:
        password = userinfo.partition(":")[2]
        if password:
            return unquote(password)
    query = _QUERY_SECRET.search(rest)
    return unquote(query.group(2)) if query and query.group(2) else None


def split_userinfo(url: str) -> tuple[str, str | None, str] | None:
    """``(scheme, userinfo, rest)`` of ``scheme://userinfo@rest`` (userinfo None when absent;
    None when ``url`` has no ``://``). The user info ends at the last ``@`` before the query, so
    an unencoded ``@`` in a password stays in the password."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return None
    query = rest.find("?")
    at = (rest if query < 0 else rest[:query]).rfind("@")
    if at < 0:
        at = rest.rfind("@")
    if at < 0:
        return scheme, None, rest
    return scheme, rest[:at], rest[at + 1 :]


def normalise_url(url: str) -> str:
    """``url`` with any ``@`` in its user info percent-encoded (``user:p@ss@host`` becomes
    ``user:p%40ss@host``), so that every URL parser finds the same host and password."""
    parts = split_userinfo(url)
    if parts is None:
        return url
    scheme, userinfo, rest = parts
    if userinfo is None or "@" not in userinfo:
        return url
    return f"{scheme}://{userinfo.replace('@', '%40')}@{rest}"


def redact_url(url: str) -> str:
    """``url`` for display: the password replaced by ``***`` (the user name kept), and secret
    query values (``password=``, ``sslpassword=``, ``token=`` ...) masked. Never raises."""
    parts = split_userinfo(str(url))
    if parts is None:
        return scrub(str(url), [])
    scheme, userinfo, rest = parts
    rest = _QUERY_SECRET.sub(lambda m: m.group(1) + MASK, rest)
    if userinfo is None:
        return f"{scheme}://{rest}"
    user, colon, _ = userinfo.partition(":")
    return f"{scheme}://{user}{':' + MASK if colon else ''}@{rest}"


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
    text = _QUERY_SECRET.sub(lambda m: m.group(1) + MASK, text)
    text = _PAIRS.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", text)
    return mask(text, known_secrets() if secrets is None else secrets)
