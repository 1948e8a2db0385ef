"""RawSocketTransport (h11 and wsproto on plain sockets) against a peer scripted by hand."""

from __future__ import annotations

import socket
import struct
import threading
import time

import pytest
from wsproto.events import CloseConnection

from comfy_core.errors import NetworkError, WebSocketClosed
from comfy_core.http import Request
from comfy_core.urls import ServerURL
from comfy_transports.raw_sockets import RawSocketTransport
from comfy_transports.raw_websocket import WsprotoConnection
from comfy_transports.settings import TransportSettings
from tests.transports import scenarios
from tests.transports.peer import Link, Peer, serve_requests


def make(url: str) -> RawSocketTransport:
    return RawSocketTransport(url, timeout=10)


def test_round_trip() -> None:
    seen = scenarios.check_round_trip(make)
    assert seen[0].headers["accept-encoding"] == "identity"
    assert seen[0].headers["user-agent"] == "comfy-api-client (h11)"


def test_chunked_body() -> None:
    scenarios.check_chunked_body(make)


def test_gzip_answer() -> None:
    # It asks for identity; a server that compresses anyway is decoded all the same.
    scenarios.check_gzip_answer_is_decoded(make)


def test_error_status() -> None:
    scenarios.check_error_status_is_returned_not_raised(make)


def test_websocket_text_binary_and_close() -> None:
    scenarios.check_websocket_text_binary_and_close(make)


def test_websocket_closed_by_the_client() -> None:
    scenarios.check_websocket_closed_by_the_client(make)


def test_fragmented_text() -> None:
    scenarios.check_fragmented_text_is_one_message(make)


def test_a_kept_alive_connection_serves_the_next_request() -> None:
    with Peer(serve_requests(scenarios.answer_stats)) as peer:
        transport = make(peer.url)
        try:
            for _ in range(3):
                assert transport.handle_request(scenarios.GET).json() == scenarios.STATS
        finally:
            transport.close()
    assert peer.accepted == 1


def test_a_stale_pooled_connection_is_replaced_once() -> None:
    after_fin: list[bytes] = []

    def script(link: Link) -> None:
        seen = link.read_request()
        assert seen is not None
        link.respond(200, scenarios.STATS_BODY, scenarios.JSON)
        # Then the server ends the idle connection (a FIN, as a keep-alive timeout does);
        # the client's next request meets a closed stream and must go out on a new one.
        link.sock.shutdown(socket.SHUT_WR)
        after_fin.append(link.sock.recv(65536))

    with Peer(script) as peer:
        transport = make(peer.url)
        try:
            first = transport.handle_request(scenarios.GET)
            second = transport.handle_request(scenarios.GET)
        finally:
            transport.close()
    assert first.json() == second.json() == scenarios.STATS
    assert peer.accepted == 2
    # The first connection saw the second request arrive after its FIN; the new one, none.
    assert [data[:21] for data in after_fin] == [b"GET /api/system_stats", b""]


def _answer_then_reset(link: Link) -> None:
    seen = link.read_request()
    assert seen is not None
    link.respond(200, scenarios.STATS_BODY, scenarios.JSON)
    # The server drops the idle connection with a reset (linger 0), not a FIN: the
    # client's next request on it meets ECONNRESET before any answer.
    link.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    link.sock.close()


def test_a_pooled_connection_reset_while_idle_is_replaced_for_a_get() -> None:
    with Peer(_answer_then_reset) as peer:
        transport = make(peer.url)
        try:
            first = transport.handle_request(scenarios.GET)
            time.sleep(0.2)  # the reset has arrived before the next request leaves
            second = transport.handle_request(scenarios.GET)
        finally:
            transport.close()
    assert first.json() == second.json() == scenarios.STATS
    assert peer.accepted == 2


def test_a_post_on_a_reset_pooled_connection_is_not_repeated() -> None:
    post = Request(method="POST", path="/api/prompt", body=b"{}")
    with Peer(_answer_then_reset) as peer:
        transport = make(peer.url)
        try:
            transport.handle_request(scenarios.GET)
            time.sleep(0.2)
            with pytest.raises(NetworkError):
                transport.handle_request(post)  # the server may have taken it: no resend
        finally:
            transport.close()
    assert peer.accepted == 1


def test_a_connection_cut_mid_answer_is_a_network_error() -> None:
    def script(link: Link) -> None:
        link.read_request()
        link.sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly a part")
        link.sock.shutdown(socket.SHUT_RDWR)

    with Peer(script) as peer:
        transport = make(peer.url)
        try:
            with pytest.raises(NetworkError, match="GET /api/view failed"):
                transport.handle_request(Request(method="GET", path="/api/view"))
        finally:
            transport.close()


def test_websocket_over_a_socketpair() -> None:
    # WsprotoConnection takes any connected socket: the peer end is scripted in this thread.
    ours, theirs = socket.socketpair()
    theirs.settimeout(10)
    settings = TransportSettings(url=ServerURL.parse("http://comfy.test"), headers={"X-A": "1"})
    peer = Link(theirs)

    opened: list[WsprotoConnection] = []
    opener = threading.Thread(
        target=lambda: opened.append(
            WsprotoConnection.open(ours, settings, "/ws?clientId=c1", "WebSocket /ws")
        )
    )
    opener.start()
    upgrade = peer.accept_websocket()
    opener.join(10)
    (ws,) = opened
    assert (upgrade.host, upgrade.target) == ("comfy.test", "/ws?clientId=c1")
    assert (b"x-a", b"1") in [(k.lower(), v) for k, v in upgrade.extra_headers]

    peer.send_text(scenarios.GREETING)
    peer.send_bytes(scenarios.PREVIEW)
    assert ws.receive(5) == scenarios.GREETING
    assert ws.receive(5) == scenarios.PREVIEW
    ws.send_text("{}")
    assert peer.next_message() == "{}"
    peer.send(CloseConnection(code=1001, reason="going away"))
    with pytest.raises(WebSocketClosed, match="1001"):
        ws.receive(5)
    answer = peer.next_ws_event()
    assert isinstance(answer, CloseConnection) and answer.code == 1001
    theirs.close()
