"""A blocking transport on httpx's sync client (HTTP) and websockets' threading client.

httpx's timeouts bound each read; to bound each request as a whole, its
connections come from an httpcore pool of our own whose network backend caps
every read and write at the time the current request has left
(:class:`~comfy_transports.httpcore_deadline.DeadlineBackend`).
"""

from __future__ import annotations

import ssl
from collections.abc import Callable, Iterator

import httpcore
import httpx

from comfy_core.errors import TransportTimeout
from comfy_core.http import Request, Response
from comfy_transports.bodies import reader_for, with_accept_encoding
from comfy_transports.deadline import CURRENT, Deadline
from comfy_transports.httpcore_deadline import DeadlineBackend
from comfy_transports.httpx_common import build_request, mapped_errors, to_response
from comfy_transports.log_redaction import HTTPCORE_LOGGERS, redact_logger
from comfy_transports.settings import SyncConfiguredTransport
from comfy_transports.websockets_sync import SyncWebsocketsConnection, connect_sync

__all__ = ["HttpxSyncTransport"]


class _Body(httpx.SyncByteStream):
    def __init__(self, response: httpcore.Response) -> None:
        self._response = response

    def __iter__(self) -> Iterator[bytes]:
        yield from self._response.iter_stream()

    def close(self) -> None:
        self._response.close()


class _DeadlinePool(httpx.BaseTransport):
    """httpx's default transport, reduced to what we use, on a :class:`DeadlineBackend`.

    Its httpcore exceptions are left unmapped: :func:`mapped_errors` maps them.
    """

    def __init__(self, context: ssl.SSLContext, limits: httpx.Limits) -> None:
        self._pool = httpcore.ConnectionPool(
            ssl_context=context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=DeadlineBackend(),
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        assert isinstance(request.stream, httpx.SyncByteStream)
        answer = self._pool.handle_request(
            httpcore.Request(
                method=request.method,
                url=httpcore.URL(
                    scheme=request.url.raw_scheme,
                    host=request.url.raw_host,
                    port=request.url.port,
                    target=request.url.raw_path,
                ),
                headers=request.headers.raw,
                content=request.stream,
                extensions=request.extensions,
            )
        )
        return httpx.Response(
            status_code=answer.status,
            headers=answer.headers,
            stream=_Body(answer),
            extensions=answer.extensions,
        )

    def close(self) -> None:
        self._pool.close()


class HttpxSyncTransport(SyncConfiguredTransport):
    """HTTP through ``httpx.Client`` (thread-safe), WebSockets through ``websockets.sync``."""

    def _setup(self) -> None:
        redact_logger("httpx")
        for name in HTTPCORE_LOGGERS:
            redact_logger(name)
        self._ws_logger = redact_logger("comfy_transports.websockets")
        limits = httpx.Limits(max_connections=100, max_keepalive_connections=20)
        self._client = httpx.Client(
            timeout=self.settings.timeout,
            headers=with_accept_encoding(self.settings.headers),
            transport=_DeadlinePool(self.settings.ssl or ssl.create_default_context(), limits),
            follow_redirects=False,
        )

    def _exchange(
        self, request: Request, write: Callable[[bytes], object] | None, seconds: float | None
    ) -> Response:
        deadline = Deadline(seconds)
        token = CURRENT.set(deadline)
        try:
            with mapped_errors(request, self.url.netloc, self._client):
                answer = self._client.send(
                    build_request(self._client, self.url, request), stream=True
                )
                try:
                    reader = reader_for(
                        request, answer.status_code, answer.headers.get("content-encoding"), write
                    )
                    for chunk in answer.iter_raw():
                        reader.feed(chunk)
                        if reader.full:
                            break
                        if deadline.expired:  # a slow writer, not a slow server
                            raise TransportTimeout(f"{request.method} {request.path} timed out")
                    body = reader.finish()
                finally:
                    answer.close()
        except TransportTimeout as exc:
            if deadline.expired:
                what = f"{request.method} {request.path}"
                raise TransportTimeout(f"{what} took longer than {seconds} s") from exc
            raise
        finally:
            CURRENT.reset(token)
        return to_response(answer, body)

    def connect_websocket(self, client_id: str) -> SyncWebsocketsConnection:
        return connect_sync(self.settings, client_id, self._ws_logger, self.secrets)

    def close(self) -> None:
        self._client.close()
