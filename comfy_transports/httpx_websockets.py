"""The default asyncio transport: httpx for HTTP, websockets for ``/ws``.

Both sides get the same credentials (extra headers, a bearer ``token``, Basic
auth from ``auth`` or from ``user:pass@`` in the URL, query parameters such as
``?token=`` from the URL) and the same TLS settings, and neither sends
an ``Origin`` header (ComfyUI answers a foreign Origin on a loopback host with
an empty 403). Library exceptions become :mod:`comfy_core.errors` transport
errors whose messages name the method and path, never the query or credentials.
"""

from __future__ import annotations

import asyncio
import base64
import ssl
from collections.abc import Callable, Mapping

import httpx
import websockets
from websockets.asyncio.client import ClientConnection, connect

from comfy_core.errors import ConnectError, NetworkError, TransportTimeout, WebSocketClosed
from comfy_core.http import Request, Response
from comfy_core.urls import ServerURL
from comfy_transports.base import DEFAULT_MAX_MESSAGE_SIZE
from comfy_transports.log_redaction import redact_logger

__all__ = ["HttpxTransport", "WebsocketsConnection"]

Verify = bool | str | ssl.SSLContext


def _ssl_context(verify: Verify) -> ssl.SSLContext:
    if isinstance(verify, ssl.SSLContext):
        return verify
    if isinstance(verify, str):
        return ssl.create_default_context(cafile=verify)
    context = ssl.create_default_context()
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


class WebsocketsConnection:
    """An :class:`~comfy_transports.base.AsyncWebSocket` over a websockets connection."""

    def __init__(self, connection: ClientConnection) -> None:
        self._connection = connection

    async def send_text(self, text: str) -> None:
        try:
            await self._connection.send(text)
        except websockets.ConnectionClosed as exc:
            raise WebSocketClosed(f"WebSocket closed ({exc.rcvd or 'no close frame'})") from exc

    async def receive(self) -> str | bytes:
        try:
            return await self._connection.recv()
        except websockets.ConnectionClosed as exc:
            raise WebSocketClosed(f"WebSocket closed ({exc.rcvd or 'no close frame'})") from exc

    async def aclose(self) -> None:
        # close_timeout (1 s) bounds the wait for the peer's close frame.
        await self._connection.close()


class HttpxTransport:
    """HTTP through an ``httpx.AsyncClient`` and WebSockets through ``websockets``.

    ``timeout`` applies to each HTTP request and to opening the WebSocket.
    ``verify`` is True (system CAs), False (no verification), a CA bundle path,
    or an ``ssl.SSLContext``. ``max_message_size`` bounds one WebSocket message.
    ``ping_interval`` and ``ping_timeout`` make websockets ping the server
    (which never pings) so that a dead connection is noticed.
    """

    def __init__(
        self,
        base_url: str | ServerURL,
        *,
        timeout: float | None = 30.0,
        headers: Mapping[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        token: str | None = None,
        verify: Verify = True,
        max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
        ping_interval: float | None = 20.0,
        ping_timeout: float | None = 20.0,
    ) -> None:
        self.url = base_url if isinstance(base_url, ServerURL) else ServerURL.parse(base_url)
        if auth is None and self.url.username is not None:
            auth = (self.url.username, self.url.password or "")
        self._headers = dict(headers or {})
        if auth is not None:
            basic = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
            self._headers["Authorization"] = f"Basic {basic}"
        if token is not None:
            self._headers["Authorization"] = f"Bearer {token}"
        self._timeout = timeout
        self._ssl = _ssl_context(verify) if self.url.scheme == "https" else None
        self._max_message_size = max_message_size
        self._ping_interval = ping_interval
        self._ping_timeout = ping_timeout
        redact_logger("httpx")  # it logs each URL, query (and so ?token=) included
        self._ws_logger = redact_logger("comfy_transports.websockets")
        self._client = httpx.AsyncClient(
            timeout=timeout,
            headers=self._headers,
            verify=self._ssl or True,
            limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
        )

    def __repr__(self) -> str:
        return f"HttpxTransport({self.url.base!r})"

    async def handle_async_request(self, request: Request) -> Response:
        what = f"{request.method} {request.path}"
        try:
            answer = await self._client.request(
                request.method,
                self.url.http(request.path),
                params=[*self.url.params, *request.params],
                headers=list(request.headers),
                content=request.body or None,
            )
        except httpx.TimeoutException as exc:
            raise TransportTimeout(f"{what} timed out ({type(exc).__name__})") from exc
        except httpx.ConnectError as exc:
            raise ConnectError(f"{what}: cannot connect to {self.url.netloc}") from exc
        except httpx.TransportError as exc:
            raise NetworkError(f"{what} failed: {type(exc).__name__}") from exc
        return Response(
            status=answer.status_code,
            headers=tuple((k.lower(), v) for k, v in answer.headers.multi_items()),
            body=answer.content,
        )

    async def stream_async_request(
        self, request: Request, write: Callable[[bytes], object]
    ) -> Response:
        what = f"{request.method} {request.path}"
        try:
            async with self._client.stream(
                request.method,
                self.url.http(request.path),
                params=[*self.url.params, *request.params],
                headers=list(request.headers),
                content=request.body or None,
            ) as answer:
                if answer.status_code < 400:
                    async for chunk in answer.aiter_bytes():
                        write(chunk)
                    body = b""
                else:
                    body = await answer.aread()
        except httpx.TimeoutException as exc:
            raise TransportTimeout(f"{what} timed out ({type(exc).__name__})") from exc
        except httpx.ConnectError as exc:
            raise ConnectError(f"{what}: cannot connect to {self.url.netloc}") from exc
        except httpx.TransportError as exc:
            raise NetworkError(f"{what} failed: {type(exc).__name__}") from exc
        headers = tuple((k.lower(), v) for k, v in answer.headers.multi_items())
        return Response(status=answer.status_code, headers=headers, body=body)

    async def connect_websocket(self, client_id: str) -> WebsocketsConnection:
        what = f"WebSocket {self.url.prefix}/ws"
        try:
            connection = await connect(
                self.url.ws(client_id),
                additional_headers=self._headers,
                ssl=self._ssl,
                max_size=self._max_message_size,
                open_timeout=self._timeout,
                close_timeout=1.0,
                ping_interval=self._ping_interval,
                ping_timeout=self._ping_timeout,
                compression=None,
                logger=self._ws_logger,  # it logs handshake headers at DEBUG
            )
        except websockets.InvalidStatus as exc:
            status = exc.response.status_code
            raise ConnectError(f"{what}: the server refused the upgrade with {status}") from exc
        except (TimeoutError, asyncio.TimeoutError) as exc:
            raise TransportTimeout(f"{what}: opening timed out") from exc
        except websockets.InvalidURI:
            # Its message holds the whole URL, query credentials included.
            raise ConnectError(f"{what}: invalid WebSocket URL") from None
        except (OSError, websockets.InvalidHandshake) as exc:
            raise ConnectError(f"{what}: cannot connect ({type(exc).__name__})") from exc
        return WebsocketsConnection(connection)

    async def aclose(self) -> None:
        await self._client.aclose()
