"""WebSockets that tell the plugins what goes through them (for recorders and debugging).

The clients wrap every socket their trackers open, so the ``comfy_websocket_*``
hooks see each message exactly as it crossed the wire.
"""

from __future__ import annotations

from comfy_api_client.plugins import Hooks
from comfy_core.errors import WebSocketClosed
from comfy_transports.base import AsyncWebSocket, SyncWebSocket

__all__ = ["ObservedAsyncWebSocket", "ObservedSyncWebSocket"]


class ObservedAsyncWebSocket:
    def __init__(self, ws: AsyncWebSocket, hooks: Hooks, client_id: str) -> None:
        self._ws, self._hooks, self.client_id = ws, hooks, client_id
        self._closed = False
        hooks.websocket_opened(client_id)

    async def send_text(self, text: str) -> None:
        await self._ws.send_text(text)
        self._hooks.websocket_message(self.client_id, text, True)

    async def receive(self) -> str | bytes:
        try:
            message = await self._ws.receive()
        except WebSocketClosed:
            self._closing()
            raise
        self._hooks.websocket_message(self.client_id, message, False)
        return message

    def _closing(self) -> None:
        if not self._closed:
            self._closed = True
            self._hooks.websocket_closed(self.client_id)

    async def aclose(self) -> None:
        try:
            await self._ws.aclose()
        finally:
            self._closing()


class ObservedSyncWebSocket:
    def __init__(self, ws: SyncWebSocket, hooks: Hooks, client_id: str) -> None:
        self._ws, self._hooks, self.client_id = ws, hooks, client_id
        self._closed = False
        hooks.websocket_opened(client_id)

    def send_text(self, text: str) -> None:
        self._ws.send_text(text)
        self._hooks.websocket_message(self.client_id, text, True)

    def receive(self, timeout: float | None = None) -> str | bytes | None:
        try:
            message = self._ws.receive(timeout)
        except WebSocketClosed:
            self._closing()
            raise
        if message is not None:
            self._hooks.websocket_message(self.client_id, message, False)
        return message

    def _closing(self) -> None:
        if not self._closed:
            self._closed = True
            self._hooks.websocket_closed(self.client_id)

    def close(self) -> None:
        try:
            self._ws.close()
        finally:
            self._closing()
