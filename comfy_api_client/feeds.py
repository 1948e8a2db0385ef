"""Feeds: the I/O loops that bring the server's news to the client's session.

* :class:`WebSocketFeed` (the default) keeps one WebSocket open and is greeted
  before ``start()`` returns, so no event of the first prompt can be lost. When
  the socket drops it reconnects under a new client id, as long as the session
  says and as often, then polls the queue until every stranded prompt has
  settled (see :class:`~comfy_core.session.Session`).
* :class:`PollingFeed` asks ``GET /queue`` once per interval; only the prompts
  that left the queue get a history read, so traffic does not grow with the
  server's history.

The protocol is the session's; these are socket loops. Both stop within about
a second. ``WebsocketStateTracker`` and ``HTTPStateTracker`` are their old names.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Any

from comfy_api_client.feeding import FeedBase, PollingOptions, WebSocketOptions, feed_class
from comfy_core.errors import ComfyError, TransportTimeout, WebSocketClosed
from comfy_core.session import HANDSHAKE
from comfy_transports.base import AsyncWebSocket

if TYPE_CHECKING:
    from comfy_api_client.client import ComfyAPIClient

__all__ = ["Feed", "PollingFeed", "WebSocketFeed", "start_feed"]

log = logging.getLogger("comfy_api_client.feeds")


async def _cancel(task: asyncio.Task[Any] | None) -> None:
    if task is not None and not task.done():
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await asyncio.wait_for(task, 1.0)


class Feed(FeedBase):
    """A background task that keeps a client's session informed; ``start()``, ``stop()``."""

    client: ComfyAPIClient

    def __init__(self, client: ComfyAPIClient) -> None:
        super().__init__(client)
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        """Begin; returns once the feed is ready for the first submit."""
        if not self.is_running:
            await self._open()
            self.is_running = True
            self.client._add_feed(self)
            self._tasks.append(asyncio.get_running_loop().create_task(self._run()))

    def is_alive(self) -> bool:
        """Whether the feed's loop is running (nothing but ``stop()`` ends it)."""
        return bool(self._tasks) and not self._tasks[0].done()

    async def _open(self) -> None:
        """What must be done before ``start()`` returns."""

    async def _run(self) -> None:
        raise NotImplementedError

    async def _poll(self, interval: float, *, stranded_only: bool = False) -> None:
        # A failed check never ends the loop: the next round tries again.
        while self.is_running and (not stranded_only or self.client._session.stranded):
            try:
                await self.client._check_queue()
            except Exception as exc:
                log.info("queue check failed (%s); the next one retries", exc)
            await asyncio.sleep(interval)

    async def stop(self) -> None:
        """Stop within about a second; idempotent."""
        self.is_running = False
        self.client._remove_feed(self)
        await self._close()
        for task in self._tasks:
            await _cancel(task)

    async def _close(self) -> None:
        """Release what the task may be blocked on."""


class WebSocketFeed(WebSocketOptions, Feed):
    __doc__ = WebSocketOptions.__doc__

    async def _open(self) -> None:
        session = self.client._session
        client_id = session.connect()
        ws = await self.client._open_websocket(client_id)
        try:
            await ws.send_text(HANDSHAKE)
            await asyncio.wait_for(self._greeting(ws, client_id), self.connect_timeout)
        except asyncio.TimeoutError:
            await ws.aclose()
            raise TransportTimeout("no greeting from the server's WebSocket") from None
        except BaseException:
            await ws.aclose()
            raise
        self.websocket = ws

    async def _greeting(self, ws: AsyncWebSocket, client_id: str) -> None:
        while not self.client._session.connected_as(client_id):
            self.client._receive(await ws.receive())

    async def _run(self) -> None:
        # Nothing but stop() ends this task: whatever fails, the feed reconnects.
        while self.is_running:
            ws = self.websocket
            try:
                if ws is None:
                    raise WebSocketClosed("not connected")
                self.client._receive(await ws.receive())
                continue
            except WebSocketClosed as exc:
                log.warning("WebSocket lost (%s); reconnecting", exc)
            except Exception:
                log.exception("the WebSocket feed failed; reconnecting")
            if ws is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(ws.aclose(), 1.0)
            self.websocket = None
            await self._reconnect()

    async def _reconnect(self) -> None:
        session = self.client._session
        while self.is_running and self.websocket is None:
            await asyncio.sleep(session.connection_lost())
            try:
                await self._open()
            except Exception as exc:  # TransportError, a timeout, or a bug: try again
                log.info("reconnect failed (%s: %s); retrying", type(exc).__name__, exc)
        # The events of the gap are gone: settle the stranded prompts over HTTP.
        # One poller at a time: a running one takes in prompts stranded by this drop too.
        self._tasks = [task for task in self._tasks if not task.done()]
        if self.is_running and session.stranded and len(self._tasks) < 2:
            poll = self._poll(self.poll_interval, stranded_only=True)
            self._tasks.append(asyncio.get_running_loop().create_task(poll))

    async def _close(self) -> None:
        ws, self.websocket = self.websocket, None
        if ws is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.aclose(), 1.0)


class PollingFeed(PollingOptions, Feed):
    __doc__ = PollingOptions.__doc__

    async def _open(self) -> None:
        try:  # once per client: settle from /api/jobs/{id} where the server has it
            self.client.tracker.use_jobs_api = await self.client.has_jobs_api()
        except ComfyError as exc:
            log.info("could not tell whether the server has the jobs API (%s)", exc)

    async def _run(self) -> None:
        await self._poll(self.update_interval)


FEEDS: dict[str, type[Feed]] = {"websocket": WebSocketFeed, "http": PollingFeed}


async def start_feed(client: ComfyAPIClient, name: str, **options: Any) -> Feed:
    """Make the feed called ``name`` (``"websocket"`` or ``"http"``) and start it."""
    feed: Feed = feed_class(FEEDS, name)(client, **options)
    await feed.start()
    return feed
