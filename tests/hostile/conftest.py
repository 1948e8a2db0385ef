"""Fixtures of the hostile-server tests: every (client, transport) pair, opened on a URL.

``open_client(url, **options)`` opens the pair's client the way a user would
(``create_client`` of the async or the sync package); an async client runs on
a loop in a thread of its own behind blocking calls (as in the conformance
suite), so one test body serves all four pairs.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest

from comfy_api_client.sync import create_client as create_sync_client
from comfy_transports import ASYNC_TRANSPORTS, SYNC_TRANSPORTS
from tests.conformance.conftest import PAIRS, async_client
from tests.hostile.server import HostileServer, Scenario

Open = Callable[..., contextlib.AbstractContextManager[Any]]


@pytest.fixture(params=PAIRS, ids=[f"{c}-{t}" for c, t in PAIRS])
def pair(request: pytest.FixtureRequest) -> tuple[str, str]:
    kind, transport = request.param
    return kind, transport


@pytest.fixture
def open_client(pair: tuple[str, str]) -> Open:
    """``with open_client(url, **create_client_options) as client`` for this pair;
    ``transport_options`` builds the transport instance with those extra arguments."""
    kind, name = pair

    def opener(url: str, transport_options: dict[str, Any] | None = None, **options: Any) -> Any:
        transport: Any = name
        if transport_options is not None:
            table: Mapping[str, Any] = ASYNC_TRANSPORTS if kind == "async" else SYNC_TRANSPORTS
            credentials = {k: options.pop(k) for k in ("headers", "auth", "token") if k in options}
            timeout = options.pop("http_timeout", 30.0)
            transport = table[name](url, timeout=timeout, **credentials, **transport_options)
        if kind == "async":
            return async_client(url, transport=transport, **options)
        return create_sync_client(url, transport=transport, **options)

    return opener


@pytest.fixture
def serve() -> Iterator[Callable[[Scenario], HostileServer]]:
    """Start hostile servers for the test (``serve(Scenario(...))``); all stop at its end."""
    with contextlib.ExitStack() as stack:
        yield lambda scenario: stack.enter_context(HostileServer(scenario))
