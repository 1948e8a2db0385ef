"""Feeds of the sync client, each one background thread.

The same socket loops as :mod:`comfy_api_client.feeds`, with the same session
deciding: :class:`SyncWebSocketFeed` is greeted before ``start()`` returns,
reconnects when and as often as the session says, and polls the queue while
prompts are stranded; :class:`SyncPollingFeed` polls ``GET /queue`` once per
interval. ``stop()`` ends the thread within about a second.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from typing import TYPE_CHECKING, Any

from comfy_api_client.feeding import FeedBase, PollingOptions, WebSocketOptions, feed_class
from comfy_core.errors import ComfyError, TransportTimeout, WebSocketClosed
from comfy_core.session import HANDSHAKE

if TYPE_CHECKING:
    from comfy_api_client.sync.client import Client

__all__ = ["SyncFeed", "SyncPollingFeed", "SyncWebSocketFeed", "start_sync_feed"]

log = logging.getLogger("comfy_api_client.feeds")
_TICK = 0.2  # how often the thread looks up from a quiet socket


class SyncFeed(FeedBase):
    """A feed running in its own thread; ``start()`` then ``stop()``."""

    client: Client

    def __init__(self, client: Client) -> None:
        super().__init__(client)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Begin; returns once the feed is ready for the first submit."""
        if self.is_running:
            return
        self._open()
        self.is_running = True
        self.client._add_feed(self)
        self._thread = threading.Thread(target=self._run, name=type(self).__name__, daemon=True)
        self._thread.start()

    def is_alive(self) -> bool:
        """Whether the feed's loop is running (nothing but ``stop()`` ends it)."""
        return self._thread is not None and self._thread.is_alive()

    def _open(self) -> None:
        """What must be done before ``start()`` returns."""

    def _run(self) -> None:
        raise NotImplementedError

    def _check_queue(self) -> None:
        try:  # a failed check never ends the thread: the next round tries again
            self.client._check_queue()
        except Exception as exc:
            log.info("queue check failed (%s); the next one retries", exc)

    def stop(self) -> None:
        """Stop within about a second; idempotent."""
        self.is_running = False
        self._stop.set()
        self.client._remove_feed(self)
        self._close()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(1.0)

    def _close(self) -> None:
        """Release what the thread may be blocked on."""


class SyncWebSocketFeed(WebSocketOptions, SyncFeed):
    __doc__ = WebSocketOptions.__doc__

    def _open(self) -> None:
        session = self.client._session
        with self.client._lock:  # the session is shared with the client's other threads
            client_id = session.connect()
        ws = self.client._open_websocket(client_id)
        try:
            ws.send_text(HANDSHAKE)
            deadline = time.monotonic() + self.connect_timeout
            while not session.connected_as(client_id):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TransportTimeout("no greeting from the server's WebSocket")
                message = ws.receive(timeout=left)
                if message is not None:
                    self.client._receive(message)
        except BaseException:
            ws.close()
            raise
        self.websocket = ws

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
                    self.client._receive(message)
            except WebSocketClosed as exc:
                if not self._stop.is_set():
                    log.warning("WebSocket lost (%s); reconnecting", exc)
                    self._reconnect()
                continue
            except Exception:
                if not self._stop.is_set():
                    log.exception("the WebSocket feed failed; reconnecting")
                    self._reconnect()
                continue
            # The events of the gap are gone: settle the stranded prompts over HTTP.
            if time.monotonic() - last_poll >= self.poll_interval and self._stranded():
                last_poll = time.monotonic()
                self._check_queue()

    def _stranded(self) -> bool:
        with self.client._lock:
            return bool(self.client._session.stranded)

    def _connection_lost(self) -> float:
        with self.client._lock:
            return self.client._session.connection_lost()

    def _reconnect(self) -> None:
        self._close()
        while not self._stop.wait(self._connection_lost()):
            try:
                self._open()
                return
            except Exception as exc:  # TransportError, or a bug: try again
                log.info("reconnect failed (%s: %s); retrying", type(exc).__name__, exc)

    def _close(self) -> None:
        ws, self.websocket = self.websocket, None
        if ws is not None:
            with contextlib.suppress(Exception):
                ws.close()


class SyncPollingFeed(PollingOptions, SyncFeed):
    __doc__ = PollingOptions.__doc__

    def _open(self) -> None:
        try:  # once per client: settle from /api/jobs/{id} where the server has it
            self.client.tracker.use_jobs_api = self.client.has_jobs_api()
        except ComfyError as exc:
            log.info("could not tell whether the server has the jobs API (%s)", exc)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._check_queue()
            self._stop.wait(self.update_interval)


SYNC_FEEDS: dict[str, type[SyncFeed]] = {"websocket": SyncWebSocketFeed, "http": SyncPollingFeed}


def start_sync_feed(client: Client, name: str, **options: Any) -> SyncFeed:
    """Make the feed called ``name`` (``"websocket"`` or ``"http"``) and start it."""
    feed: SyncFeed = feed_class(SYNC_FEEDS, name)(client, **options)
    feed.start()
    return feed
