"""State trackers: what feeds the client's prompt tracker with news of the server.

* :class:`WebsocketStateTracker` (the default) keeps one WebSocket open, sends
  the ``feature_flags`` handshake, and waits for the greeting before
  ``start()`` returns, so no event of the first prompt can be lost. If the
  connection drops it reconnects with backoff under a *new* client id (the
  server silences a reused one, PROTOCOL.md §5.6), then polls the queue until
  every prompt submitted before the drop has settled through its history.
* :class:`HTTPStateTracker` asks ``GET /queue`` once per interval; only the
  prompts that left the queue get a ``GET /history/{id}``, so traffic does not
  grow with the server's history.

Both stop within about a second.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import json
import logging
import random
import uuid
import warnings
from typing import TYPE_CHECKING, Any

from comfy_core.errors import ComfyError, WebSocketClosed
from comfy_core.events import StatusReported
from comfy_core.messages import parse_text
from comfy_transports.base import AsyncWebSocket

if TYPE_CHECKING:
    from comfy_api_client.client import ComfyAPIClient

__all__ = [
    "BaseComfyStateTracker",
    "HTTPStateTracker",
    "WebsocketStateTracker",
    "create_comfy_state_tracker",
    "state_tracker_implementations",
]

log = logging.getLogger("comfy_api_client.trackers")

# We decode type-4 previews (they carry prompt and node ids), so ask for them.
FEATURE_FLAGS = json.dumps({"type": "feature_flags", "data": {"supports_preview_metadata": True}})


class BaseComfyStateTracker(abc.ABC):
    """Keeps a client's prompt tracker informed; ``start()`` then ``stop()``."""

    def __init__(self, client: ComfyAPIClient) -> None:
        self.client = client
        self.is_running = False

    @abc.abstractmethod
    async def start(self) -> None:
        """Begin tracking; returns once the tracker is ready for the first submit."""

    @abc.abstractmethod
    async def stop(self) -> None:
        """Stop tracking within about a second; idempotent."""


async def _cancel(task: asyncio.Task[Any] | None) -> None:
    if task is None or task.done():
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await asyncio.wait_for(task, 1.0)


