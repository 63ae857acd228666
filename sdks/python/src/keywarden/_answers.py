"""Pure reading and checking: what a call may send and what Keywarden's answers mean. No I/O, so
the sync and async clients share every rule here."""

from __future__ import annotations

from typing import Any, Mapping

from .denial import retry_after_for
from .errors import KeywardenHttpError, KeywardenInputError, KeywardenUnavailableError, KeywardenUnsupportedError
from .types import PERMISSIONS, IdentityRef, KeyScope, QuotaState, RateLimitState, VerifyCode, VerifyResult

_CODES = {c.value for c in VerifyCode}


def _optional_str(name: str, value: Any) -> None:
    if value is not None and (not isinstance(value, str) or value == ""):
        raise KeywardenInputError(name, "must be a non-empty string")


def _optional_count(name: str, value: Any) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
        raise KeywardenInputError(name, "must be a whole number of at least 0")


def verify_payload(key: Any, *, agent_id: Any = None, workflow_id: Any = None, permission: Any = None, permissions: Any = None, ip: Any = None, cost: Any = None, bytes: Any = None) -> dict[str, Any]:
    """The JSON body of POST /v1/keys/verify, or a KeywardenInputError naming the field at fault."""
    if not isinstance(key, str) or key == "":
        raise KeywardenInputError("key", "required, the API key to verify")
    for name, value in (("agent_id", agent_id), ("workflow_id", workflow_id), ("permissions", permissions), ("ip", ip)):
        _optional_str(name, value)
    _optional_count("cost", cost)
    _optional_count("bytes", bytes)
    if permission is not None and permission not in PERMISSIONS:
        raise KeywardenInputError("permission", f"must be one of {', '.join(PERMISSIONS)}")
    if agent_id is not None and workflow_id is not None:
        raise KeywardenInputError("agent_id", "give agent_id or workflow_id, not both")
    fields = {"key": key, "agentId": agent_id, "workflowId": workflow_id, "permission": permission, "permissions": permissions, "ip": ip, "cost": cost, "bytes": bytes}
    return {k: v for k, v in fields.items() if v is not None}


def retry_after_header(headers: Mapping[str, str]) -> int | None:
    try:
        v = int(headers.get("retry-after", ""))
    except ValueError:
        return None
    return v if v >= 0 else None


def http_error(status: int, headers: Mapping[str, str], body: Any) -> KeywardenHttpError:
    """A 4xx answer as an error carrying its envelope's code and message."""
    inner = body.get("error", body) if isinstance(body, dict) else {}
    inner = inner if isinstance(inner, dict) else {}
    code = inner.get("code") if isinstance(inner.get("code"), str) else f"HTTP_{status}"
    message = inner.get("message") if isinstance(inner.get("message"), str) else "request failed"
    return KeywardenHttpError(status, code, message, retry_after_header(headers))


def unavailable(status: int, headers: Mapping[str, str], body: Any, what: str) -> KeywardenUnavailableError:
    e = http_error(status, headers, body)
    return KeywardenUnavailableError(f"Keywarden answered {status} {e.code} to {what}: {e.error_message}", status)


def _scope(raw: Any) -> KeyScope | None:
    if not isinstance(raw, dict):
        return None
    return KeyScope(kind=raw.get("kind", ""), agent_id=raw.get("agentId"), workflow_ids=tuple(raw.get("workflowIds") or ()))


def _identity(raw: Any) -> IdentityRef | None:
    if not isinstance(raw, dict):
        return None
    return IdentityRef(id=raw.get("id", ""), external_id=raw.get("externalId", ""), metadata=raw.get("metadata"))


def _result(b: dict[str, Any], now_ms: int | None) -> VerifyResult:
    code = VerifyCode(b["code"])
    ratelimits = tuple(RateLimitState(window=w["window"], limit=w["limit"], remaining=w["remaining"], reset=w["reset"], owner=w.get("owner")) for w in b.get("ratelimits") or ())
    q = b.get("quota")
    quota = QuotaState(limit=q["limit"], remaining=q["remaining"], reset=q["reset"]) if isinstance(q, dict) else None
    credits = b.get("credits")
    perms = b.get("permissions")
    return VerifyResult(
        valid=bool(b["valid"]),
        code=code,
        key_id=b.get("keyId"),
        account_id=b.get("accountId"),
        permission=b.get("permission"),
        scope=_scope(b.get("scope")),
        expires_at=b.get("expiresAt"),
        ratelimits=ratelimits,
        quota=quota,
        identity=_identity(b.get("identity")),
        metadata=b.get("metadata"),
        permissions=tuple(perms) if isinstance(perms, list) else None,
        credits_remaining=credits.get("remaining") if isinstance(credits, dict) else None,
        retry_after=retry_after_for(code, ratelimits, quota, now_ms),
        raw=b,
    )


def read_verify_answer(status: int, headers: Mapping[str, str], body: Any, payload: Mapping[str, Any], now_ms: int | None = None) -> VerifyResult:
    """Keywarden's answer to a verification as a typed result (or raises the error it stands for)."""
    if status == 429 and isinstance(body, dict) and body.get("code") == "TOO_MANY_FAILED_ATTEMPTS":
        return VerifyResult(valid=False, code=VerifyCode.TOO_MANY_FAILED_ATTEMPTS, retry_after=retry_after_header(headers) or 1, raw=body)
    if status >= 500:
        raise unavailable(status, headers, body, "a verification")
    if status != 200:
        raise http_error(status, headers, body)
    if not (isinstance(body, dict) and isinstance(body.get("valid"), bool) and body.get("code") in _CODES):
        raise KeywardenUnavailableError("Keywarden answered 200 with something that is not a verification result", 200)
    result = _result(body, now_ms)
    # A server older than permission strings ignores `permissions` and would let every valid key through.
    if "permissions" in payload and result.valid and result.permissions is None:
        raise KeywardenUnsupportedError("Keywarden did not evaluate the permission query (permissions): the server predates permission queries; upgrade it or verify with permission")
    return result


def unverified(error: Exception) -> VerifyResult:
    return VerifyResult(valid=True, code=None, verified=False, error=error)
