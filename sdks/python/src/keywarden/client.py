"""Keywarden (sync) and AsyncKeywarden clients over httpx, with pooled keep-alive connections."""

from __future__ import annotations

import math
from typing import Any, Mapping
from urllib.parse import urlsplit

import httpx

from ._answers import http_error, read_verify_answer, unavailable, unverified, verify_payload
from .errors import KeywardenGraphQLError, KeywardenInputError, KeywardenTimeoutError, KeywardenUnavailableError, is_outage
from .types import FailMode, VerifyResult


def _checked_base_url(base_url: Any) -> str:
    parts = urlsplit(base_url) if isinstance(base_url, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
        raise KeywardenInputError("base_url", "must be an http or https URL, e.g. http://127.0.0.1:4000")
    return base_url.rstrip("/")


def _checked_timeout(timeout: Any) -> float:
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not math.isfinite(timeout) or timeout <= 0:
        raise KeywardenInputError("timeout", "must be a number of seconds above 0")
    return float(timeout)


def _checked_fail_mode(fail_mode: Any) -> FailMode:
    if fail_mode not in ("open", "closed"):
        raise KeywardenInputError("fail_mode", "must be 'open' or 'closed'")
    return fail_mode


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _forwarded_for(payload: Mapping[str, Any]) -> dict[str, str] | None:
    """The client's address also travels as X-Forwarded-For: a Keywarden that lists this service
    in TRUST_PROXY then counts failed keys per client rather than against this service."""
    ip = payload.get("ip")
    return {"x-forwarded-for": ip} if isinstance(ip, str) else None


class _Base:
    """What both clients share: options, request building and the meaning of answers."""

    def __init__(self, base_url: str, *, timeout: float = 1.0, admin_timeout: float = 10.0, fail_mode: FailMode = "closed", admin_key: str | None = None, headers: Mapping[str, str] | None = None, max_connections: int = 64) -> None:
        self.base_url = _checked_base_url(base_url)
        #: Seconds for a verify or leaked-key call; graphql() calls get admin_timeout (admin requests do more work).
        self.timeout = _checked_timeout(timeout)
        self.admin_timeout = _checked_timeout(admin_timeout)
        self.fail_mode: FailMode = _checked_fail_mode(fail_mode)
        self.admin_key = admin_key
        self._headers = {"accept": "application/json", **(headers or {})}
        # Connections are pooled and kept alive by httpx; the timeout applies to each phase
        # (connect, write, read, waiting for a pooled connection).
        self._limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections, keepalive_expiry=30.0)

    def _url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def _transport_error(self, err: Exception, url: str, timeout: float) -> Exception:
        if isinstance(err, httpx.TimeoutException):
            return KeywardenTimeoutError(timeout, url)
        return KeywardenUnavailableError(f"Keywarden could not be reached at {url}: {err!r}")

    def _verify_answer(self, response: httpx.Response, payload: dict[str, Any]) -> VerifyResult:
        return read_verify_answer(response.status_code, response.headers, _json(response), payload)

    def _leaked_payload(self, keys: Any, source: str | None, url: str | None) -> dict[str, Any]:
        if not isinstance(keys, (list, tuple)) or not keys or any(not isinstance(k, str) or k == "" for k in keys):
            raise KeywardenInputError("keys", "must be a non-empty list of non-empty strings")
        payload: dict[str, Any] = {"keys": list(keys)}
        if source is not None:
            payload["source"] = source
        if url is not None:
            payload["url"] = url
        return payload

    def _leaked_answer(self, response: httpx.Response) -> int:
        body = _json(response)
        if response.status_code >= 500:
            raise unavailable(response.status_code, response.headers, body, "a leaked-key report")
        if response.status_code != 202:
            raise http_error(response.status_code, response.headers, body)
        return int(body.get("received", 0)) if isinstance(body, dict) else 0

    def _graphql_request(self, query: Any, variables: Mapping[str, Any] | None, key: str | None) -> tuple[dict[str, Any], dict[str, str]]:
        if not isinstance(query, str) or not query.strip():
            raise KeywardenInputError("query", "must be a GraphQL document")
        bearer = key or self.admin_key
        if not bearer:
            raise KeywardenInputError("key", "an admin key is needed: pass key= or the client option admin_key")
        return {"query": query, "variables": dict(variables or {})}, {"authorization": f"Bearer {bearer}"}

    def _graphql_answer(self, response: httpx.Response) -> Any:
        body = _json(response)
        errors = body.get("errors") if isinstance(body, dict) else None
        if isinstance(errors, list) and errors:
            raise KeywardenGraphQLError(errors, body.get("data"), response.status_code)
        if response.status_code >= 500:
            raise unavailable(response.status_code, response.headers, body, "a GraphQL request")
        if response.status_code != 200 or not isinstance(body, dict) or body.get("data") is None:
            raise http_error(response.status_code, response.headers, body)
        return body["data"]


