"""Flask: ``@require_key(client, agent_id="agt_1")`` verifies the request's Bearer key before the
view runs, puts the VerifyResult in ``flask.g.keywarden`` and answers denials like the gateway.

    kw = Keywarden("http://127.0.0.1:4000")

    @app.post("/agents/<agent_id>/run")
    @require_key(kw, lambda req: {"agent_id": req.view_args["agent_id"], "permission": "EXECUTE"})
    def run(agent_id):
        return {"key": g.keywarden.key_id}
"""

from __future__ import annotations

import functools
from typing import Any, Callable, TypeVar

from flask import Request, Response, g, make_response, request

from .client import Keywarden
from .guard import TargetOption, bearer_key, checked_target, decide, resolve_target
from .types import FailMode

F = TypeVar("F", bound=Callable[..., Any])


def require_key(client: Keywarden, target: TargetOption = None, *, fail_mode: FailMode | None = None, ip: Callable[[Request], str | None] | None = None, **fields: Any) -> Callable[[F], F]:
    """A view decorator verifying the Bearer key for ``target`` (a mapping or a function of the
    request) or the keyword fields (agent_id=, workflow_id=, permission=, permissions=, cost=, bytes=)."""
    if fields:
        target = {**checked_target(target if not callable(target) else None), **checked_target(fields)}
    ip_of = ip or (lambda req: req.remote_addr)

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            decision = decide(client, bearer_key(request.headers.get("authorization")), resolve_target(target, request), ip_of(request), fail_mode)
            if not decision.allow:
                assert decision.denial is not None
                d = decision.denial
                return Response(d.body, status=d.status, headers={k: v for k, v in d.headers.items() if k != "content-type"}, content_type=d.headers["content-type"])
            g.keywarden = decision.result
            response = make_response(view(*args, **kwargs))
            response.headers.update(decision.headers)
            return response

        return guarded  # type: ignore[return-value]

    return decorator


__all__ = ["require_key"]
