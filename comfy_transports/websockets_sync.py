"""The blocking WebSocket used by the requests and httpx-sync transports: websockets' own
threading client, with the same settings and error mapping as the async transport."""

from __future__ import annotations

import logging

import websockets
from websockets.sync.client import ClientConnection

from comfy_core.errors import WebSocketClosed
from comfy_transports.scrub import scrubbed
from comfy_transports.settings import TransportSettings
from comfy_transports.websockets_common import (
    SyncConnectNoRedirect,
    closed_error,
    connect_options,
    mapped_connect_errors,
)

__all__ = ["SyncWebsocketsConnection", "connect_sync"]


class SyncWebsocketsConnection:
    """A :class:`~comfy_transports.base.SyncWebSocket` over ``websockets.sync``."""

    def __init__(self, connection: ClientConnection, secrets: tuple[str, ...] = ()) -> None:
        self._connection = connection
        self._secrets = secrets  # a close reason may echo them

    def send_text(self, text: str) -> None:
        with scrubbed(self._secrets):
            try:
                self._connection.send(text)
            except websockets.ConnectionClosed as exc:
                raise closed_error(exc) from exc
            except (OSError, websockets.WebSocketException) as exc:
                raise WebSocketClosed(f"WebSocket failed ({type(exc).__name__})") from exc

    def receive(self, timeout: float | None = None) -> str | bytes | None:
        with scrubbed(self._secrets):
            try:
                return self._connection.recv(timeout=timeout)
            except TimeoutError:
                return None
            except websockets.ConnectionClosed as exc:
                raise closed_error(exc) from exc
            except (OSError, websockets.WebSocketException) as exc:
                raise WebSocketClosed(f"WebSocket failed ({type(exc).__name__})") from exc

    def close(self) -> None:
        # close_timeout (1 s) bounds the wait for the peer's close frame.
        self._connection.close()


def connect_sync(
    settings: TransportSettings,
    client_id: str,
    logger: logging.Logger,
    secrets: tuple[str, ...] = (),
) -> SyncWebsocketsConnection:
    """Open ``/ws`` for ``client_id``, following no redirect; errors as
    ConnectError/TransportTimeout, their chains scrubbed of ``secrets``."""
    with scrubbed(secrets), mapped_connect_errors(f"WebSocket {settings.url.prefix}/ws"):
        # A connection object we own and close, not a context manager.
        connection = SyncConnectNoRedirect(
            settings.url.ws(client_id), **connect_options(settings, logger)
        ).connect()
    connection.pending_legacy_warning = False  # what connect(legacy=True) does
    return SyncWebsocketsConnection(connection, secrets)
