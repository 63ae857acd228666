"""What the FastAPI and Flask tests check alike: a guarded app, asked through a test client, must
answer as Keywarden's gateway does. Each test file adapts its framework's test client to `Get`."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Optional

from keywarden import VerifyResult


@dataclass(frozen=True)
class Answer:
    status: int
    headers: Mapping[str, str]
    text: str

    def json(self) -> Any:
        return json.loads(self.text)

    @property
    def code(self) -> Optional[str]:
        body = self.json()
        return body["error"]["code"] if "error" in body and isinstance(body["error"], dict) else body.get("code")


#: get(path, secret=None, ip=None) -> Answer
Get = Callable[..., Answer]


def result_json(r: VerifyResult) -> dict:
    """What the guarded handlers answer: the result they were handed."""
    return {"verified": r.verified, "valid": r.valid, "code": r.code.value if r.code else None, "key_id": r.key_id, "error": type(r.error).__name__ if r.error else None}


def check_allowed(get: Get, make_key: Callable[..., Any]) -> None:
    key = make_key(rateLimits=[{"window": "MINUTE", "limit": 50}])
    res = get("/agent", key.secret)
    assert res.status == 200
    assert res.json() == {"verified": True, "valid": True, "code": "VALID", "key_id": key.id, "error": None}
    assert (res.headers["ratelimit-limit"], res.headers["ratelimit-remaining"]) == ("50", "49")


def check_denials(get: Get, make_key: Callable[..., Any], revoke: Callable[[Any], None], live: Any) -> None:
    """401 (with WWW-Authenticate), 403 (level, scope from the path), 429 (Retry-After, RateLimit-*)."""
    res = get("/agent")
    assert (res.status, res.code, res.headers["www-authenticate"]) == (401, "UNAUTHENTICATED", "Bearer")
    revoked = make_key()
    revoke(revoked)
    assert (get("/agent", revoked.secret).code, get("/agent", "ak_prod_unknown").code) == ("REVOKED", "NOT_FOUND")
    reader = make_key(permission="READ_ONLY")
    res = get("/exec", reader.secret)
    assert (res.status, res.json()) == (403, {"error": {"code": "INSUFFICIENT_PERMISSIONS", "message": "the API key lacks the permission this method needs"}})
    single = make_key(scope={"kind": "SINGLE_AGENT", "agentId": live.agent_id})
    assert get(f"/by-param/{live.agent_id}", single.secret).status == 200
    assert get(f"/by-param/{live.other_agent_id}", single.secret).code == "OUT_OF_SCOPE"
    limited = make_key(rateLimits=[{"window": "MINUTE", "limit": 1}])
    assert get("/agent", limited.secret).status == 200
    res = get("/agent", limited.secret)
    assert (res.status, res.code, res.headers["ratelimit-remaining"]) == (429, "RATE_LIMITED", "0")
    assert 55 <= int(res.headers["retry-after"]) <= 60


def check_outages(get: Get) -> None:
    """Keywarden unreachable: fail-closed answers 503 KEYWARDEN_UNAVAILABLE, fail-open hands over an unverified result."""
    res = get("/down-closed", "ak_prod_any")
    assert (res.status, res.json()) == (503, {"error": {"code": "KEYWARDEN_UNAVAILABLE", "message": "Keywarden could not be reached to verify the API key"}})
    res = get("/down-open", "ak_prod_any")
    assert (res.status, res.json()["verified"], res.json()["error"]) == (200, False, "KeywardenUnavailableError")


def check_gateway_bytes(get: Get, gateway: Callable[[str, Optional[str]], Any], make_key: Callable[..., Any]) -> None:
    """The same key and code give the same status, body, content type and WWW-Authenticate as the gateway."""
    reader = make_key(permission="READ_ONLY")
    for secret, path, method in ((None, "/agent", "GET"), ("ak_prod_unknown", "/agent", "GET"), (reader.secret, "/exec", "POST")):
        theirs = gateway(method, secret)
        ours = get(path, secret)
        assert (ours.status, ours.text, ours.headers["content-type"], ours.headers.get("www-authenticate")) == (theirs.status_code, theirs.text, theirs.headers["content-type"], theirs.headers.get("www-authenticate"))
