"""HttpxSyncTransport (httpx for HTTP, websockets for the WebSocket, both blocking) against
a peer scripted by hand."""

from __future__ import annotations

from comfy_transports.httpx_sync import HttpxSyncTransport
from tests.transports import scenarios
from tests.transports.peer import Peer, serve_requests


def make(url: str) -> HttpxSyncTransport:
    return HttpxSyncTransport(url, timeout=10)


def test_round_trip() -> None:
    scenarios.check_round_trip(make)


def test_chunked_body() -> None:
    scenarios.check_chunked_body(make)


def test_gzip_answer() -> None:
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
