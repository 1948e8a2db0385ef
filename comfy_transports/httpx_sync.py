"""A blocking transport on httpx's sync client (HTTP) and websockets' threading client."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from comfy_core.http import Request, Response
from comfy_transports.httpx_common import build_request, mapped_errors, to_response
from comfy_transports.log_redaction import redact_logger
from comfy_transports.settings import ConfiguredTransport
from comfy_transports.websockets_sync import SyncWebsocketsConnection, connect_sync

__all__ = ["HttpxSyncTransport"]


class HttpxSyncTransport(ConfiguredTransport):
    """HTTP through ``httpx.Client`` (thread-safe), WebSockets through ``websockets.sync``."""

    def _setup(self) -> None:
        redact_logger("httpx")
        self._ws_logger = redact_logger("comfy_transports.websockets")
        self._client = httpx.Client(
            timeout=self.settings.timeout,
            headers=dict(self.settings.headers),
            verify=self.settings.ssl or True,
            limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
        )

    def handle_request(self, request: Request) -> Response:
        with mapped_errors(request, self.url.netloc):
            answer = self._client.send(build_request(self._client, self.url, request))
        return to_response(answer, answer.content)

    def stream_request(self, request: Request, write: Callable[[bytes], object]) -> Response:
        with mapped_errors(request, self.url.netloc):
            answer = self._client.send(build_request(self._client, self.url, request), stream=True)
            try:
                if answer.status_code < 400:
                    for chunk in answer.iter_bytes():
                        write(chunk)
                    body = b""
                else:
                    body = answer.read()
            finally:
                answer.close()
        return to_response(answer, body)

    def connect_websocket(self, client_id: str) -> SyncWebsocketsConnection:
        return connect_sync(self.settings, client_id, self._ws_logger)

    def close(self) -> None:
        self._client.close()
