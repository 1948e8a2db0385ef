"""The interface every transport implements, in the SDK's own types.

A transport knows bytes, status codes and frames, never ComfyUI: the core
builds each :class:`~comfy_core.http.Request` and reads each
:class:`~comfy_core.http.Response`. Exceptions from the underlying library are
mapped to the :class:`~comfy_core.errors.TransportError` tree and chained, so
callers catch one family whatever transport they picked.

To write your own, implement :class:`AsyncTransport` (and the
:class:`AsyncWebSocket` it returns) and pass an instance as
``create_client(url, transport=...)``; for the sync client, implement
:class:`SyncTransport` and :class:`SyncWebSocket` and pass it to
``comfy_api_client.sync.create_client``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, runtime_checkable

from comfy_core.http import Request, Response

__all__ = [
    "DEFAULT_MAX_MESSAGE_SIZE",
    "AsyncTransport",
    "AsyncWebSocket",
    "SyncTransport",
    "SyncWebSocket",
]

# SaveImageWebsocket sends full-size PNGs as single frames: a 4096x4096 RGBA
# PNG of noise is about 64 MiB. Bounded, unlike the original's 100 GiB.
DEFAULT_MAX_MESSAGE_SIZE = 128 * 2**20


@runtime_checkable
class AsyncWebSocket(Protocol):
    """One open WebSocket to the server's ``/ws``."""

    async def send_text(self, text: str) -> None:
        """Send one text message. Raises WebSocketClosed once the socket is closed."""

    async def receive(self) -> str | bytes:
        """The next message: ``str`` for text, ``bytes`` for binary.

        Raises WebSocketClosed when the connection ends, cleanly or not.
        """

    async def aclose(self) -> None:
        """Close within about a second, whatever the peer does; idempotent."""


@runtime_checkable
class AsyncTransport(Protocol):
    """HTTP requests and WebSocket connections to one ComfyUI server."""

    async def handle_async_request(self, request: Request) -> Response:
        """Send ``request`` and read the whole response (any status is returned, not raised)."""

    async def stream_async_request(
        self, request: Request, write: Callable[[bytes], object]
    ) -> Response:
        """Send ``request`` and hand the body to ``write`` chunk by chunk as it arrives.

        The returned response has status and headers and an empty body. For
        bodies too large to hold in memory (videos).
        """

    async def connect_websocket(self, client_id: str) -> AsyncWebSocket:
        """Open ``/ws?clientId=client_id`` with the transport's credentials and TLS settings."""

    async def aclose(self) -> None:
        """Release every connection; idempotent."""


@runtime_checkable
class SyncWebSocket(Protocol):
    """One open WebSocket, for blocking code. Safe to use from one reader thread
    while another thread calls ``close``."""

    def send_text(self, text: str) -> None:
        """Send one text message. Raises WebSocketClosed once the socket is closed."""

    def receive(self, timeout: float | None = None) -> str | bytes | None:
        """The next message, or None if none came within ``timeout`` seconds.

        Raises WebSocketClosed when the connection ends, cleanly or not.
        """

    def close(self) -> None:
        """Close within about a second, whatever the peer does; idempotent."""


@runtime_checkable
class SyncTransport(Protocol):
    """Blocking HTTP requests and WebSocket connections to one ComfyUI server.

    Must be safe to call from several threads at once.
    """

    def handle_request(self, request: Request) -> Response:
        """Send ``request`` and read the whole response (any status is returned, not raised)."""

    def stream_request(self, request: Request, write: Callable[[bytes], object]) -> Response:
        """As ``handle_request``, handing the body to ``write`` chunk by chunk."""

    def connect_websocket(self, client_id: str) -> SyncWebSocket:
        """Open ``/ws?clientId=client_id`` with the transport's credentials and TLS settings."""

    def close(self) -> None:
        """Release every connection; idempotent."""
