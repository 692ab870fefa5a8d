"""HTTP to the POS vendors: retries (tenacity) and a per-provider circuit breaker.

What is retried, and how:

- timeouts, refused or dropped connections (also a body cut off mid-page) and HTTP 5xx: waited
  for with exponential backoff and full jitter (``backoff_seconds`` doubled each try, each wait
  a random fraction of that, at most ``max_wait_seconds``), up to ``max_attempts`` tries;
- HTTP 429: waited for exactly as long as its ``Retry-After`` says (seconds or an HTTP date;
  the backoff when it says nothing); a ``Retry-After`` longer than ``max_wait_seconds`` fails
  the call at once rather than hold the run;
- HTTP 401 and 403: never retried. :class:`~pipelines.errors.ProviderAuthError`, and the
  caller stops that provider;
- any other 4xx, and a 2xx whose body is not JSON after the retries: a
  :class:`~pipelines.errors.ProviderError`.

A call whose retries are spent counts one failure on the provider's :class:`CircuitBreaker`; a
success resets it. Credentials go in headers only and never into a message: errors name the
method, the path and the status, never a header or a query string.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
import structlog
import tenacity

from pipelines.errors import CircuitOpenError, ProviderAuthError, ProviderError

logger = structlog.get_logger(__name__)

Clock = Callable[[], float]


@dataclass(frozen=True)
class RetryPolicy:
    """How one request is retried (see the module docstring)."""

    max_attempts: int = 5
    backoff_seconds: float = 1.0
    max_wait_seconds: float = 120.0
    timeout_seconds: float = 30.0


class CircuitBreaker:
    """Closed, open, half-open: the classic breaker, one per provider.

    ``failures`` failed calls in a row open it; while open every call is refused
    (:class:`~pipelines.errors.CircuitOpenError`) without touching the network; once
    ``cooldown_seconds`` have passed it is half-open and lets one call through as a probe: a
    success closes it, a failure opens it again for another cool-down.

    Args:
        provider: The provider's name, for messages.
        failures: Failures in a row that open the breaker.
        cooldown_seconds: How long it stays open.
        clock: Monotonic seconds (a test's fake clock).
    """

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half-open"

    def __init__(
        self,
        provider: str,
        failures: int = 3,
        cooldown_seconds: float = 300.0,
        clock: Clock = time.monotonic,
    ) -> None:
        self.provider = provider
        self.threshold = failures
        self.cooldown = cooldown_seconds
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self.last_error = ""

    @property
    def state(self) -> str:
        """``closed``, ``open`` or ``half-open`` now."""
        if self._opened_at is None:
            return self.CLOSED
        if self._clock() - self._opened_at >= self.cooldown:
            return self.HALF_OPEN
        return self.OPEN

    def before_call(self) -> None:
        """Refuses the call while open.

        Raises:
            CircuitOpenError: the breaker is open (and says for how much longer).
        """
        if self.state == self.OPEN:
            assert self._opened_at is not None
            left = self.cooldown - (self._clock() - self._opened_at)
            raise CircuitOpenError(
                self.provider,
                f"circuit breaker open after {self._failures} failed calls in a row (last: "
                f"{self.last_error}); next probe in {left:.0f}s",
            )

    def record_success(self) -> None:
        """A call succeeded: closes the breaker."""
        self._failures = 0
        self._opened_at = None

    def record_failure(self, reason: str) -> None:
        """A call failed (retries spent): opens the breaker at the threshold, or again after a
        failed half-open probe."""
        was = self.state
        self._failures += 1
        self.last_error = reason
        if was == self.HALF_OPEN or self._failures >= self.threshold:
            self._opened_at = self._clock()
            logger.warning(
                "circuit breaker opened",
                provider=self.provider,
                failures=self._failures,
                cooldown_seconds=self.cooldown,
            )


class _Retryable(Exception):
    """A failed try worth another: carries the wait the server asked for, if any."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


def parse_retry_after(value: str | None, now: dt.datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (RFC 9110 10.2.3: delay-seconds or an
    HTTP-date); None when absent or unreadable."""
    if value is None:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - (now or dt.datetime.now(dt.UTC))).total_seconds())


@dataclass
class ProviderClient:
    """One provider's HTTP client: retries each request, feeds its breaker, counts requests.

    Args:
        provider: The provider's name.
        base_url: The API host.
        policy: Retry settings.
        breaker: The provider's breaker (shared by all its restaurants in one run).
        headers: Headers sent with every request (the credentials; never logged).
        sleep: How to wait (a test's fake sleep).
    """

    provider: str
    base_url: str
    policy: RetryPolicy
    breaker: CircuitBreaker
    headers: Mapping[str, str] = field(default_factory=dict)
    sleep: Callable[[float], None] = time.sleep
    requests: int = 0
    _client: httpx.Client | None = None

    def _http(self) -> httpx.Client:
        if self._client is None:
            self._client = httpx.Client(
                base_url=self.base_url,
                timeout=httpx.Timeout(self.policy.timeout_seconds),
                headers=dict(self.headers),
                follow_redirects=False,
            )
        return self._client

    def close(self) -> None:
        """Closes the connection pool."""
        if self._client is not None:
            self._client.close()
            self._client = None

    def call(
        self,
        method: str,
        path: str,
        *,
        params: Any = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        data: Mapping[str, str] | None = None,
    ) -> Any:
        """Sends one request (retrying as the module docstring says) and returns its JSON body.

        Raises:
            CircuitOpenError: the breaker is open; nothing was sent.
            ProviderAuthError: 401 or 403.
            ProviderError: retries spent, another 4xx, or a body that is not JSON.
        """
        self.breaker.before_call()
        where = f"{method} {path}"
        try:
            body = self._retrying(where)(
                lambda: self._once(
                    method, path, params=params, json=json, headers=headers, data=data
                )
            )
        except ProviderAuthError:
            raise
        except _Retryable as exc:
            self.breaker.record_failure(exc.reason)
            raise ProviderError(
                self.provider, f"{where}: {exc.reason} (after {self.policy.max_attempts} tries)"
            ) from None
        except ProviderError as exc:
            self.breaker.record_failure(exc.reason)
            raise
        self.breaker.record_success()
        return body

    def _retrying(self, where: str) -> tenacity.Retrying:
        policy = self.policy

        def wait(state: tenacity.RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            if isinstance(exc, _Retryable) and exc.retry_after is not None:
                return exc.retry_after
            ceiling = min(
                policy.max_wait_seconds, policy.backoff_seconds * 2 ** (state.attempt_number - 1)
            )
            return random.uniform(0, ceiling)  # noqa: S311  (jitter, not cryptography)

        def log(state: tenacity.RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            logger.info(
                "retrying POS request",
                provider=self.provider,
                request=where,
                attempt=state.attempt_number,
                reason=getattr(exc, "reason", type(exc).__name__),
                wait_seconds=round(state.upcoming_sleep, 3),
            )

        return tenacity.Retrying(
            stop=tenacity.stop_after_attempt(policy.max_attempts),
            wait=wait,
            retry=tenacity.retry_if_exception_type(_Retryable),
            before_sleep=log,
            sleep=self.sleep,
            reraise=True,
        )

    def _once(
        self,
        method: str,
        path: str,
        *,
        params: Any,
        json: Any,
        headers: Mapping[str, str] | None,
        data: Mapping[str, str] | None,
    ) -> Any:
        self.requests += 1
        try:
            response = self._http().request(
                method, path, params=params, json=json, headers=headers, data=data
            )
        except httpx.TimeoutException:
            raise _Retryable(f"timed out after {self.policy.timeout_seconds:g}s") from None
        except httpx.TransportError as exc:  # refused, reset, cut off mid-body
            raise _Retryable(f"connection failed ({type(exc).__name__})") from None
        status = response.status_code
        where = f"{method} {path}"
        if status in (401, 403):
            raise ProviderAuthError(
                self.provider,
                f"{where}: HTTP {status}: the credentials were refused; check the "
                f"[pos.{self.provider}] settings (not retried)",
            )
        if status == 429:
            after = parse_retry_after(response.headers.get("Retry-After"))
            if after is not None and after > self.policy.max_wait_seconds:
                raise ProviderError(
                    self.provider,
                    f"{where}: HTTP 429: rate limited for {after:.0f}s (Retry-After), longer "
                    f"than max_wait_seconds {self.policy.max_wait_seconds:g}",
                )
            raise _Retryable("HTTP 429 (rate limited)", after)
        if status >= 500:
            raise _Retryable(f"HTTP {status}")
        if status >= 400:
            raise ProviderError(self.provider, f"{where}: HTTP {status}: {_snippet(response)}")
        try:
            return response.json()
        except ValueError:
            raise _Retryable("the response body is not JSON (cut off?)") from None


def _snippet(response: httpx.Response) -> str:
    text = response.text.strip().replace("\n", " ")
    return text[:200] or response.reason_phrase
