"""State trackers of the sync client, each one background thread.

They do what the async trackers do (see ``comfy_api_client.trackers``): the
WebSocket tracker greets the server before ``start()`` returns, reconnects
under a fresh client id, then polls the queue until the prompts stranded by the
drop have settled; the HTTP tracker polls ``GET /queue`` once per interval.
``stop()`` ends the thread within about a second.
"""

from __future__ import annotations

import abc
import contextlib
import logging
import random
import threading
import time
import uuid
from typing import TYPE_CHECKING, Any

from comfy_api_client.trackers import FEATURE_FLAGS
from comfy_core.errors import ComfyError, TransportTimeout, WebSocketClosed
from comfy_core.events import StatusReported
from comfy_core.messages import parse_text
from comfy_transports.base import SyncWebSocket

if TYPE_CHECKING:
    from comfy_api_client.sync.client import Client

__all__ = [
    "SyncHTTPStateTracker",
    "SyncStateTracker",
    "SyncWebsocketStateTracker",
    "create_sync_state_tracker",
]

log = logging.getLogger("comfy_api_client.trackers")
_TICK = 0.2  # how often the thread looks up from a quiet socket


class SyncStateTracker(abc.ABC):
    """A tracker running in its own thread; ``start()`` then ``stop()``."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.is_running = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _launch(self, target: Any) -> None:
        self.is_running = True
        self.client.register_state_tracker(self)
        self._thread = threading.Thread(target=target, name=type(self).__name__, daemon=True)
        self._thread.start()

    @abc.abstractmethod
    def start(self) -> None:
        """Begin tracking; returns once the tracker is ready for the first submit."""

    def stop(self) -> None:
        """Stop tracking within about a second; idempotent."""
        self.is_running = False
        self._stop.set()
        self.client.remove_state_tracker(self)
        self._close()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(1.0)

    def _close(self) -> None:  # noqa: B027 - optional: most trackers block on nothing
        """Release what the thread may be blocked on."""


class SyncWebsocketStateTracker(SyncStateTracker):
    """Track prompts over the WebSocket (see the module doc and the async tracker)."""

    def __init__(
        self,
        client: Client,
        *,
        connect_timeout: float = 10.0,
        reconnect_delay: float = 0.25,
        max_reconnect_delay: float = 10.0,
        poll_interval: float = 0.5,
    ) -> None:
        super().__init__(client)
        self.connect_timeout = connect_timeout
        self.reconnect_delay = reconnect_delay
        self.max_reconnect_delay = max_reconnect_delay
        self.poll_interval = poll_interval
        self.websocket: SyncWebSocket | None = None
        self.reconnects = 0
        self._stranded: set[str] = set()

    def start(self) -> None:
        if self.is_running:
            return
        self.websocket = self._connect()
        self._launch(self._run)

    def _connect(self) -> SyncWebSocket:
        client_id = uuid.uuid4().hex
        ws = self.client._open_websocket(client_id)
        try:
            ws.send_text(FEATURE_FLAGS)
            deadline = time.monotonic() + self.connect_timeout
            while True:  # the greeting: the server has registered the socket then
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TransportTimeout("no greeting from the server's WebSocket")
                message = ws.receive(timeout=left)
                if message is None:
                    continue
                self.client.feed(message)
                if isinstance(message, str):
                    with contextlib.suppress(ComfyError):
                        event = parse_text(message)
                        if isinstance(event, StatusReported) and event.sid is not None:
                            break
        except BaseException:
            ws.close()
            raise
        self.client.client_id = client_id
        return ws

    def _run(self) -> None:
        # Nothing but stop() ends this thread: whatever fails, the feed reconnects.
        last_poll = 0.0
        while not self._stop.is_set():
            ws = self.websocket
            try:
                if ws is None:
                    raise WebSocketClosed("not connected")
                message = ws.receive(timeout=_TICK)
                if message is not None:
                    self.client.feed(message)
            except WebSocketClosed as exc:
                if self._stop.is_set():
                    return
                log.warning("WebSocket lost (%s); reconnecting", exc)
                self._reconnect()
                continue
            except Exception:
                if self._stop.is_set():
                    return
                log.exception("the WebSocket feed failed; reconnecting")
                if ws is not None:
                    with contextlib.suppress(Exception):
                        ws.close()
                self._reconnect()
                continue
            stranded = self._stranded & self.client.tracker.tracked
            if stranded and time.monotonic() - last_poll >= self.poll_interval:
                last_poll = time.monotonic()
                try:
                    self.client.check_queue()
                except Exception as exc:
                    log.info("queue check failed (%s); retrying", exc)

    def _reconnect(self) -> None:
        self._stranded |= set(self.client.tracker.tracked)
        delay = self.reconnect_delay
        while not self._stop.is_set():
            try:
                self.websocket = self._connect()
            except Exception as exc:  # TransportError, or a bug: try again
                log.info("reconnect failed (%s: %s); retrying", type(exc).__name__, exc)
                self._stop.wait(random.uniform(0, delay))
                delay = min(self.max_reconnect_delay, delay * 2)
                continue
            self.reconnects += 1
            return

    def _close(self) -> None:
        ws, self.websocket = self.websocket, None
        if ws is not None:
            with contextlib.suppress(Exception):
                ws.close()


class SyncHTTPStateTracker(SyncStateTracker):
    """Track prompts by polling ``GET /queue`` every ``update_interval`` seconds."""

    def __init__(self, client: Client, update_interval: float = 0.25) -> None:
        super().__init__(client)
        self.update_interval = update_interval

    def start(self) -> None:
        if self.is_running:
            return
        try:  # once per client: settle from /api/jobs/{id} where the server has it
            self.client.tracker.use_jobs_api = self.client.has_jobs_api()
        except ComfyError as exc:
            log.info("could not tell whether the server has the jobs API (%s)", exc)
        self._launch(self._run)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.client.check_queue()
            except Exception as exc:  # never ends the thread: the next interval tries again
                log.info("queue poll failed (%s); next interval retries", exc)
            self._stop.wait(self.update_interval)


_TRACKERS: dict[str, type[SyncStateTracker]] = {
    "websocket": SyncWebsocketStateTracker,
    "http": SyncHTTPStateTracker,
}


def create_sync_state_tracker(client: Client, name: str, **kwargs: Any) -> SyncStateTracker:
    """Make the tracker called ``name`` (``"websocket"`` or ``"http"``) and start it."""
    cls = _TRACKERS.get(name)
    if cls is None:
        raise ValueError(
            f"Unknown Comfy client state tracker '{name}'. Valid options are {list(_TRACKERS)}"
        )
    tracker = cls(client, **kwargs)
    tracker.start()
    return tracker