class Keywarden(_Base):
    """Synchronous client: ``Keywarden("http://127.0.0.1:4000").verify(key, agent_id=...)``."""

    def __init__(self, base_url: str, **options: Any) -> None:
        super().__init__(base_url, **options)
        self._http = httpx.Client(headers=self._headers, limits=self._limits, timeout=self.timeout)

    def _post(self, path: str, payload: dict[str, Any], headers: Mapping[str, str] | None = None, timeout: float | None = None) -> httpx.Response:
        url, t = self._url(path), timeout or self.timeout
        try:
            return self._http.post(url, json=payload, headers=headers, timeout=t)
        except httpx.TransportError as err:
            raise self._transport_error(err, url, t) from err

    def verify(self, key: str, *, agent_id: str | None = None, workflow_id: str | None = None, permission: str | None = None, permissions: str | None = None, ip: str | None = None, cost: int | None = None, bytes: int | None = None, fail_mode: FailMode | None = None, timeout: float | None = None) -> VerifyResult:
        """POST /v1/keys/verify. A denial is a result (``valid`` False), not an error. Raises
        KeywardenInputError for a bad call, KeywardenHttpError for a 4xx answer and, in fail mode
        "closed", KeywardenTimeoutError / KeywardenUnavailableError; "open" returns an unverified result."""
        payload = verify_payload(key, agent_id=agent_id, workflow_id=workflow_id, permission=permission, permissions=permissions, ip=ip, cost=cost, bytes=bytes)
        mode = _checked_fail_mode(fail_mode) if fail_mode is not None else self.fail_mode
        try:
            return self._verify_answer(self._post("/v1/keys/verify", payload, _forwarded_for(payload), timeout=timeout), payload)
        except Exception as err:
            if mode == "open" and is_outage(err):
                return unverified(err)
            raise

    def report_leaked(self, keys: list[str], *, source: str | None = None, url: str | None = None) -> int:
        """POST /v1/keys/leaked: revokes whichever of these secrets are Keywarden keys; returns how many were received."""
        return self._leaked_answer(self._post("/v1/keys/leaked", self._leaked_payload(keys, source, url)))

    def graphql(self, query: str, variables: Mapping[str, Any] | None = None, *, key: str | None = None) -> Any:
        """POST /graphql with the admin key; returns ``data`` or raises KeywardenGraphQLError (``.code`` = extensions.code)."""
        payload, headers = self._graphql_request(query, variables, key)
        return self._graphql_answer(self._post("/graphql", payload, headers, self.admin_timeout))

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "Keywarden":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncKeywarden(_Base):
    """Asynchronous client: ``await AsyncKeywarden("http://127.0.0.1:4000").verify(key, agent_id=...)``."""

    def __init__(self, base_url: str, **options: Any) -> None:
        super().__init__(base_url, **options)
        self._http = httpx.AsyncClient(headers=self._headers, limits=self._limits, timeout=self.timeout)

    async def _post(self, path: str, payload: dict[str, Any], headers: Mapping[str, str] | None = None, timeout: float | None = None) -> httpx.Response:
        url, t = self._url(path), timeout or self.timeout
        try:
            return await self._http.post(url, json=payload, headers=headers, timeout=t)
        except httpx.TransportError as err:
            raise self._transport_error(err, url, t) from err

    async def verify(self, key: str, *, agent_id: str | None = None, workflow_id: str | None = None, permission: str | None = None, permissions: str | None = None, ip: str | None = None, cost: int | None = None, bytes: int | None = None, fail_mode: FailMode | None = None, timeout: float | None = None) -> VerifyResult:
        """As Keywarden.verify, awaited."""
        payload = verify_payload(key, agent_id=agent_id, workflow_id=workflow_id, permission=permission, permissions=permissions, ip=ip, cost=cost, bytes=bytes)
        mode = _checked_fail_mode(fail_mode) if fail_mode is not None else self.fail_mode
        try:
            return self._verify_answer(await self._post("/v1/keys/verify", payload, _forwarded_for(payload), timeout=timeout), payload)
        except Exception as err:
            if mode == "open" and is_outage(err):
                return unverified(err)
            raise

    async def report_leaked(self, keys: list[str], *, source: str | None = None, url: str | None = None) -> int:
        return self._leaked_answer(await self._post("/v1/keys/leaked", self._leaked_payload(keys, source, url)))

    async def graphql(self, query: str, variables: Mapping[str, Any] | None = None, *, key: str | None = None) -> Any:
        payload, headers = self._graphql_request(query, variables, key)
        return self._graphql_answer(await self._post("/graphql", payload, headers, self.admin_timeout))

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> "AsyncKeywarden":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
