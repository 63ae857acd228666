"""How a denial is answered, exactly as Keywarden's gateway answers it: status by code,
{"error":{"code","message"}}, WWW-Authenticate on 401, Retry-After on 429, RateLimit-* from the
tightest window."""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from typing import Iterable

from .types import QuotaState, RateLimitState, VerifyCode, VerifyResult

#: The gateway's messages, word for word.
DENIAL_MESSAGES: dict[str, str] = {
    "UNAUTHENTICATED": 'send the API key as "Authorization: Bearer <key>"',
    "NOT_FOUND": "unknown API key",
    "EXPIRED": "the API key has expired",
    "REVOKED": "the API key was revoked",
    "INSUFFICIENT_PERMISSIONS": "the API key lacks the permission this method needs",
    "OUT_OF_SCOPE": "the API key does not reach this agent or workflow",
    "IP_NOT_ALLOWED": "requests from this address are not allowed for this key",
    "OUTSIDE_ACCESS_WINDOW": "the API key may not be used at this time",
    "COUNTRY_NOT_ALLOWED": "requests from this country are not allowed for this key",
    "CONDITION_FAILED": "the request does not meet the key's condition",
    "RATE_LIMITED": "rate limit exceeded",
    "QUOTA_EXCEEDED": "quota exceeded",
    "CREDITS_EXHAUSTED": "credits exhausted",
    "BANDWIDTH_EXCEEDED": "bandwidth exceeded",
    "CONCURRENCY_EXCEEDED": "too many simultaneous requests for this key",
    "TOO_MANY_FAILED_ATTEMPTS": "too many unknown keys from this address",
    "FORWARD_AUTH_UNSUPPORTED": "this key sets limits that forward auth cannot enforce",
    "KEYWARDEN_UNAVAILABLE": "Keywarden could not be reached to verify the API key",
}

_UNAUTHORIZED = {"UNAUTHENTICATED", "NOT_FOUND", "EXPIRED", "REVOKED"}
_SLOW_DOWN = {"RATE_LIMITED", "QUOTA_EXCEEDED", "CREDITS_EXHAUSTED", "BANDWIDTH_EXCEEDED", "CONCURRENCY_EXCEEDED", "TOO_MANY_FAILED_ATTEMPTS"}


def status_for_code(code: str | VerifyCode) -> int:
    """401 for who-are-you, 429 for slow-down, 503 when Keywarden is away, 403 for the other refusals."""
    c = code.value if isinstance(code, VerifyCode) else code
    if c == "VALID":
        return 200
    if c in _UNAUTHORIZED:
        return 401
    if c in _SLOW_DOWN:
        return 429
    if c == "KEYWARDEN_UNAVAILABLE":
        return 503
    return 403


def tightest_rate_limit(states: Iterable[RateLimitState]) -> RateLimitState | None:
    """The window a client should pace itself by: fewest requests left; on a tie, the later reset."""
    best: RateLimitState | None = None
    for s in states:
        if best is None or s.remaining < best.remaining or (s.remaining == best.remaining and s.reset > best.reset):
            best = s
    return best


def _now_ms() -> int:
    return int(time.time() * 1000)


def rate_limit_headers(ratelimits: Iterable[RateLimitState], now_ms: int | None = None) -> dict[str, str]:
    """RateLimit-Limit, -Remaining, -Reset (seconds from now) of the tightest window; none without windows."""
    tightest = tightest_rate_limit(ratelimits)
    if tightest is None:
        return {}
    now = _now_ms() if now_ms is None else now_ms
    return {
        "ratelimit-limit": str(tightest.limit),
        "ratelimit-remaining": str(tightest.remaining),
        "ratelimit-reset": str(max(0, math.ceil((tightest.reset - now) / 1000))),
    }


def retry_after_for(code: VerifyCode, ratelimits: Iterable[RateLimitState], quota: QuotaState | None, now_ms: int | None = None) -> int | None:
    """Seconds until a request denied by a limit may pass: the latest reset among exhausted windows
    (RATE_LIMITED), the quota period's end (QUOTA_EXCEEDED); at least 1. Bandwidth and credits report
    no reset: 1. None for codes that are not 429s."""
    if status_for_code(code) != 429:
        return None
    now = _now_ms() if now_ms is None else now_ms
    until = 0
    if code == VerifyCode.RATE_LIMITED:
        for w in ratelimits:
            if w.remaining == 0:
                until = max(until, w.reset - now)
    elif code == VerifyCode.QUOTA_EXCEEDED and quota is not None:
        until = quota.reset - now
    return max(1, math.ceil(until / 1000))


@dataclass(frozen=True)
class Denial:
    """A complete HTTP answer: what every framework adapter writes."""

    status: int
    code: str
    headers: dict[str, str] = field(default_factory=dict)
    body: str = ""

    @property
    def envelope(self) -> dict[str, dict[str, str]]:
        return json.loads(self.body)


def denial(code: str, headers: dict[str, str] | None = None) -> Denial:
    status = status_for_code(code)
    all_headers = {"content-type": "application/json; charset=utf-8", **(headers or {})}
    if status == 401:
        all_headers["www-authenticate"] = "Bearer"
    body = json.dumps({"error": {"code": code, "message": DENIAL_MESSAGES.get(code, code)}}, separators=(",", ":"))
    return Denial(status=status, code=code, headers=all_headers, body=body)


def denial_for(result: VerifyResult, now_ms: int | None = None) -> Denial | None:
    """The answer to a denied verification, or None when the result lets the request through."""
    if result.valid or result.code is None:
        return None
    code = result.code.value
    if result.code == VerifyCode.TOO_MANY_FAILED_ATTEMPTS:
        return denial(code, {"retry-after": str(result.retry_after or 1)})
    headers = rate_limit_headers(result.ratelimits, now_ms)
    if status_for_code(code) == 429:
        headers["retry-after"] = str(result.retry_after or 1)
    return denial(code, headers)
