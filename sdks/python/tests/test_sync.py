"""The sync client against a real Keywarden."""

import time

import pytest

from keywarden import (
    IdentityRef,
    KeyScope,
    Keywarden,
    KeywardenGraphQLError,
    KeywardenInputError,
    KeywardenTimeoutError,
    KeywardenUnavailableError,
    KeywardenUnsupportedError,
    RateLimitState,
    VerifyCode,
)


@pytest.fixture
def kw(live):
    with Keywarden(live.url, timeout=10) as client:
        yield client


def test_a_valid_key_gives_a_typed_result(kw, live, make_key, fresh_ip):
    key = make_key(rateLimits=[{"window": "MINUTE", "limit": 50}])
    r = kw.verify(key.secret, agent_id=live.agent_id, ip=fresh_ip())
    assert (r.verified, r.valid, r.code, r.key_id, r.account_id, r.permission) == (True, True, VerifyCode.VALID, key.id, live.account_id, "EXECUTE")
    assert isinstance(r.scope, KeyScope) and r.scope.kind == "ALL_AGENTS"
    assert isinstance(r.ratelimits[0], RateLimitState) and (r.ratelimits[0].limit, r.ratelimits[0].remaining) == (50, 49)
    assert r.retry_after is None and r.raw["keyId"] == key.id
    assert r.identity is None or isinstance(r.identity, IdentityRef)


def test_denials_are_results_with_their_codes(kw, live, make_key, revoke, fresh_ip):
    assert kw.verify("ak_prod_unknown", ip=fresh_ip()).code is VerifyCode.NOT_FOUND
    reader = make_key(permission="READ_ONLY")
    r = kw.verify(reader.secret, agent_id=live.agent_id, permission="EXECUTE", ip=fresh_ip())
    assert (r.valid, r.code) == (False, VerifyCode.INSUFFICIENT_PERMISSIONS)
    single = make_key(scope={"kind": "SINGLE_AGENT", "agentId": live.other_agent_id})
    assert kw.verify(single.secret, agent_id=live.agent_id, ip=fresh_ip()).code is VerifyCode.OUT_OF_SCOPE
    assert kw.verify(single.secret, workflow_id=live.workflow_id, ip=fresh_ip()).code is VerifyCode.OUT_OF_SCOPE
    revoked = make_key()
    revoke(revoked)
    assert kw.verify(revoked.secret, ip=fresh_ip()).code is VerifyCode.REVOKED


def test_rate_limited_carries_retry_after(kw, make_key, fresh_ip):
    key = make_key(rateLimits=[{"window": "MINUTE", "limit": 1}])
    assert kw.verify(key.secret, ip=fresh_ip()).valid
    r = kw.verify(key.secret, ip=fresh_ip())
    assert (r.valid, r.code) == (False, VerifyCode.RATE_LIMITED)
    assert 55 <= r.retry_after <= 60
    assert r.ratelimits[0].remaining == 0


def test_an_address_presenting_unknown_keys_is_told_too_many_failed_attempts(kw, live, fresh_ip):
    ip = fresh_ip()
    for i in range(live.max_failures):
        assert kw.verify(f"ak_prod_guess{i}", ip=ip).code is VerifyCode.NOT_FOUND
    time.sleep(0.3)  # failures are counted after the answer has gone out
    r = kw.verify("ak_prod_guess-last", ip=ip)
    assert (r.valid, r.code) == (False, VerifyCode.TOO_MANY_FAILED_ATTEMPTS)
    assert r.retry_after >= 1


def test_bad_calls_name_the_field_and_a_400_is_an_http_error(kw, live):
    with pytest.raises(KeywardenInputError, match="^permission: must be one of"):
        kw.verify("k", permission="ADMIN")
    with pytest.raises(KeywardenInputError) as err:
        kw.verify("k", agent_id=live.agent_id, workflow_id=live.workflow_id)
    assert err.value.field == "agent_id"
    with pytest.raises(KeywardenInputError, match="^base_url"):
        Keywarden("not a url")
    with pytest.raises(KeywardenInputError, match="^timeout"):
        Keywarden(live.url, timeout=0)
    with pytest.raises(KeywardenInputError, match="^timeout"):
        Keywarden(live.url, admin_timeout=-1)


def test_outages_raise_when_closed_and_pass_unverified_when_open(silent_url, closed_url):
    with Keywarden(silent_url, timeout=0.3) as slow:
        started = time.monotonic()
        with pytest.raises(KeywardenTimeoutError):
            slow.verify("k")
        assert time.monotonic() - started < 5  # only the deadline ends the call
        r = slow.verify("k", fail_mode="open")
        assert (r.verified, r.valid, r.code, r.key_id) == (False, True, None, None)
        assert isinstance(r.error, KeywardenTimeoutError)
    with Keywarden(closed_url, fail_mode="open") as down:
        r = down.verify("k")
        assert r.verified is False and isinstance(r.error, KeywardenUnavailableError)
        with pytest.raises(KeywardenUnavailableError):
            down.verify("k", fail_mode="closed")


def test_a_permission_query_is_never_let_through_by_a_server_that_cannot_evaluate_it(kw, make_key, fresh_ip):
    key = make_key()
    try:
        r = kw.verify(key.secret, permissions="agents.execute AND (billing.read OR billing.write)", ip=fresh_ip())
    except KeywardenUnsupportedError:
        return  # a server older than permission queries
    assert r.valid is False  # the key holds none of these permissions


def test_graphql_returns_data_and_raises_with_the_extensions_code(admin, live):
    assert admin.graphql("query { viewer { account { id } } }")["viewer"]["account"]["id"] == live.account_id
    with pytest.raises(KeywardenGraphQLError) as err:
        admin.graphql("mutation($id: ID!) { revokeKey(id: $id) { id } }", {"id": "no-such-key"})
    assert err.value.code == "NOT_FOUND"
    with Keywarden(live.url) as anonymous:
        with pytest.raises(KeywardenInputError, match="^key: an admin key is needed"):
            anonymous.graphql("{ viewer { key { id } } }")
        with pytest.raises(KeywardenGraphQLError) as err:
            anonymous.graphql("{ viewer { key { id } } }", key="ak_prod_not-a-key")
        assert err.value.code == "UNAUTHENTICATED"


def test_a_reported_leaked_key_is_revoked(kw, make_key, fresh_ip):
    key = make_key()
    assert kw.report_leaked([key.secret], source="py-sdk-test", url="https://example.com/leak") == 1
    for _ in range(50):
        if kw.verify(key.secret, ip=fresh_ip()).code is VerifyCode.REVOKED:
            return
        time.sleep(0.1)
    pytest.fail("the reported key was not revoked")
