"""A blocking WebSocket on a plain socket, driven by wsproto.

One thread reads (``receive``); any thread may ``send_text`` or ``close``. The
wsproto state machine is touched only under a lock; the blocking ``recv``
happens outside it, and ``close`` shuts the socket down so a blocked reader
wakes at once. The client pings when the line has been quiet for
``ping_interval`` and gives up if no pong comes within ``ping_timeout``
(ComfyUI never pings on its own).
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time

from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Event,
    Message,
    Ping,
    Pong,
    RejectConnection,
    RejectData,
    Request,
    TextMessage,
)
from wsproto.utilities import ProtocolError

from comfy_core.errors import ConnectError, TransportTimeout, WebSocketClosed
from comfy_core.redact import redact_url
from comfy_transports.deadline import Deadline
from comfy_transports.settings import TransportSettings

__all__ = ["WsprotoConnection"]


def _refusal(event: RejectConnection) -> str:
    status = event.status_code
    location = next((v for k, v in event.headers if k.lower() == b"location"), None)
    if 300 <= status < 400 and location:
        target = redact_url(location.decode("latin-1"))
        return (
            f"the server answered the upgrade with {status}, a redirect to {target}"
            " (redirects are not followed)"
        )
    return f"the server refused the upgrade with {status}"


class WsprotoConnection:
    """A :class:`~comfy_transports.base.SyncWebSocket` over a socket and wsproto."""

    def __init__(self, sock: socket.socket, ws: WSConnection, settings: TransportSettings) -> None:
        self._sock = sock
        self._ws = ws
        self._settings = settings
        self._lock = threading.Lock()
        self._pending: list[Event] = []
        self._parts: list[str | bytes] = []
        self._size = 0
        self._closed = False
        self._last_heard = time.monotonic()
        self._ping_sent: float | None = None

    @classmethod
    def open(
        cls,
        sock: socket.socket,
        settings: TransportSettings,
        target: str,
        what: str,
        deadline: Deadline | None = None,
    ) -> WsprotoConnection:
        """Do the upgrade handshake on ``sock`` by ``deadline`` (``settings.timeout`` from
        now by default); ConnectError if the server refuses it or redirects."""
        ws = WSConnection(ConnectionType.CLIENT)
        headers = [(k.encode(), v.encode()) for k, v in settings.headers.items()]
        deadline = deadline or Deadline(settings.timeout)
        try:
            sock.settimeout(deadline.cap(settings.timeout))
            sock.sendall(ws.send(Request(host=settings.url.netloc, target=target,
                                         extra_headers=headers)))  # fmt: skip
            while True:
                if deadline.expired:
                    raise TimeoutError
                sock.settimeout(deadline.cap(settings.timeout))
                data = sock.recv(65536)
                if not data:
                    raise ConnectError(f"{what}: the server closed during the handshake")
                ws.receive_data(data)
                for event in ws.events():
                    if isinstance(event, AcceptConnection):
                        connection = cls(sock, ws, settings)
                        connection._pending.extend(ws.events())
                        return connection
                    if isinstance(event, RejectConnection):
                        raise ConnectError(f"{what}: {_refusal(event)}")
                    if isinstance(event, RejectData):
                        continue
        except TimeoutError as exc:
            sock.close()
            raise TransportTimeout(f"{what}: opening timed out") from exc
        except ConnectError:
            sock.close()
            raise
        except (OSError, ProtocolError) as exc:
            # ProtocolError: the server's answer was no HTTP upgrade response at all.
            sock.close()
            raise ConnectError(f"{what}: cannot connect ({type(exc).__name__})") from exc

    def _send(self, event: Event) -> None:
        with self._lock:
            if self._closed:
                raise WebSocketClosed("WebSocket closed")
            data = self._ws.send(event)
        try:
            self._sock.sendall(data)
        except OSError as exc:
            raise WebSocketClosed(f"WebSocket closed ({type(exc).__name__})") from exc

    def send_text(self, text: str) -> None:
        self._send(Message(data=text))

    def _keepalive(self) -> None:
        interval, limit = self._settings.ping_interval, self._settings.ping_timeout
        now = time.monotonic()
        if self._ping_sent is not None and limit is not None and now - self._ping_sent > limit:
            self.close()
            raise WebSocketClosed(f"no pong within {limit} s: the connection is dead")
        if self._ping_sent is None and interval is not None and now - self._last_heard > interval:
            self._ping_sent = now
            self._send(Ping(payload=os.urandom(4)))

    def _handle(self, event: Event) -> str | bytes | None:
        if isinstance(event, (TextMessage, BytesMessage)):
            self._parts.append(
                bytes(event.data) if isinstance(event.data, bytearray) else event.data
            )
            self._size += len(event.data)
            if self._size > self._settings.max_message_size:
                self.close()
                raise WebSocketClosed(
                    f"a message exceeded max_message_size ({self._settings.max_message_size})"
                )
            if not event.message_finished:
                return None
            parts, self._parts, self._size = self._parts, [], 0
            if isinstance(event, TextMessage):
                return "".join(p for p in parts if isinstance(p, str))
            return b"".join(p for p in parts if isinstance(p, bytes))
        if isinstance(event, Ping):
            self._send(event.response())
        elif isinstance(event, Pong):
            self._ping_sent = None
        elif isinstance(event, CloseConnection):
            with contextlib.suppress(WebSocketClosed):
                self._send(event.response())
            self.close()
            raise WebSocketClosed(f"WebSocket closed by the server ({event.code})")
        return None

    def receive(self, timeout: float | None = None) -> str | bytes | None:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            while self._pending:
                message = self._handle(self._pending.pop(0))
                if message is not None:
                    return message
            if self._closed:
                raise WebSocketClosed("WebSocket closed")
            self._keepalive()
            wait = None if deadline is None else max(0.0, deadline - time.monotonic())
            interval = self._settings.ping_interval
            if interval is not None:
                wait = interval if wait is None else min(wait, interval)
            try:
                self._sock.settimeout(wait)
                data = self._sock.recv(65536)
            except TimeoutError:
                if deadline is not None and time.monotonic() >= deadline:
                    return None
                continue
            except OSError as exc:
                self.close()
                raise WebSocketClosed(f"WebSocket closed ({type(exc).__name__})") from exc
            if not data:
                self.close()
                raise WebSocketClosed("WebSocket closed (no close frame)")
            self._last_heard = time.monotonic()
            try:
                with self._lock:
                    self._ws.receive_data(data)
                    self._pending.extend(self._ws.events())
            except ProtocolError as exc:
                self.close()
                raise WebSocketClosed(f"WebSocket failed ({type(exc).__name__})") from exc

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            try:
                data = self._ws.send(CloseConnection(code=1000))
            except Exception:  # already closing: nothing to say
                data = b""
        try:
            self._sock.settimeout(1.0)
            if data:
                self._sock.sendall(data)
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        finally:
            self._sock.close()
