"""The FastAPI dependency over a real Keywarden, through Starlette's test client, with the async
and the sync client."""

import httpx
import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient
from guarded import Answer, check_allowed, check_denials, check_gateway_bytes, check_outages, result_json

from keywarden import AsyncKeywarden, Keywarden, VerifyResult
from keywarden.fastapi import install, require_key


def by_header(request):
    return request.headers.get("x-forwarded-for")


async def from_path(request):
    return {"agent_id": request.path_params["agent_id"]}


def build_app(live, silent_url, closed_url, client_kind):
    make = AsyncKeywarden if client_kind == "async" else Keywarden
    kw, down, slow = make(live.url, timeout=10), make(closed_url), make(silent_url, timeout=0.3)
    app = FastAPI()
    install(app)

    @app.get("/agent")
    async def agent(key: VerifyResult = Depends(require_key(kw, agent_id=live.agent_id, ip=by_header))):
        return result_json(key)

    @app.get("/exec")
    def execute(key: VerifyResult = Depends(require_key(kw, agent_id=live.agent_id, permission="EXECUTE", ip=by_header))):
        return result_json(key)

    @app.get("/by-param/{agent_id}")
    async def by_param(agent_id: str, key: VerifyResult = Depends(require_key(kw, from_path, ip=by_header))):
        return result_json(key)

    @app.get("/down-open")
    async def down_open(key: VerifyResult = Depends(require_key(down, fail_mode="open"))):
        return result_json(key)

    @app.get("/down-closed")
    async def down_closed(key: VerifyResult = Depends(require_key(down))):
        return result_json(key)

    @app.get("/slow-closed")
    async def slow_closed(key: VerifyResult = Depends(require_key(slow))):
        return result_json(key)

    return app


@pytest.fixture(params=["async", "sync"])
def get(request, live, silent_url, closed_url, fresh_ip):
    with TestClient(build_app(live, silent_url, closed_url, request.param)) as tc:

        def call(path, secret=None, ip=None):
            headers = {"x-forwarded-for": ip or fresh_ip(), **({"authorization": f"Bearer {secret}"} if secret else {})}
            res = tc.get(path, headers=headers)
            return Answer(res.status_code, res.headers, res.text)

        yield call


def test_allowed_hands_the_result_to_the_handler_with_ratelimit_headers(get, make_key):
    check_allowed(get, make_key)


def test_401_403_429_like_the_gateway(get, make_key, revoke, live):
    check_denials(get, make_key, revoke, live)


def test_the_ip_sent_is_the_clients(get, make_key):
    pinned = make_key(ipAllowlist=["192.0.2.77"])
    assert get("/agent", pinned.secret, ip="192.0.2.77").status == 200
    assert get("/agent", pinned.secret).code == "IP_NOT_ALLOWED"


def test_unreachable_and_silent_keywarden_fail_closed_with_503_or_open_unverified(get):
    check_outages(get)
    assert get("/slow-closed", "ak_prod_any").code == "KEYWARDEN_UNAVAILABLE"


def test_denials_match_the_gateways_bytes(get, live, make_key):
    gateway = lambda method, secret: httpx.request(method, f"{live.url}/v1/agents/{live.agent_id}/x", headers={"authorization": f"Bearer {secret}"} if secret else {})
    check_gateway_bytes(get, gateway, make_key)
