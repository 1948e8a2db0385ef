"""A loopback peer scripted by hand, speaking real HTTP/1.1 (h11) and WebSocket (wsproto) bytes.

``Peer(script)`` listens on 127.0.0.1; every connection it accepts runs
``script(link)`` in a thread of its own, where ``link`` is a :class:`Link`: the
socket with an h11 server connection on it, and helpers to read a request, answer
it (whole or chunked) and upgrade to a WebSocket. ``Peer`` re-raises on exit any
error a script raised, so an assertion in a script fails the test.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import TracebackType

import h11
from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Event,
    Message,
    Request,
    TextMessage,
)

Script = Callable[["Link"], None]
Answer = tuple[int, "bytes | list[bytes]", list[tuple[str, str]]]
"""(status, body whole or as chunks, headers) for :func:`serve_requests`."""


@dataclass
class Seen:
    method: str
    target: str
    headers: dict[str, str]  # lower-case names; repeated names joined with ", "
    body: bytes


class Link:
    """One accepted connection, read and written by hand."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.http = h11.Connection(h11.SERVER)
        self.ws: WSConnection | None = None
        self._ws_events: list[Event] = []

    def _next_http(self) -> object:
        while True:
            event = self.http.next_event()
            if event is h11.NEED_DATA:
                self.http.receive_data(self.sock.recv(65536))
                continue
            return event

    def read_request(self) -> Seen | None:
        """The next request on this connection, or None when the client closed it."""
        if self.http.our_state is h11.DONE and self.http.their_state is h11.DONE:
            self.http.start_next_cycle()
        event = self._next_http()
        if isinstance(event, h11.ConnectionClosed):
            return None
        assert isinstance(event, h11.Request), event
        headers: dict[str, str] = {}
        for name, value in event.headers:
            key = name.decode().lower()
            headers[key] = f"{headers[key]}, {value.decode()}" if key in headers else value.decode()
        body = b""
        while True:
            part = self._next_http()
            if isinstance(part, h11.EndOfMessage):
                break
            assert isinstance(part, h11.Data), part
            body += bytes(part.data)
        return Seen(event.method.decode(), event.target.decode(), headers, body)

    def respond(
        self,
        status: int,
        body: bytes | Iterable[bytes] = b"",
        headers: Iterable[tuple[str, str]] = (),
    ) -> None:
        """Answer with ``body`` whole (Content-Length) or, given pieces, chunked."""
        head = list(headers)
        pieces = [body] if isinstance(body, bytes) else list(body)
        if isinstance(body, bytes):
            head.append(("Content-Length", str(len(body))))
        else:
            head.append(("Transfer-Encoding", "chunked"))
        data = self.http.send(h11.Response(status_code=status, headers=head)) or b""
        for piece in pieces:
            if piece:
                data += self.http.send(h11.Data(data=piece)) or b""
        data += self.http.send(h11.EndOfMessage()) or b""
        self.sock.sendall(data)

    # -- WebSocket ---------------------------------------------------------------------

    def accept_websocket(self) -> Request:
        """Read the upgrade request and accept it; the request wsproto read."""
        self.ws = WSConnection(ConnectionType.SERVER)
        while True:
            self.ws.receive_data(self.sock.recv(65536))
            for event in self.ws.events():
                if isinstance(event, Request):
                    self.sock.sendall(self.ws.send(AcceptConnection()))
                    return event
                raise AssertionError(f"expected the upgrade request, got {event!r}")

    def send(self, event: Event) -> None:
        assert self.ws is not None
        self.sock.sendall(self.ws.send(event))

    def send_text(self, text: str) -> None:
        self.send(TextMessage(data=text))

    def send_bytes(self, data: bytes) -> None:
        self.send(BytesMessage(data=data))

    def next_ws_event(self) -> Event:
        """The client's next WebSocket event (a whole Message, a close, a ping...)."""
        assert self.ws is not None
        while not self._ws_events:
            data = self.sock.recv(65536)
            self.ws.receive_data(data or None)  # None: the client's end of stream
            self._ws_events.extend(self.ws.events())
        return self._ws_events.pop(0)

    def next_message(self) -> str | bytes:
        """The client's next whole message (fragments joined)."""
        parts: list[str | bytes] = []
        while True:
            event = self.next_ws_event()
            assert isinstance(event, Message), event
            parts.append(event.data)
            if event.message_finished:
                if isinstance(event, TextMessage):
                    return "".join(p for p in parts if isinstance(p, str))
                return b"".join(p for p in parts if isinstance(p, bytes))

    def close_websocket(self, code: int = 1000, reason: str = "") -> CloseConnection:
        """Close from this side; the client's close frame in reply."""
        self.send(CloseConnection(code=code, reason=reason))
        answer = self.next_ws_event()
        assert isinstance(answer, CloseConnection), answer
        return answer


class Peer:
    """The listener: ``with Peer(script) as peer: ... peer.url ...``."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.accepted = 0
        self.errors: list[BaseException] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._threads: list[threading.Thread] = []
        self._socks: list[socket.socket] = []
        self._accepting = threading.Thread(target=self._accept, daemon=True)

    def __enter__(self) -> Peer:
        self._accepting.start()
        return self

    def _accept(self) -> None:
        while True:
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return  # the listener was closed
            self.accepted += 1
            self._socks.append(sock)
            thread = threading.Thread(target=self._run, args=(sock,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _run(self, sock: socket.socket) -> None:
        sock.settimeout(10)
        try:
            self.script(Link(sock))
        except BaseException as exc:  # reported on exit, in the test's thread
            self.errors.append(exc)
        finally:
            sock.close()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        self._listener.close()
        self._accepting.join(10)
        for thread in self._threads:
            thread.join(10)
        for sock in self._socks:
            with contextlib.suppress(OSError):
                sock.close()
        if self.errors and kind is None:
            raise self.errors[0]


def serve_requests(answer: Callable[[Seen], Answer]) -> Script:
    """A script answering every request of its connection with ``answer(seen)``."""

    def script(link: Link) -> None:
        while (seen := link.read_request()) is not None:
            status, body, headers = answer(seen)
            link.respond(status, body, headers)

    return script
