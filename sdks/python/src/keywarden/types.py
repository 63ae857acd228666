"""The verify answer (README "Verification and the gateway", docs/integrations.md) as typed values.

Fields that identities and permission strings add (identity, metadata, permissions, credits, owner) are optional: a server
that predates them leaves them out and they read as None.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Literal

FailMode = Literal["open", "closed"]
Permission = Literal["READ_ONLY", "EXECUTE", "MANAGE", "FULL_ACCESS"]
PERMISSIONS: tuple[str, ...] = ("READ_ONLY", "EXECUTE", "MANAGE", "FULL_ACCESS")


class VerifyCode(str, Enum):
    """Every code a verification can answer, in the order Keywarden checks them."""

    VALID = "VALID"
    NOT_FOUND = "NOT_FOUND"
    EXPIRED = "EXPIRED"
    REVOKED = "REVOKED"
    INSUFFICIENT_PERMISSIONS = "INSUFFICIENT_PERMISSIONS"
    OUT_OF_SCOPE = "OUT_OF_SCOPE"
    IP_NOT_ALLOWED = "IP_NOT_ALLOWED"
    OUTSIDE_ACCESS_WINDOW = "OUTSIDE_ACCESS_WINDOW"
    COUNTRY_NOT_ALLOWED = "COUNTRY_NOT_ALLOWED"
    CONDITION_FAILED = "CONDITION_FAILED"
    RATE_LIMITED = "RATE_LIMITED"
    QUOTA_EXCEEDED = "QUOTA_EXCEEDED"
    CREDITS_EXHAUSTED = "CREDITS_EXHAUSTED"
    BANDWIDTH_EXCEEDED = "BANDWIDTH_EXCEEDED"
    #: The caller's address kept presenting unknown keys (HTTP 429 from the verify endpoint).
    TOO_MANY_FAILED_ATTEMPTS = "TOO_MANY_FAILED_ATTEMPTS"


@dataclass(frozen=True)
class RateLimitState:
    window: str
    limit: int
    remaining: int
    #: Unix milliseconds: with requests left, when the window is full again; with none, when the next is allowed.
    reset: int
    #: "KEY" or "IDENTITY" (identities); None on servers that predate it.
    owner: str | None = None


@dataclass(frozen=True)
class QuotaState:
    limit: int
    remaining: int
    #: Unix milliseconds: end of the quota period.
    reset: int


@dataclass(frozen=True)
class KeyScope:
    kind: str
    agent_id: str | None
    workflow_ids: tuple[str, ...]


@dataclass(frozen=True)
class IdentityRef:
    id: str
    external_id: str
    metadata: Any = None


@dataclass(frozen=True)
class VerifyResult:
    """Keywarden's decision, or (``verified`` False) a request let through unverified in fail-open mode."""

    valid: bool
    #: None only when ``verified`` is False.
    code: VerifyCode | None
    verified: bool = True
    key_id: str | None = None
    account_id: str | None = None
    permission: str | None = None
    scope: KeyScope | None = None
    #: ISO 8601, or None for a key that never expires.
    expires_at: str | None = None
    ratelimits: tuple[RateLimitState, ...] = ()
    quota: QuotaState | None = None
    identity: IdentityRef | None = None
    #: The key's metadata.
    metadata: Any = None
    #: The key's effective permission strings; None when the server did not send them.
    permissions: tuple[str, ...] | None = None
    #: Credits left; None without credits.
    credits_remaining: int | None = None
    #: Seconds a denied caller should wait (429 codes), else None.
    retry_after: int | None = None
    #: Why it could not be verified (``verified`` False).
    error: Exception | None = None
    #: The server's JSON answer as it came.
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
