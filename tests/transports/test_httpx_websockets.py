"""HttpxTransport (the async default: httpx for HTTP, websockets for the WebSocket) against a
peer scripted by hand; the same checks as the sync transports' modules, awaited."""

from __future__ import annotations

import gzip
import json
from typing import Any

import pytest
from wsproto.events import CloseConnection

from comfy_core.errors import WebSocketClosed
from comfy_core.http import Request
from comfy_transports.httpx_websockets import HttpxTransport
from tests.transports import scenarios
from tests.transports.peer import Answer, Link, Peer, Seen, serve_requests


async def test_round_trip() -> None:
    seen: list[Seen] = []

    def answer(request: Seen) -> Answer:
        seen.append(request)
        return scenarios.answer_stats(request)

    with Peer(serve_requests(answer)) as peer:
        transport = HttpxTransport(peer.url, timeout=10)
        try:
            got = await transport.handle_async_request(scenarios.GET)
            posted = await transport.handle_async_request(scenarios.POST)
        finally:
            await transport.aclose()
    assert got.status == posted.status == 200
    assert got.json() == scenarios.STATS
    assert got.header("content-type") == "application/json; charset=utf-8"
    assert [(s.method, s.target) for s in seen] == [
        ("GET", "/api/system_stats?a=1&b=x+y"),
        ("POST", "/api/prompt"),
    ]
    assert seen[1].body == scenarios.POST.body
    assert seen[1].headers["content-type"] == "application/json"
    assert peer.accepted == 1  # kept alive


async def test_chunked_and_gzip_bodies() -> None:
    pieces = [b"\x89PNG\r\n\x1a\n", bytes(range(256)) * 40, b"IEND\xaeB`\x82"]
    packed = gzip.compress(scenarios.STATS_BODY)

    def answer(seen: Seen) -> Answer:
        if seen.target.startswith("/api/view"):
            return 200, pieces, [("Content-Type", "image/png")]
        return 200, [packed[:7], packed[7:]], [*scenarios.JSON, ("Content-Encoding", "gzip")]

    with Peer(serve_requests(answer)) as peer:
        transport = HttpxTransport(peer.url, timeout=10)
        try:
            view = Request(method="GET", path="/api/view")
            got = await transport.handle_async_request(view)
            written: list[bytes] = []
            await transport.stream_async_request(view, written.append)
            stats = await transport.handle_async_request(scenarios.GET)
        finally:
            await transport.aclose()
    assert got.body == b"".join(written) == b"".join(pieces)
    assert stats.body == scenarios.STATS_BODY


async def test_websocket_text_binary_and_close() -> None:
    seen: dict[str, Any] = {}

    def script(link: Link) -> None:
        seen["target"] = link.accept_websocket().target
        link.send_text(scenarios.GREETING)
        link.send_bytes(scenarios.PREVIEW)
        seen["from_client"] = link.next_message()
        seen["client_close"] = link.close_websocket(1000, "bye")

    with Peer(script) as peer:
        transport = HttpxTransport(peer.url, timeout=10)
        try:
            ws = await transport.connect_websocket("c1")
            try:
                assert await ws.receive() == scenarios.GREETING
                assert await ws.receive() == scenarios.PREVIEW
                await ws.send_text(json.dumps(scenarios.FLAGS))
                with pytest.raises(WebSocketClosed, match="1000"):
                    await ws.receive()
            finally:
                await ws.aclose()
        finally:
            await transport.aclose()
    assert seen["target"] == "/ws?clientId=c1"
    assert json.loads(seen["from_client"]) == scenarios.FLAGS
    assert seen["client_close"].code == 1000


async def test_websocket_closed_by_the_client() -> None:
    seen: dict[str, Any] = {}

    def script(link: Link) -> None:
        link.accept_websocket()
        link.send_text(scenarios.GREETING)
        seen["event"] = link.next_ws_event()

    with Peer(script) as peer:
        transport = HttpxTransport(peer.url, timeout=10)
        try:
            ws = await transport.connect_websocket("c1")
            assert await ws.receive() == scenarios.GREETING
            await ws.aclose()
        finally:
            await transport.aclose()
    assert isinstance(seen["event"], CloseConnection) and seen["event"].code == 1000
