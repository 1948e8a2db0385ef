"""A blocking transport on plain sockets: h11 for HTTP/1.1, wsproto for the WebSocket.

It needs nothing beyond h11, wsproto and the standard library (``socket``,
``ssl``), for deployments that want the smallest dependency surface or full
control of the connection. HTTP connections are kept alive and reused from a
small pool; a reused connection that turns out stale is replaced once.

It asks for ``Accept-Encoding: identity``; a server that compresses anyway gets
its gzip or deflate undone here (:class:`~comfy_transports.bodies.BodyReader`),
so encoded bytes are never taken for the file. ``timeout`` bounds the whole
exchange: every ``recv`` waits at most for the time the request has left.
Redirects are returned as they came, never followed.
"""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Callable

import h11

from comfy_core.errors import ConnectError, NetworkError, TransportTimeout
from comfy_core.http import Request, Response
from comfy_transports.bodies import BodyReader, reader_for
from comfy_transports.deadline import Deadline
from comfy_transports.raw_websocket import WsprotoConnection
from comfy_transports.settings import SyncConfiguredTransport, TransportSettings

__all__ = ["RawSocketTransport", "open_socket"]

_POOL_SIZE = 8
_USER_AGENT = "comfy-api-client (h11)"


def open_socket(
    settings: TransportSettings, what: str, deadline: Deadline | None = None
) -> socket.socket:
    """A connected (and, for https, TLS-wrapped) socket to the server."""
    url = settings.url
    port = url.port or (443 if url.scheme == "https" else 80)
    timeout = settings.timeout if deadline is None else deadline.cap(settings.timeout)
    try:
        sock = socket.create_connection((url.host, port), timeout=timeout)
        if settings.ssl is not None:
            sock = settings.ssl.wrap_socket(sock, server_hostname=url.host)
    except TimeoutError as exc:
        raise TransportTimeout(f"{what}: connecting timed out") from exc
    except (OSError, ssl.SSLError) as exc:
        raise ConnectError(
            f"{what}: cannot connect to {url.netloc} ({type(exc).__name__})"
        ) from exc
    return sock


_REPEATABLE = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})


class _Stale(Exception):
    """A pooled connection was closed by the server before it answered."""


class RawSocketTransport(SyncConfiguredTransport):
    """HTTP over h11 and WebSockets over wsproto, on sockets; same options as the others."""

    def _setup(self) -> None:
        self._idle: list[tuple[socket.socket, h11.Connection]] = []
        self._lock = threading.Lock()

    def _checkout(
        self, what: str, deadline: Deadline
    ) -> tuple[socket.socket, h11.Connection, bool]:
        with self._lock:
            if self._idle:
                sock, conn = self._idle.pop()
                return sock, conn, True
        return open_socket(self.settings, what, deadline), h11.Connection(h11.CLIENT), False

    def _checkin(self, sock: socket.socket, conn: h11.Connection) -> None:
        if conn.our_state is h11.DONE and conn.their_state is h11.DONE:
            conn.start_next_cycle()
            with self._lock:
                if len(self._idle) < _POOL_SIZE:
                    self._idle.append((sock, conn))
                    return
        sock.close()

    def _head(self, request: Request) -> h11.Request:
        asked = {name.lower() for name, _ in (*self.settings.headers.items(), *request.headers)}
        headers = [
            ("Host", self.url.netloc),
            ("User-Agent", _USER_AGENT),
            *([] if "accept-encoding" in asked else [("Accept-Encoding", "identity")]),
            ("Content-Length", str(len(request.body))),
            *self.settings.headers.items(),
            *request.headers,
        ]
        return h11.Request(
            method=request.method,
            target=self.url.target(request.path, request.params),
            headers=headers,
        )

    def _exchange(
        self, request: Request, write: Callable[[bytes], object] | None, seconds: float | None
    ) -> Response:
        what = f"{request.method} {request.path}"
        deadline = Deadline(seconds)
        for _ in range(2):  # a second try only when a pooled connection was stale
            sock, conn, reused = self._checkout(what, deadline)
            try:
                response, reusable = self._over(sock, conn, request, write, reused, deadline)
            except _Stale:
                sock.close()
                continue
            except TimeoutError as exc:
                sock.close()
                late = f"took longer than {seconds} s" if deadline.expired else "timed out"
                raise TransportTimeout(f"{what} {late}") from exc
            except (OSError, h11.ProtocolError) as exc:
                sock.close()
                raise NetworkError(f"{what} failed: {type(exc).__name__}") from exc
            except BaseException:
                sock.close()  # BodyTooLarge, a bad encoding, the writer's own error
                raise
            if reusable:
                self._checkin(sock, conn)
            else:
                sock.close()
            return response
        raise NetworkError(f"{what} failed: the server closed the connection")

    def _over(
        self,
        sock: socket.socket,
        conn: h11.Connection,
        request: Request,
        write: Callable[[bytes], object] | None,
        reused: bool,
        deadline: Deadline,
    ) -> tuple[Response, bool]:
        """The response, and whether the connection can serve another request."""
        sock.settimeout(deadline.cap(self.settings.timeout))
        data = conn.send(self._head(request)) or b""
        if request.body:
            data += conn.send(h11.Data(data=request.body)) or b""
        data += conn.send(h11.EndOfMessage()) or b""
        # A pooled connection the server dropped while idle shows as a reset (or a closed
        # pipe) before any answer; a request that repeats safely then goes out once more on
        # a new connection. A POST is not repeated: the server may have taken it.
        stale_if_reset = reused and request.method in _REPEATABLE
        try:
            sock.sendall(data)
        except ConnectionError as exc:
            if stale_if_reset:
                raise _Stale from exc
            raise
        status = 0
        headers: tuple[tuple[str, str], ...] = ()
        reader: BodyReader | None = None
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                if deadline.expired:
                    raise TimeoutError
                sock.settimeout(deadline.cap(self.settings.timeout))
                try:
                    received = sock.recv(65536)
                except ConnectionError as exc:
                    if stale_if_reset and status == 0:
                        raise _Stale from exc
                    raise
                if not received and reused and status == 0:
                    raise _Stale
                conn.receive_data(received)
                continue
            if isinstance(event, h11.Response):
                status = event.status_code
                headers = tuple((k.decode().lower(), v.decode("latin-1")) for k, v in event.headers)
                encoding = ", ".join(v for k, v in headers if k == "content-encoding") or None
                reader = reader_for(request, status, encoding, write)
            elif isinstance(event, h11.Data):
                assert reader is not None
                reader.feed(bytes(event.data))
                if reader.full:  # an error body cut short: drop the rest with the connection
                    return Response(status=status, headers=headers, body=reader.finish()), False
            elif isinstance(event, (h11.EndOfMessage, h11.ConnectionClosed)):
                body = reader.finish() if reader is not None else b""
                return Response(status=status, headers=headers, body=body), True

    def connect_websocket(self, client_id: str) -> WsprotoConnection:
        what = f"WebSocket {self.url.prefix}/ws"
        with self._scrubbed():
            deadline = Deadline(self.settings.timeout)
            sock = open_socket(self.settings, what, deadline)
            target = self.url.ws_target(client_id)
            return WsprotoConnection.open(sock, self.settings, target, what, deadline)

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for sock, _ in idle:
            sock.close()
