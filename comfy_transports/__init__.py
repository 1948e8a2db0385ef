"""comfy_transports: the I/O adapters behind the SDK's transport interface.

``HttpxTransport`` (httpx + websockets, asyncio) is the default. Every
transport takes the SDK's own Request and returns its own Response, and maps
its library's exceptions to the ``TransportError`` tree.
"""

from comfy_transports.base import DEFAULT_MAX_MESSAGE_SIZE, AsyncTransport, AsyncWebSocket
from comfy_transports.httpx_websockets import HttpxTransport

__all__ = ["DEFAULT_MAX_MESSAGE_SIZE", "AsyncTransport", "AsyncWebSocket", "HttpxTransport"]
