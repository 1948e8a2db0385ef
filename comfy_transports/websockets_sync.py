"""The blocking WebSocket used by the requests and httpx-sync transports: websockets' own
threading client, with the same settings and error mapping as the async transport."""

from __future__ import annotations

import logging

import websockets
from websockets.sync.client import ClientConnection, connect

from comfy_core.errors import ConnectError, TransportTimeout, WebSocketClosed
from comfy_transports.settings import TransportSettings

__all__ = ["SyncWebsocketsConnection", "connect_sync"]


class SyncWebsocketsConnection:
    """A :class:`~comfy_transports.base.SyncWebSocket` over ``websockets.sync``."""

    def __init__(self, connection: ClientConnection) -> None:
        self._connection = connection

    def send_text(self, text: str) -> None:
        try:
            self._connection.send(text)
        except websockets.ConnectionClosed as exc:
            raise WebSocketClosed(f"WebSocket closed ({exc.rcvd or 'no close frame'})") from exc

    def receive(self, timeout: float | None = None) -> str | bytes | None:
        try:
            return self._connection.recv(timeout=timeout)
        except TimeoutError:
            return None
        except websockets.ConnectionClosed as exc:
            raise WebSocketClosed(f"WebSocket closed ({exc.rcvd or 'no close frame'})") from exc

    def close(self) -> None:
        # close_timeout (1 s) bounds the wait for the peer's close frame.
        self._connection.close()


def connect_sync(
    settings: TransportSettings, client_id: str, logger: logging.Logger
) -> SyncWebsocketsConnection:
    """Open ``/ws`` for ``client_id``; errors as ConnectError/TransportTimeout."""
    what = f"WebSocket {settings.url.prefix}/ws"
    try:
        connection = connect(
            settings.url.ws(client_id),
            additional_headers=dict(settings.headers),
            ssl=settings.ssl,
            max_size=settings.max_message_size,
            open_timeout=settings.timeout,
            close_timeout=1.0,
            ping_interval=settings.ping_interval,
            ping_timeout=settings.ping_timeout,
            compression=None,
            logger=logger,
            legacy=True,  # a connection object we own and close, not a context manager
        )
    except websockets.InvalidStatus as exc:
        status = exc.response.status_code
        raise ConnectError(f"{what}: the server refused the upgrade with {status}") from exc
    except TimeoutError as exc:
        raise TransportTimeout(f"{what}: opening timed out") from exc
    except websockets.InvalidURI:
        raise ConnectError(f"{what}: invalid WebSocket URL") from None
    except (OSError, websockets.InvalidHandshake) as exc:
        raise ConnectError(f"{what}: cannot connect ({type(exc).__name__})") from exc
    return SyncWebsocketsConnection(connection)
