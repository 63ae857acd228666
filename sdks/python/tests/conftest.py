"""Fixtures for the SDK's tests against a real Keywarden.

The live tests need KEYWARDEN_URL and the ids the harness created (test/integration/sdk-python.test.ts
sets them all); without KEYWARDEN_URL they are skipped, the pure ones still run."""

from __future__ import annotations

import itertools
import os
import random
import socket
import threading
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import pytest

from keywarden import Keywarden

CREATE_KEY = "mutation($input: CreateKeyInput!) { createKey(input: $input) { secret key { id } } }"
REVOKE_KEY = "mutation($id: ID!) { revokeKey(id: $id) { id } }"


@dataclass(frozen=True)
class Live:
    url: str
    master_key: str
    account_id: str
    agent_id: str
    other_agent_id: str
    workflow_id: str
    #: Unknown keys an address may present before Keywarden refuses it (the harness's setting).
    max_failures: int


@pytest.fixture(scope="session")
def live() -> Live:
    url = os.environ.get("KEYWARDEN_URL")
    if not url:
        pytest.skip("KEYWARDEN_URL is not set: run through test/integration/sdk-python.test.ts, or point it at a Keywarden")
    env = os.environ
    return Live(url, env["KEYWARDEN_TEST_MASTER_KEY"], env["KEYWARDEN_TEST_ACCOUNT_ID"], env["KEYWARDEN_TEST_AGENT_ID"], env["KEYWARDEN_TEST_OTHER_AGENT_ID"], env["KEYWARDEN_TEST_WORKFLOW_ID"], int(env.get("KEYWARDEN_TEST_MAX_FAILURES", "20")))


@pytest.fixture(scope="session")
def admin(live: Live) -> Iterator[Keywarden]:
    with Keywarden(live.url, admin_key=live.master_key, timeout=10) as kw:
        yield kw


@dataclass(frozen=True)
class Key:
    secret: str
    id: str


@pytest.fixture(scope="session")
def make_key(admin: Keywarden) -> Callable[..., Key]:
    """A new PRODUCTION key of the test account; keyword arguments go into CreateKeyInput."""

    def make(**settings: Any) -> Key:
        data = admin.graphql(CREATE_KEY, {"input": {"name": "py-sdk", "type": "PRODUCTION", **settings}})
        return Key(data["createKey"]["secret"], data["createKey"]["key"]["id"])

    return make


@pytest.fixture(scope="session")
def revoke(admin: Keywarden) -> Callable[[Key], None]:
    return lambda key: admin.graphql(REVOKE_KEY, {"id": key.id})


_prefix = f"10.{random.randint(1, 250)}"
_counter = itertools.count()


@pytest.fixture(scope="session")
def fresh_ip() -> Callable[[], str]:
    """A new client address per call: brute-force counts and IP allowlists are per address."""

    def next_ip() -> str:
        n = next(_counter)
        return f"{_prefix}.{n // 250 + 1}.{n % 250 + 1}"

    return next_ip


@pytest.fixture(scope="session")
def silent_url() -> Iterator[str]:
    """A server that accepts connections and never answers (timeouts)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join()
    for s in held:
        s.close()
    server.close()


@pytest.fixture(scope="session")
def closed_url() -> str:
    """A port nothing listens on (connection refused)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"http://127.0.0.1:{port}"
