"""The default asyncio transport: httpx for HTTP, websockets for ``/ws``.

Both sides get the same credentials (extra headers, a bearer ``token``, Basic
auth from ``auth`` or from ``user:pass@`` in the URL, query parameters such as
``?token=`` from the URL) and the same TLS settings, and neither sends an
``Origin`` header (ComfyUI answers a foreign Origin on a loopback host with an
empty 403). Library exceptions become :mod:`comfy_core.errors` transport
errors whose messages name the method and path, never the query or credentials,
and whose chains are scrubbed of credentials. Neither side follows a redirect.
Each request as a whole is bounded by ``timeout`` (``download_timeout`` when
streamed), through ``bounded`` (``asyncio.wait_for`` without its extra task).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx
import websockets
import websockets.asyncio.client
from websockets.asyncio.client import ClientConnection

from comfy_core.errors import TransportTimeout, WebSocketClosed
from comfy_core.http import Request, Response
from comfy_transports.bodies import reader_for, with_accept_encoding
from comfy_transports.httpx_common import build_request, mapped_errors, to_response
from comfy_transports.log_redaction import HTTPCORE_LOGGERS, redact_logger
from comfy_transports.scrub import scrubbed
from comfy_transports.settings import ConfiguredTransport
from comfy_transports.timeouts import bounded
from comfy_transports.websockets_common import (
    closed_error,
    connect_options,
    mapped_connect_errors,
)

__all__ = ["HttpxTransport", "WebsocketsConnection"]


class AsyncConnectNoRedirect(websockets.asyncio.client.connect):
    """websockets' asyncio ``connect``, with every redirect refused (raised as is)."""

    def process_redirect(self, exc: Exception) -> Exception | str:
        return exc


class WebsocketsConnection:
    """An :class:`~comfy_transports.base.AsyncWebSocket` over a websockets connection."""

    def __init__(self, connection: ClientConnection, secrets: tuple[str, ...] = ()) -> None:
        self._connection = connection
        self._secrets = secrets  # a close reason may echo them

    async def send_text(self, text: str) -> None:
        with scrubbed(self._secrets):
            try:
                await self._connection.send(text)
            except websockets.ConnectionClosed as exc:
                raise closed_error(exc) from exc
            except (OSError, websockets.WebSocketException) as exc:
                raise WebSocketClosed(f"WebSocket failed ({type(exc).__name__})") from exc

    async def receive(self) -> str | bytes:
        with scrubbed(self._secrets):
            try:
                return await self._connection.recv()
            except websockets.ConnectionClosed as exc:
                raise closed_error(exc) from exc
            except (OSError, websockets.WebSocketException) as exc:
                raise WebSocketClosed(f"WebSocket failed ({type(exc).__name__})") from exc

    async def aclose(self) -> None:
        # close_timeout (1 s) bounds the wait for the peer's close frame.
        await self._connection.close()


class HttpxTransport(ConfiguredTransport):
    """HTTP through an ``httpx.AsyncClient`` and WebSockets through ``websockets``.

    ``timeout`` bounds each HTTP request as a whole and the opening of the
    WebSocket; ``download_timeout`` a streamed download. ``verify`` is True
    (system CAs), False (no verification), a CA bundle path, or an
    ``ssl.SSLContext``. ``max_message_size`` bounds one WebSocket message.
    ``ping_interval`` and ``ping_timeout`` make websockets ping the server
    (which never pings): a dead connection is noticed within 25 s by default.
    """

    def _setup(self) -> None:
        redact_logger("httpx")  # it logs each URL, query (and so ?token=) included
        for name in HTTPCORE_LOGGERS:  # they log response headers at DEBUG (Location)
            redact_logger(name)
        self._ws_logger = redact_logger("comfy_transports.websockets")
        self._client = httpx.AsyncClient(
            timeout=self.settings.timeout,
            headers=with_accept_encoding(self.settings.headers),
            verify=self.settings.ssl or True,
            limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
            follow_redirects=False,
        )

    async def handle_async_request(self, request: Request) -> Response:
        with self._scrubbed():
            return await self._bounded(request, None, self.settings.timeout)

    async def stream_async_request(
        self, request: Request, write: Callable[[bytes], object]
    ) -> Response:
        with self._scrubbed():
            return await self._bounded(request, write, self.settings.download_timeout)

    async def _bounded(
        self, request: Request, write: Callable[[bytes], object] | None, seconds: float | None
    ) -> Response:
        try:
            return await bounded(self._exchange(request, write), seconds)
        except asyncio.TimeoutError as exc:
            what = f"{request.method} {request.path}"
            raise TransportTimeout(f"{what} took longer than {seconds} s") from exc

    async def _exchange(
        self, request: Request, write: Callable[[bytes], object] | None
    ) -> Response:
        with mapped_errors(request, self.url.netloc, self._client):
            answer = await self._client.send(
                build_request(self._client, self.url, request), stream=True
            )
            try:
                reader = reader_for(
                    request, answer.status_code, answer.headers.get("content-encoding"), write
                )
                async for chunk in answer.aiter_raw():
                    reader.feed(chunk)
                    if reader.full:
                        break
                body = reader.finish()
            finally:
                await answer.aclose()
        return to_response(answer, body)

    async def connect_websocket(self, client_id: str) -> WebsocketsConnection:
        with self._scrubbed(), mapped_connect_errors(f"WebSocket {self.url.prefix}/ws"):
            connection = await AsyncConnectNoRedirect(
                self.url.ws(client_id), **connect_options(self.settings, self._ws_logger)
            )
        return WebsocketsConnection(connection, self.secrets)

    async def aclose(self) -> None:
        await self._client.aclose()
