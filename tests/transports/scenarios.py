"""What every transport must do on the wire, checked against a hand-scripted :class:`Peer`.

Each ``check_*`` takes a factory (``make(url) -> transport``) for a sync transport;
the async transport's module runs the same checks with ``await``. The bytes the
peer sends are ComfyUI's own, taken from the recorded 0.3.75 sessions.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from typing import Any

import pytest
from wsproto.events import CloseConnection, TextMessage

from comfy_core.errors import WebSocketClosed
from comfy_core.http import Request, json_request
from comfy_transports.base import SyncTransport
from tests.recorded import http_records, ws_messages
from tests.transports.peer import Answer, Link, Peer, Seen, serve_requests

Make = Callable[[str], SyncTransport]

# The server's first frame: status with the sid.
GREETING = next(m for m in ws_messages("success") if isinstance(m, str))
PREVIEW = next(m for m in ws_messages("preview_binary_frames", "legacy") if isinstance(m, bytes))
STATS = next(http_records("endpoints", "GET", "/system_stats"))["json"]
STATS_BODY = json.dumps(STATS).encode()
JSON = [("Content-Type", "application/json; charset=utf-8")]
FLAGS = {"type": "feature_flags", "data": {"supports_preview_metadata": False}}
POST = json_request("POST", "/api/prompt", {"prompt": {}, "client_id": "c1"})
GET = Request(method="GET", path="/api/system_stats", params=(("a", "1"), ("b", "x y")))


def answer_stats(seen: Seen) -> Answer:
    return 200, STATS_BODY, JSON


def check_round_trip(make: Make) -> list[Seen]:
    """A GET with a query and a POST with a JSON body; returns what the peer saw."""
    seen: list[Seen] = []

    def answer(request: Seen) -> Answer:
        seen.append(request)
        if request.method == "POST":
            return 200, b'{"prompt_id": "p1", "number": 3, "node_errors": {}}', JSON
        return answer_stats(request)

    with Peer(serve_requests(answer)) as peer:
        transport = make(peer.url)
        try:
            got = transport.handle_request(GET)
            posted = transport.handle_request(POST)
        finally:
            transport.close()

    assert got.status == 200
    assert got.json() == STATS
    assert got.header("Content-Type") == "application/json; charset=utf-8"
    assert got.header("content-length") == str(len(STATS_BODY))
    assert posted.json() == {"prompt_id": "p1", "number": 3, "node_errors": {}}
    assert [(s.method, s.target) for s in seen] == [
        ("GET", "/api/system_stats?a=1&b=x+y"),
        ("POST", "/api/prompt"),
    ]
    assert seen[0].body == b""
    assert seen[1].body == POST.body
    assert seen[1].headers["content-type"] == "application/json"
    assert seen[1].headers["content-length"] == str(len(POST.body))
    assert seen[0].headers["host"] == peer.url.removeprefix("http://")
    return seen


def check_chunked_body(make: Make) -> None:
    """A chunked answer read whole and streamed: the same bytes, joined in order."""
    pieces = [b"\x89PNG\r\n\x1a\n", bytes(range(256)) * 40, b"", b"IEND\xaeB`\x82"]
    whole = b"".join(pieces)
    headers = [("Content-Type", "image/png")]
    with Peer(serve_requests(lambda seen: (200, pieces, headers))) as peer:
        transport = make(peer.url)
        try:
            view = Request(method="GET", path="/api/view", params=(("filename", "a.png"),))
            got = transport.handle_request(view)
            written: list[bytes] = []
            streamed = transport.stream_request(view, written.append)
        finally:
            transport.close()
    assert got.status == 200 and got.body == whole
    assert got.header("transfer-encoding") == "chunked"
    assert b"".join(written) == whole
    assert streamed.status == 200


def check_gzip_answer_is_decoded(make: Make) -> None:
    """A gzip-encoded JSON answer, chunked: the decoded bytes, never the encoded ones."""
    packed = gzip.compress(STATS_BODY)
    pieces = [packed[:10], packed[10:]]
    headers = [*JSON, ("Content-Encoding", "gzip")]
    with Peer(serve_requests(lambda seen: (200, pieces, headers))) as peer:
        transport = make(peer.url)
        try:
            got = transport.handle_request(GET)
        finally:
            transport.close()
    assert got.body == STATS_BODY


def check_error_status_is_returned_not_raised(make: Make) -> None:
    record = next(r for r in http_records("upload_then_load", "GET", "/view") if r["status"] == 404)
    with Peer(serve_requests(lambda seen: (record["status"], b"", []))) as peer:
        transport = make(peer.url)
        try:
            got = transport.handle_request(Request(method="GET", path="/api/view"))
        finally:
            transport.close()
    assert (got.status, got.body) == (404, b"")


def _websocket_script(seen: dict[str, Any]) -> Callable[[Link], None]:
    def script(link: Link) -> None:
        upgrade = link.accept_websocket()
        seen["target"] = upgrade.target
        link.send_text(GREETING)
        link.send_bytes(PREVIEW)
        seen["from_client"] = link.next_message()
        seen["client_close"] = link.close_websocket(1000, "bye")

    return script


def check_websocket_text_binary_and_close(make: Make) -> None:
    """Upgrade, a text frame, a binary frame, a text frame from the client, a close."""
    seen: dict[str, Any] = {}
    with Peer(_websocket_script(seen)) as peer:
        transport = make(peer.url)
        try:
            ws = transport.connect_websocket("3f814a6a79804894be9de5271c18bf86")
            try:
                assert ws.receive(5) == GREETING
                assert ws.receive(5) == PREVIEW
                ws.send_text(json.dumps(FLAGS))
                with pytest.raises(WebSocketClosed) as closed:
                    ws.receive(5)
            finally:
                ws.close()
        finally:
            transport.close()
    assert seen["target"] == "/ws?clientId=3f814a6a79804894be9de5271c18bf86"
    assert json.loads(seen["from_client"]) == FLAGS
    assert isinstance(seen["client_close"], CloseConnection)
    assert seen["client_close"].code == 1000  # the client answered the close in kind
    assert "1000" in str(closed.value)


def check_websocket_closed_by_the_client(make: Make) -> None:
    seen: dict[str, Any] = {}

    def script(link: Link) -> None:
        link.accept_websocket()
        link.send_text(GREETING)
        seen["event"] = link.next_ws_event()

    with Peer(script) as peer:
        transport = make(peer.url)
        try:
            ws = transport.connect_websocket("c1")
            assert ws.receive(5) == GREETING
            ws.close()
        finally:
            transport.close()
    assert isinstance(seen["event"], CloseConnection) and seen["event"].code == 1000


def check_fragmented_text_is_one_message(make: Make) -> None:
    text = GREETING * 50

    def script(link: Link) -> None:
        link.accept_websocket()
        third = len(text) // 3
        link.send(TextMessage(data=text[:third], message_finished=False))
        link.send(TextMessage(data=text[third : 2 * third], message_finished=False))
        link.send(TextMessage(data=text[2 * third :], message_finished=True))
        link.close_websocket()

    with Peer(script) as peer:
        transport = make(peer.url)
        try:
            ws = transport.connect_websocket("c1")
            try:
                assert ws.receive(5) == text
                with pytest.raises(WebSocketClosed):
                    ws.receive(5)
            finally:
                ws.close()
        finally:
            transport.close()
