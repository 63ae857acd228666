"""FastAPI: ``Depends(require_key(client, agent_id="agt_1"))`` hands the handler the VerifyResult;
denials are answered like the gateway's once ``install(app)`` has registered the answer.

    app = FastAPI()
    keywarden.fastapi.install(app)
    kw = AsyncKeywarden("http://127.0.0.1:4000")

    @app.post("/agents/{agent_id}/run")
    async def run(result: VerifyResult = Depends(require_key(kw, lambda req: {"agent_id": req.path_params["agent_id"], "permission": "EXECUTE"}))):
        ...
"""

from __future__ import annotations

from typing import Any, Callable

from fastapi import FastAPI, Request, Response

from .client import AsyncKeywarden, Keywarden
from .denial import Denial
from .guard import TargetOption, bearer_key, checked_target, decide_async, resolve_target_async
from .types import FailMode, VerifyResult


class KeywardenDenied(Exception):
    """Raised by the dependency for a denied request; ``install(app)`` turns it into the gateway's answer."""

    def __init__(self, denial: Denial) -> None:
        super().__init__(f"{denial.status} {denial.code}")
        self.denial = denial


async def keywarden_exception_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, KeywardenDenied)
    d = exc.denial
    return Response(content=d.body, status_code=d.status, headers={k: v for k, v in d.headers.items() if k != "content-type"}, media_type=d.headers["content-type"])


def install(app: FastAPI) -> None:
    """Registers the answer to KeywardenDenied (call once, before the app serves)."""
    app.add_exception_handler(KeywardenDenied, keywarden_exception_handler)


def _default_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def require_key(client: AsyncKeywarden | Keywarden, target: TargetOption = None, *, fail_mode: FailMode | None = None, ip: Callable[[Request], str | None] | None = None, **fields: Any) -> Callable[..., Any]:
    """A dependency verifying the request's Bearer key for ``target`` (a mapping, or a function of
    the request, sync or async) or the keyword fields (agent_id=, workflow_id=, permission=,
    permissions=, cost=, bytes=). Returns the VerifyResult (``verified`` False when fail-open let
    an unreachable Keywarden pass); sets RateLimit-* on the response."""
    if fields:
        target = {**checked_target(target if not callable(target) else None), **checked_target(fields)}
    ip_of = ip or _default_ip

    async def keywarden_dependency(request: Request, response: Response) -> VerifyResult:
        decision = await decide_async(client, bearer_key(request.headers.get("authorization")), await resolve_target_async(target, request), ip_of(request), fail_mode)
        if not decision.allow:
            assert decision.denial is not None
            raise KeywardenDenied(decision.denial)
        for name, value in decision.headers.items():
            response.headers[name] = value
        assert decision.result is not None
        request.state.keywarden = decision.result
        return decision.result

    return keywarden_dependency


__all__ = ["KeywardenDenied", "install", "keywarden_exception_handler", "require_key"]
