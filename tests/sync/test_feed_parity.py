"""The async and sync feeds are twins: the same options, methods and names, and the
same behaviour through a dropped WebSocket against the real server."""

from __future__ import annotations

import asyncio
import inspect
from typing import Any
from urllib.parse import urlsplit

import pytest

from comfy_api_client import create_client, hookimpl
from comfy_api_client import feeds as async_feeds
from comfy_api_client import trackers as async_names
from comfy_api_client.sync import create_client as create_sync_client
from comfy_api_client.sync import feeds as sync_feeds
from comfy_api_client.sync import trackers as sync_names
from tests.fault_proxy import FaultProxy, ThreadedProxy
from tests.workflows import slow

PAIRS = [
    (async_feeds.WebSocketFeed, sync_feeds.SyncWebSocketFeed),
    (async_feeds.PollingFeed, sync_feeds.SyncPollingFeed),
]
FAST_RECONNECT = {"reconnect_delay": 0.05, "max_reconnect_delay": 0.5, "poll_interval": 0.1}


def public(cls: type) -> dict[str, str]:
    """Public members by kind (method, property or attribute set in ``__init__``)."""
    return {
        name: "property" if isinstance(member, property) else "method"
        for name, member in inspect.getmembers(cls)
        if not name.startswith("_") and (isinstance(member, property) or callable(member))
    }


def options(cls: type) -> list[tuple[str, object, object]]:
    signature = inspect.signature(cls.__init__)  # type: ignore[misc]
    return [(p.name, p.kind, p.default) for p in signature.parameters.values()]


@pytest.mark.parametrize(("async_cls", "sync_cls"), PAIRS)
def test_feeds_take_the_same_options_and_have_the_same_members(
    async_cls: type, sync_cls: type
) -> None:
    assert options(async_cls) == options(sync_cls)
    assert public(async_cls) == public(sync_cls)
    for name in ("start", "stop"):
        assert inspect.iscoroutinefunction(getattr(async_cls, name))
        assert not inspect.iscoroutinefunction(getattr(sync_cls, name))


def test_both_drivers_name_the_same_feeds_and_keep_the_old_names() -> None:
    assert list(async_feeds.FEEDS) == list(sync_feeds.SYNC_FEEDS) == ["websocket", "http"]
    assert async_names.WebsocketStateTracker is async_feeds.WebSocketFeed
    assert async_names.HTTPStateTracker is async_feeds.PollingFeed
    assert sync_names.SyncWebsocketStateTracker is sync_feeds.SyncWebSocketFeed
    assert sync_names.SyncHTTPStateTracker is sync_feeds.SyncPollingFeed


class SocketLog:
    """Records the WebSockets the client opens and closes (through the plugin hooks)."""

    def __init__(self) -> None:
        self.opened: list[str] = []
        self.closed: list[str] = []

    @hookimpl
    def comfy_websocket_opened(self, client_id: str) -> None:
        self.opened.append(client_id)

    @hookimpl
    def comfy_websocket_closed(self, client_id: str) -> None:
        self.closed.append(client_id)


def upstream(comfy_url: str) -> tuple[str, int]:
    parts = urlsplit(comfy_url)
    assert parts.hostname and parts.port
    return parts.hostname, parts.port


def observed(client: Any, log: SocketLog, first_id: str, size: object) -> dict[str, Any]:
    (feed,) = client.state_trackers
    return {
        "feed running": feed.is_running,
        "reconnected": feed.reconnects >= 1,
        "submits carry the new socket's id": client.client_id == log.opened[-1] != first_id,
        "every socket had a fresh id": len(set(log.opened)) == len(log.opened) >= 2,
        "the cut socket was reported closed": first_id in log.closed,
        "result is right": size == (256, 256),
        "nothing left in flight": client.tracker.tracked == frozenset(),
    }


EXPECTED = {
    "feed running": True,
    "reconnected": True,
    "submits carry the new socket's id": True,
    "every socket had a fresh id": True,
    "the cut socket was reported closed": True,
    "result is right": True,
    "nothing left in flight": True,
}


async def _async_scenario(comfy_url: str, color: int) -> dict[str, Any]:
    log = SocketLog()
    async with (
        FaultProxy(upstream(comfy_url), raw=True) as proxy,
        create_client(
            proxy.url, plugins=[log], state_tracker_kwargs=FAST_RECONNECT, timeout=60
        ) as client,
    ):
        first_id = client.client_id
        prompt = await client.submit_workflow(slow(color, blurs=2, size=256))
        proxy.cut()  # the prompt is stranded: its events after the cut are gone
        result = await client.wait(prompt)
        size = result.output_images[0].image.size
        return observed(client, log, first_id, size)


def _sync_scenario(comfy_url: str, color: int) -> dict[str, Any]:
    log = SocketLog()
    proxy = ThreadedProxy(FaultProxy(upstream(comfy_url), raw=True))
    try:
        with create_sync_client(
            proxy.url, plugins=[log], state_tracker_kwargs=FAST_RECONNECT, timeout=60
        ) as client:
            first_id = client.client_id
            prompt = client.submit_workflow(slow(color, blurs=2, size=256))
            proxy.cut()
            result = client.wait(prompt)
            size = result.output_images[0].image.size
            return observed(client, log, first_id, size)
    finally:
        proxy.close()


def test_both_feeds_ride_out_a_dropped_socket_alike(comfy_url: str, fresh_colors: Any) -> None:
    async_seen = asyncio.run(_async_scenario(comfy_url, fresh_colors()))
    sync_seen = _sync_scenario(comfy_url, fresh_colors())
    assert async_seen == sync_seen == EXPECTED
