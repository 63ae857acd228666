"""The gateway's answers, reproduced without a gateway (pure: no server needed)."""

import json

from keywarden import RateLimitState, VerifyCode, VerifyResult, denial, denial_for, rate_limit_headers, retry_after_for, status_for_code, tightest_rate_limit

NOW = 1_800_000_000_000


def test_statuses_follow_the_gateway():
    table = {
        "VALID": 200, "UNAUTHENTICATED": 401, "NOT_FOUND": 401, "EXPIRED": 401, "REVOKED": 401,
        "INSUFFICIENT_PERMISSIONS": 403, "OUT_OF_SCOPE": 403, "IP_NOT_ALLOWED": 403, "OUTSIDE_ACCESS_WINDOW": 403,
        "COUNTRY_NOT_ALLOWED": 403, "CONDITION_FAILED": 403, "FORWARD_AUTH_UNSUPPORTED": 403,
        "RATE_LIMITED": 429, "QUOTA_EXCEEDED": 429, "CREDITS_EXHAUSTED": 429, "BANDWIDTH_EXCEEDED": 429,
        "CONCURRENCY_EXCEEDED": 429, "TOO_MANY_FAILED_ATTEMPTS": 429, "KEYWARDEN_UNAVAILABLE": 503,
    }
    assert {code: status_for_code(code) for code in table} == table
    assert status_for_code(VerifyCode.REVOKED) == 401


def test_a_401_has_www_authenticate_and_the_exact_gateway_body():
    d = denial("UNAUTHENTICATED")
    assert d.status == 401
    assert d.headers == {"content-type": "application/json; charset=utf-8", "www-authenticate": "Bearer"}
    assert d.body == '{"error":{"code":"UNAUTHENTICATED","message":"send the API key as \\"Authorization: Bearer <key>\\""}}'


def test_rate_limited_gets_retry_after_from_the_spent_window_and_ratelimit_headers_from_the_tightest():
    windows = (RateLimitState("MINUTE", 5, 0, NOW + 12_001), RateLimitState("HOUR", 100, 40, NOW + 3_000_000))
    retry = retry_after_for(VerifyCode.RATE_LIMITED, windows, None, NOW)
    assert retry == 13
    d = denial_for(VerifyResult(valid=False, code=VerifyCode.RATE_LIMITED, ratelimits=windows, retry_after=retry), NOW)
    assert (d.status, d.headers["retry-after"], d.headers["ratelimit-limit"], d.headers["ratelimit-remaining"], d.headers["ratelimit-reset"]) == (429, "13", "5", "0", "13")
    assert json.loads(d.body) == {"error": {"code": "RATE_LIMITED", "message": "rate limit exceeded"}}


def test_codes_without_a_reported_reset_wait_one_second_and_refusals_have_no_retry_after():
    assert retry_after_for(VerifyCode.CREDITS_EXHAUSTED, (), None, NOW) == 1
    assert retry_after_for(VerifyCode.OUT_OF_SCOPE, (), None, NOW) is None
    d = denial_for(VerifyResult(valid=False, code=VerifyCode.OUT_OF_SCOPE), NOW)
    assert d.status == 403 and "retry-after" not in d.headers and "www-authenticate" not in d.headers


def test_valid_and_unverified_results_are_no_denial_and_the_tightest_window_breaks_ties_by_later_reset():
    assert denial_for(VerifyResult(valid=True, code=VerifyCode.VALID)) is None
    assert denial_for(VerifyResult(valid=True, code=None, verified=False)) is None
    windows = (RateLimitState("MINUTE", 5, 3, NOW + 1000), RateLimitState("HOUR", 50, 3, NOW + 60_000))
    assert tightest_rate_limit(windows).window == "HOUR"
    assert rate_limit_headers(windows, NOW) == {"ratelimit-limit": "50", "ratelimit-remaining": "3", "ratelimit-reset": "60"}