class WebsocketStateTracker(BaseComfyStateTracker):
    """Track prompts over the server's WebSocket (see the module doc).

    ``connect_timeout`` bounds opening the socket and waiting for its greeting.
    ``reconnect_delay`` starts the backoff after a drop, doubling with full
    jitter up to ``max_reconnect_delay``. ``poll_interval`` paces the queue
    checks that settle prompts submitted before a reconnect. The URL scheme
    decides ws or wss; ``use_secure_websocket`` is accepted for compatibility.
    """

    def __init__(
        self,
        client: ComfyAPIClient,
        use_secure_websocket: bool | None = None,
        *,
        connect_timeout: float = 10.0,
        reconnect_delay: float = 0.25,
        max_reconnect_delay: float = 10.0,
        poll_interval: float = 0.5,
        **websocket_connect_kwargs: Any,
    ) -> None:
        super().__init__(client)
        if use_secure_websocket is not None and use_secure_websocket != (
            client.url.scheme == "https"
        ):
            warnings.warn(
                "use_secure_websocket is ignored: https URLs use wss, http URLs use ws",
                stacklevel=2,
            )
        if websocket_connect_kwargs:
            warnings.warn(
                f"ignored WebSocket options {sorted(websocket_connect_kwargs)}: "
                "configure the transport instead",
                stacklevel=2,
            )
        self.connect_timeout = connect_timeout
        self.reconnect_delay = reconnect_delay
        self.max_reconnect_delay = max_reconnect_delay
        self.poll_interval = poll_interval
        self.websocket: AsyncWebSocket | None = None
        self.reconnects = 0
        self._task: asyncio.Task[None] | None = None
        self._poll_task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self.is_running:
            return
        self.websocket = await self._connect()
        self.is_running = True
        self.client.register_state_tracker(self)
        self._task = asyncio.get_running_loop().create_task(self._read_loop())

    async def _connect(self) -> AsyncWebSocket:
        """Open a socket under a fresh client id and wait for its greeting."""
        client_id = uuid.uuid4().hex
        ws = await self.client._open_websocket(client_id)
        try:
            await ws.send_text(FEATURE_FLAGS)
            await asyncio.wait_for(self._greeting(ws), self.connect_timeout)
        except BaseException:
            await ws.aclose()
            raise
        # Submits from now on carry the id this socket is registered under.
        self.client.client_id = client_id
        return ws

    async def _greeting(self, ws: AsyncWebSocket) -> None:
        """Read until the ``status`` greeting: the server has registered the socket then."""
        while True:  # the greeting comes first; be lenient about anything before it
            message = await ws.receive()
            self.client.feed(message)
            if isinstance(message, str):
                with contextlib.suppress(ComfyError):
                    event = parse_text(message)
                    if isinstance(event, StatusReported) and event.sid is not None:
                        return

    async def _read_loop(self) -> None:
        # Nothing but stop() ends this task: whatever fails, the feed reconnects.
        while self.is_running:
            ws = self.websocket
            try:
                if ws is None:
                    raise WebSocketClosed("not connected")
                self.client.feed(await ws.receive())
                continue
            except WebSocketClosed as exc:
                if not self.is_running:
                    return
                log.warning("WebSocket lost (%s); reconnecting", exc)
            except Exception:
                if not self.is_running:
                    return
                log.exception("the WebSocket feed failed; reconnecting")
                if ws is not None:
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(ws.aclose(), 1.0)
            await self._reconnect()

    async def _reconnect(self) -> None:
        stranded = set(self.client.tracker.tracked)
        delay = self.reconnect_delay
        while self.is_running:
            try:
                self.websocket = await self._connect()
            except Exception as exc:  # TransportError, a timeout, or a bug: try again
                log.info("reconnect failed (%s: %s); retrying", type(exc).__name__, exc)
                await asyncio.sleep(random.uniform(0, delay))
                delay = min(self.max_reconnect_delay, delay * 2)
                continue
            self.reconnects += 1
            break
        # Events of the gap are gone and the old client id is silenced: settle
        # every prompt from before the drop over HTTP.
        if stranded:
            await _cancel(self._poll_task)
            self._poll_task = asyncio.get_running_loop().create_task(self._poll(stranded))

    async def _poll(self, stranded: set[str]) -> None:
        while self.is_running and stranded & self.client.tracker.tracked:
            try:
                await self.client.check_queue()
            except Exception as exc:  # never ends the poll: the next round tries again
                log.info("queue check failed (%s); retrying", exc)
            await asyncio.sleep(self.poll_interval)

    async def stop(self) -> None:
        self.is_running = False
        self.client.remove_state_tracker(self)
        ws, self.websocket = self.websocket, None
        if ws is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.aclose(), 1.0)
        await _cancel(self._poll_task)
        await _cancel(self._task)


class HTTPStateTracker(BaseComfyStateTracker):
    """Track prompts by polling ``GET /queue`` every ``update_interval`` seconds.

    Transient errors are logged and the next interval tries again; they never
    stop the tracker.
    """

    def __init__(self, client: ComfyAPIClient, update_interval: float = 0.25) -> None:
        super().__init__(client)
        self.update_interval = update_interval
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self.is_running:
            return
        try:  # once per client: settle from /api/jobs/{id} where the server has it
            self.client.tracker.use_jobs_api = await self.client.has_jobs_api()
        except ComfyError as exc:
            log.info("could not tell whether the server has the jobs API (%s)", exc)
        self.is_running = True
        self.client.register_state_tracker(self)
        self._task = asyncio.get_running_loop().create_task(self._loop())

    async def _loop(self) -> None:
        while self.is_running:
            try:
                await self.client.check_queue()
            except Exception as exc:  # never ends the task: the next interval tries again
                log.info("queue poll failed (%s); next interval retries", exc)
            await asyncio.sleep(self.update_interval)

    async def stop(self) -> None:
        self.is_running = False
        self.client.remove_state_tracker(self)
        await _cancel(self._task)


state_tracker_implementations: dict[str, type[BaseComfyStateTracker]] = {
    "websocket": WebsocketStateTracker,
    "http": HTTPStateTracker,
}


async def create_comfy_state_tracker(
    client: ComfyAPIClient, name: str, **state_tracker_kwargs: Any
) -> BaseComfyStateTracker:
    """Make the tracker called ``name`` (``"websocket"`` or ``"http"``) and start it."""
    cls = state_tracker_implementations.get(name)
    if cls is None:
        raise ValueError(
            f"Unknown Comfy client state tracker '{name}'. "
            f"Valid options are {list(state_tracker_implementations)}"
        )
    tracker = cls(client, **state_tracker_kwargs)
    await tracker.start()
    return tracker
