"""What the FastAPI and Flask guards share, without the framework: read the Bearer key, verify it
against the route's target, and say whether to answer (with the gateway's denial) or go on (with
the result and the RateLimit headers)."""

from __future__ import annotations

import asyncio
import inspect
import ipaddress
import re
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Mapping, Union

from .client import AsyncKeywarden, Keywarden
from .denial import Denial, denial, denial_for, rate_limit_headers
from .errors import KeywardenInputError, is_outage
from .types import FailMode, VerifyResult

#: What a route needs of a key: agent_id or workflow_id, permission (level) or permissions (query), cost, bytes.
Target = Mapping[str, Any]
TargetOption = Union[Target, Callable[[Any], Union[Target, Awaitable[Target]]], None]
TARGET_FIELDS = frozenset({"agent_id", "workflow_id", "permission", "permissions", "cost", "bytes"})

_BEARER = re.compile(r"^Bearer\s+(\S+)\s*$", re.IGNORECASE)


def bearer_key(header: str | None) -> str | None:
    """The key of ``Authorization: Bearer <key>``, or None (missing, another scheme, malformed)."""
    m = _BEARER.match(header) if header else None
    return m.group(1) if m else None


def plain_ip(value: str | None) -> str | None:
    """A valid client address to send to Keywarden (IPv4-mapped IPv6 unwrapped), or None."""
    if not value:
        return None
    try:
        addr = ipaddress.ip_address(value.strip())
    except ValueError:
        return None  # e.g. Starlette's test client calls itself "testclient"
    mapped = getattr(addr, "ipv4_mapped", None)
    return str(mapped or addr)


def checked_target(target: Any) -> dict[str, Any]:
    if target is None:
        return {}
    if not isinstance(target, Mapping):
        raise KeywardenInputError("target", "must be a mapping (or a function returning one)")
    unknown = set(target) - TARGET_FIELDS
    if unknown:
        raise KeywardenInputError("target", f"unknown field(s) {', '.join(sorted(unknown))}; use {', '.join(sorted(TARGET_FIELDS))}")
    return dict(target)


async def resolve_target_async(target: TargetOption, request: Any) -> dict[str, Any]:
    value = target(request) if callable(target) else target
    if inspect.isawaitable(value):
        value = await value
    return checked_target(value)


def resolve_target(target: TargetOption, request: Any) -> dict[str, Any]:
    value = target(request) if callable(target) else target
    if inspect.isawaitable(value):
        raise KeywardenInputError("target", "an async target function needs an async framework (FastAPI)")
    return checked_target(value)


@dataclass(frozen=True)
class Decision:
    allow: bool
    result: VerifyResult | None = None
    headers: dict[str, str] = field(default_factory=dict)
    denial: Denial | None = None


def _conclude(result: VerifyResult) -> Decision:
    refused = denial_for(result)
    if refused is not None:
        return Decision(allow=False, result=result, denial=refused)
    return Decision(allow=True, result=result, headers=rate_limit_headers(result.ratelimits))


_UNAUTHENTICATED = Decision(allow=False, denial=denial("UNAUTHENTICATED"))
_UNAVAILABLE = Decision(allow=False, denial=denial("KEYWARDEN_UNAVAILABLE"))


def decide(client: Keywarden, key: str | None, target: Mapping[str, Any], ip: str | None, fail_mode: FailMode | None = None) -> Decision:
    """Verifies one request's key; only errors that are neither denials nor outages escape."""
    if not key:
        return _UNAUTHENTICATED
    try:
        result = client.verify(key, ip=plain_ip(ip), fail_mode=fail_mode, **target)
    except Exception as err:
        if is_outage(err):
            return _UNAVAILABLE
        raise
    return _conclude(result)


async def decide_async(client: AsyncKeywarden | Keywarden, key: str | None, target: Mapping[str, Any], ip: str | None, fail_mode: FailMode | None = None) -> Decision:
    """As decide; a sync client is run in a worker thread so the event loop never blocks."""
    if not isinstance(client, AsyncKeywarden):
        return await asyncio.to_thread(decide, client, key, target, ip, fail_mode)
    if not key:
        return _UNAUTHENTICATED
    try:
        result = await client.verify(key, ip=plain_ip(ip), fail_mode=fail_mode, **target)
    except Exception as err:
        if is_outage(err):
            return _UNAVAILABLE
        raise
    return _conclude(result)
