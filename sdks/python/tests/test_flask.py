"""The Flask decorator over a real Keywarden, through Flask's test client."""

import httpx
import pytest
from flask import Flask, g
from guarded import Answer, check_allowed, check_denials, check_gateway_bytes, check_outages, result_json

from keywarden import Keywarden
from keywarden.flask import require_key


def by_header(req):
    return req.headers.get("x-forwarded-for")


def build_app(live, kw, down, slow):
    app = Flask(__name__)
    guarded_routes = {
        "/agent": require_key(kw, agent_id=live.agent_id, ip=by_header),
        "/exec": require_key(kw, agent_id=live.agent_id, permission="EXECUTE", ip=by_header),
        "/by-param/<agent_id>": require_key(kw, lambda req: {"agent_id": req.view_args["agent_id"]}, ip=by_header),
        "/workflow": require_key(kw, workflow_id=live.workflow_id, ip=by_header),
        "/down-open": require_key(down, fail_mode="open"),
        "/down-closed": require_key(down),
        "/slow-open": require_key(slow, fail_mode="open"),
    }
    for path, guard in guarded_routes.items():
        app.add_url_rule(path, path, guard(lambda **params: result_json(g.keywarden)))
    return app


@pytest.fixture
def get(live, silent_url, closed_url, fresh_ip):
    with Keywarden(live.url, timeout=10) as kw, Keywarden(closed_url) as down, Keywarden(silent_url, timeout=0.3) as slow:
        tc = build_app(live, kw, down, slow).test_client()

        def call(path, secret=None, ip=None):
            headers = {"x-forwarded-for": ip or fresh_ip(), **({"authorization": f"Bearer {secret}"} if secret else {})}
            res = tc.get(path, headers=headers)
            return Answer(res.status_code, res.headers, res.get_data(as_text=True))

        yield call


def test_allowed_hands_the_result_to_the_view_with_ratelimit_headers(get, make_key, live):
    check_allowed(get, make_key)
    workflow_key = make_key(scope={"kind": "WORKFLOW", "workflowIds": [live.workflow_id]})
    assert get("/workflow", workflow_key.secret).status == 200


def test_401_403_429_like_the_gateway(get, make_key, revoke, live):
    check_denials(get, make_key, revoke, live)


def test_unreachable_and_silent_keywarden_fail_closed_with_503_or_open_unverified(get):
    check_outages(get)
    res = get("/slow-open", "ak_prod_any")
    assert (res.status, res.json()["error"]) == (200, "KeywardenTimeoutError")


def test_denials_match_the_gateways_bytes(get, live, make_key):
    gateway = lambda method, secret: httpx.request(method, f"{live.url}/v1/agents/{live.agent_id}/x", headers={"authorization": f"Bearer {secret}"} if secret else {})
    check_gateway_bytes(get, gateway, make_key)
