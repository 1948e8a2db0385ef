"""comfy_transports: the I/O adapters behind the SDK's transport interfaces.

| name | class | kind | HTTP | WebSocket |
|---|---|---|---|---|
| ``"httpx"`` | ``HttpxTransport`` | async (default) | httpx | websockets (asyncio) |
| ``"requests"`` | ``RequestsTransport`` | sync (default) | requests | websockets (threads) |
| ``"httpx"`` | ``HttpxSyncTransport`` | sync | httpx | websockets (threads) |
| ``"sockets"`` | ``RawSocketTransport`` | sync | h11 on a socket | wsproto on a socket |

Every transport takes the SDK's own Request and returns its own Response, and
maps its library's exceptions to the ``TransportError`` tree.
"""

from comfy_transports.base import (
    DEFAULT_MAX_MESSAGE_SIZE,
    AsyncTransport,
    AsyncWebSocket,
    SyncTransport,
    SyncWebSocket,
)
from comfy_transports.httpx_sync import HttpxSyncTransport
from comfy_transports.httpx_websockets import HttpxTransport
from comfy_transports.raw_sockets import RawSocketTransport
from comfy_transports.requests_websockets import RequestsTransport

ASYNC_TRANSPORTS: dict[str, type[HttpxTransport]] = {"httpx": HttpxTransport}
SYNC_TRANSPORTS: dict[str, type[RequestsTransport | HttpxSyncTransport | RawSocketTransport]] = {
    "requests": RequestsTransport,
    "httpx": HttpxSyncTransport,
    "sockets": RawSocketTransport,
}

__all__ = [
    "ASYNC_TRANSPORTS",
    "DEFAULT_MAX_MESSAGE_SIZE",
    "SYNC_TRANSPORTS",
    "AsyncTransport",
    "AsyncWebSocket",
    "HttpxSyncTransport",
    "HttpxTransport",
    "RawSocketTransport",
    "RequestsTransport",
    "SyncTransport",
    "SyncWebSocket",
]
