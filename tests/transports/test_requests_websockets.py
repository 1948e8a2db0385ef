"""RequestsTransport (requests for HTTP, websockets for the WebSocket) against a peer
scripted by hand."""

from __future__ import annotations

from pathlib import Path

import pytest

from comfy_transports.requests_websockets import RequestsTransport
from tests.transports import scenarios
from tests.transports.peer import Answer, Peer, Seen, serve_requests


def make(url: str) -> RequestsTransport:
    return RequestsTransport(url, timeout=10)


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


def test_the_environment_is_read_once_and_still_obeyed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """requests' environment (proxy variables, ~/.netrc) holds as before, though the
    transport reads it once instead of on every request."""
    seen: list[Seen] = []

    def answer(request: Seen) -> Answer:
        seen.append(request)
        return scenarios.answer_stats(request)

    with Peer(serve_requests(answer)) as origin, Peer(serve_requests(answer)) as proxy:
        netrc = tmp_path / "netrc"
        netrc.write_text("machine 127.0.0.1 login robot password s3cret\n")
        netrc.chmod(0o600)
        monkeypatch.setenv("NETRC", str(netrc))
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        transport = make(origin.url)
        try:
            for _ in range(2):
                assert transport.handle_request(scenarios.GET).json() == scenarios.STATS
            monkeypatch.setenv("NO_PROXY", "127.0.0.1")  # read once: no effect any more
            assert transport.handle_request(scenarios.GET).json() == scenarios.STATS
        finally:
            transport.close()
    assert len(seen) == 3
    assert all(s.target.startswith(origin.url) for s in seen)  # absolute form: via the proxy
    assert all(s.headers["authorization"].startswith("Basic ") for s in seen)  # the netrc
