"""Keywarden client: API key verification (sync and async), leaked-key reports, the GraphQL admin
API. FastAPI and Flask guards live in keywarden.fastapi and keywarden.flask (optional extras)."""

from .client import AsyncKeywarden, Keywarden
from .denial import DENIAL_MESSAGES, Denial, denial, denial_for, rate_limit_headers, retry_after_for, status_for_code, tightest_rate_limit
from .errors import (
    KeywardenError,
    KeywardenGraphQLError,
    KeywardenHttpError,
    KeywardenInputError,
    KeywardenTimeoutError,
    KeywardenUnavailableError,
    KeywardenUnsupportedError,
    is_outage,
)
from .guard import Decision, bearer_key, decide, decide_async
from .types import FailMode, IdentityRef, KeyScope, QuotaState, RateLimitState, VerifyCode, VerifyResult

__version__ = "0.1.0"

__all__ = [
    "AsyncKeywarden",
    "DENIAL_MESSAGES",
    "Decision",
    "Denial",
    "FailMode",
    "IdentityRef",
    "KeyScope",
    "Keywarden",
    "KeywardenError",
    "KeywardenGraphQLError",
    "KeywardenHttpError",
    "KeywardenInputError",
    "KeywardenTimeoutError",
    "KeywardenUnavailableError",
    "KeywardenUnsupportedError",
    "QuotaState",
    "RateLimitState",
    "VerifyCode",
    "VerifyResult",
    "bearer_key",
    "decide",
    "decide_async",
    "denial",
    "denial_for",
    "is_outage",
    "rate_limit_headers",
    "retry_after_for",
    "status_for_code",
    "tightest_rate_limit",
]
