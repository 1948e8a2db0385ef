"""A reconnect whose handshake fails, in every way, on every transport: the feed retries
and lives on.

Before this was fixed, a sync feed whose reconnect met a connection closing
mid-handshake died with websockets' ``ConnectionClosedError`` (it was not mapped
to ``TransportError``), and its prompts then waited until the caller's timeout.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any

import pytest

from comfy_api_client.sync import create_client as create_sync_client
from tests.conformance.conftest import PAIRS, async_client
from tests.fault_proxy import Fault, FaultProxy, ThreadedProxy
from tests.faults.test_faults import FAST_RECONNECT, upstream
from tests.workflows import rgb, save_image

# The ways a handshake fails: the server closes as soon as it accepts, or after half its
# answer, the connection is reset, a gateway answers 502, nothing answers at all (the
# client's timeout ends it).
ACTIONS = ["dropped", "close_mid", "reset_before", "status", "hang"]
FAILURES = 2


def _alive(feed: Any) -> bool:
    return bool(feed.is_alive())


@contextlib.contextmanager
def _client(kind: str, transport: str, url: str) -> Iterator[Any]:
    options: dict[str, Any] = {
        "transport": transport,
        "http_timeout": 2.0,  # bounds the hanging handshake
        "state_tracker_kwargs": FAST_RECONNECT,
    }
    if kind == "async":
        with async_client(url, **options) as client:
            yield client
    else:
        with create_sync_client(url, **options) as client:
            yield client


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize(("kind", "transport"), PAIRS, ids=[f"{c}-{t}" for c, t in PAIRS])
def test_failed_handshakes_are_retried_and_the_feed_lives(
    comfy_url: str, fresh_color: int, kind: str, transport: str, action: str
) -> None:
    background = ThreadedProxy(FaultProxy(upstream(comfy_url)))
    proxy: FaultProxy = background.proxy
    try:
        with _client(kind, transport, proxy.url) as client:
            (feed,) = client.state_trackers
            if action == "dropped":
                proxy.drop_next = FAILURES  # nothing else connects while the feed reconnects
            else:
                proxy.faults.append(Fault("GET", "/ws", action, times=FAILURES, status=502))
            background.cut_websockets()
            deadline = time.monotonic() + 30
            while feed.reconnects < 1 and time.monotonic() < deadline:
                assert _alive(feed), "the feed ended after a failed handshake"
                time.sleep(0.05)
            assert feed.reconnects == 1
            assert _alive(feed)
            result = client.run(save_image(fresh_color, size=8, prefix="sdk_hs"), timeout=30)
            assert _alive(feed)
    finally:
        background.close()
    failed = [seen for seen in proxy.log if seen.fault == action]
    assert len(failed) == FAILURES
    upgrades = [seen for seen in proxy.log if seen.path.endswith("/ws") and not seen.fault]
    assert len(upgrades) == 2  # the first, and the reconnect after the failures
    assert result.output_images[0].image.convert("RGB").getpixel((0, 0)) == rgb(fresh_color)


class Flaky:
    """Wraps a real transport; its next ``failures`` WebSocket connects raise a bug-like
    ``RuntimeError`` (no transport should, but the feed must outlive one that does)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.failures = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def _fail(self) -> None:
        if self.failures > 0:
            self.failures -= 1
            raise RuntimeError("a transport bug")

    def connect_websocket(self, client_id: str) -> Any:
        self._fail()
        return self.inner.connect_websocket(client_id)


class AsyncFlaky(Flaky):
    async def connect_websocket(self, client_id: str) -> Any:
        self._fail()
        return await self.inner.connect_websocket(client_id)


@pytest.mark.parametrize(("kind", "transport"), PAIRS, ids=[f"{c}-{t}" for c, t in PAIRS])
def test_the_feed_outlives_an_unexpected_exception(
    comfy_url: str, fresh_color: int, kind: str, transport: str
) -> None:
    from comfy_transports import SYNC_TRANSPORTS, HttpxTransport

    background = ThreadedProxy(FaultProxy(upstream(comfy_url)))
    proxy: FaultProxy = background.proxy
    flaky: Flaky = (
        AsyncFlaky(HttpxTransport(proxy.url))
        if kind == "async"
        else Flaky(SYNC_TRANSPORTS[transport](proxy.url))
    )
    options: dict[str, Any] = {"transport": flaky, "state_tracker_kwargs": FAST_RECONNECT}
    try:
        opener = async_client if kind == "async" else create_sync_client
        with opener(proxy.url, **options) as client:
            (feed,) = client.state_trackers
            flaky.failures = FAILURES
            background.cut_websockets()
            deadline = time.monotonic() + 30
            while feed.reconnects < 1 and time.monotonic() < deadline:
                assert _alive(feed), "the feed ended after an unexpected exception"
                time.sleep(0.05)
            assert feed.reconnects == 1 and flaky.failures == 0
            result = client.run(save_image(fresh_color, size=8, prefix="sdk_hs"), timeout=30)
            assert _alive(feed)
    finally:
        background.close()
    assert result.output_images[0].image.convert("RGB").getpixel((0, 0)) == rgb(fresh_color)


def test_a_connection_closed_during_the_handshake_is_a_connect_error() -> None:
    # The race the restart test met: the server closes before the request is even sent,
    # and websockets raises ConnectionClosedError from connect().
    import websockets

    from comfy_core.errors import ConnectError
    from comfy_transports.websockets_common import mapped_connect_errors

    closed = websockets.ConnectionClosedError(None, None)
    with pytest.raises(ConnectError) as caught, mapped_connect_errors("WebSocket /ws"):
        raise closed
    assert caught.value.__cause__ is closed
