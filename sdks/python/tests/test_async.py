"""The async client against a real Keywarden."""

import time

import pytest

from keywarden import AsyncKeywarden, KeywardenGraphQLError, KeywardenTimeoutError, KeywardenUnavailableError, VerifyCode


async def test_verify_answers_valid_and_denied(live, make_key, fresh_ip):
    key = make_key(rateLimits=[{"window": "MINUTE", "limit": 1}])
    async with AsyncKeywarden(live.url, timeout=10) as kw:
        r = await kw.verify(key.secret, agent_id=live.agent_id, ip=fresh_ip())
        assert (r.valid, r.code, r.key_id) == (True, VerifyCode.VALID, key.id)
        r = await kw.verify(key.secret, agent_id=live.agent_id, ip=fresh_ip())
        assert (r.valid, r.code) == (False, VerifyCode.RATE_LIMITED) and r.retry_after >= 55
        assert (await kw.verify("ak_prod_unknown", ip=fresh_ip())).code is VerifyCode.NOT_FOUND


async def test_outages_raise_when_closed_and_pass_unverified_when_open(silent_url, closed_url):
    async with AsyncKeywarden(silent_url, timeout=0.3) as slow:
        started = time.monotonic()
        with pytest.raises(KeywardenTimeoutError):
            await slow.verify("k")
        assert time.monotonic() - started < 5  # only the deadline ends the call
        r = await slow.verify("k", fail_mode="open")
        assert r.verified is False and isinstance(r.error, KeywardenTimeoutError)
    async with AsyncKeywarden(closed_url) as down:
        with pytest.raises(KeywardenUnavailableError):
            await down.verify("k")


async def test_graphql_and_leaked_reports(live, make_key, fresh_ip):
    key = make_key()
    async with AsyncKeywarden(live.url, admin_key=live.master_key, timeout=10) as kw:
        data = await kw.graphql("query($id: ID!) { key(id: $id) { id status } }", {"id": key.id})
        assert data["key"] == {"id": key.id, "status": "ACTIVE"}
        with pytest.raises(KeywardenGraphQLError) as err:
            await kw.graphql("mutation($id: ID!) { revokeKey(id: $id) { id } }", {"id": "no-such-key"})
        assert err.value.code == "NOT_FOUND"
        assert await kw.report_leaked([key.secret], source="py-sdk-async") == 1
