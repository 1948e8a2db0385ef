"""create_pool: one async client per server, least-loaded routing, failover, batches.

    from comfy_api_client import create_pool

    async with create_pool(["gpu1:8188", "gpu2:8188"]) as pool:
        result = await pool.run(workflow, timeout=600)
        async for item in pool.map(rows, template="portrait.template.json", out="out"):
            print(item.index, item.state, item.server)

The decisions are in :class:`~comfy_api_client.pooling.PoolBase` and the
prompt API in :mod:`comfy_api_client.pool_api`; this module only says how the
async pool opens clients, spawns work and waits (docs/pool.md).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from typing import Any

from comfy_api_client.client import ComfyAPIClient
from comfy_api_client.create import create_client
from comfy_api_client.pool_api import AsyncPoolAPI
from comfy_api_client.pooling import MAX_REQUEUES, _Relay
from comfy_core.errors import ClientClosedError, WaitTimeout
from comfy_transports.timeouts import bounded

__all__ = ["AsyncPool", "create_pool"]


class AsyncPool(AsyncPoolAPI):
    """A pool of async clients; make it with :func:`create_pool`."""

    def __init__(self, urls: Sequence[str], **options: Any) -> None:
        super().__init__(list(urls), lock=contextlib.nullcontext(), **options)
        self._exits: dict[int, contextlib.AbstractAsyncContextManager[ComfyAPIClient]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._changed = asyncio.Event()
        self._closed = asyncio.Event()

    async def _open_client(self, url: str, relay: _Relay) -> ComfyAPIClient:
        options = dict(self.client_options)
        options["plugins"] = [*options.get("plugins", ()), relay]
        manager = create_client(url, **options)
        client = await manager.__aenter__()
        self._exits[id(client)] = manager
        return client

    async def _close_client(self, client: Any) -> None:
        manager = self._exits.pop(id(client), None)
        if manager is not None:
            await manager.__aexit__(None, None, None)

    def _spawn(self, fn: Callable[..., Any], *args: Any) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(fn(*args))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _new_future(self) -> asyncio.Future[Any]:
        return asyncio.get_running_loop().create_future()

    def _notify(self) -> None:
        # A new Event per change: every waiter of the old one wakes, later ones wait anew.
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def _until(self, ready: Callable[[], bool], timeout: float | None) -> None:
        deadline = None if timeout is None else asyncio.get_running_loop().time() + timeout
        while not ready():
            if self._closing:
                raise ClientClosedError("the pool closed")
            changed = self._changed
            left = None if deadline is None else deadline - asyncio.get_running_loop().time()
            if left is not None and left <= 0:
                raise WaitTimeout(f"no server of the pool was free within {timeout:g} s")
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(changed.wait(), left)

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._closed.wait(), seconds)

    async def _first(self, futures: Iterable[Any], timeout: float | None) -> set[Any]:
        done: set[Any]
        done, _ = await asyncio.wait(list(futures), timeout=timeout,
                                     return_when=asyncio.FIRST_COMPLETED)  # fmt: skip
        return done

    async def _result(self, future: Any, timeout: float | None) -> Any:
        try:
            return await bounded(asyncio.shield(future), timeout)
        except asyncio.TimeoutError as exc:
            raise WaitTimeout(f"the prompt did not finish within {timeout} s") from exc

    async def aclose(self) -> None:
        """Stop the health checks, close every client (pending jobs fail with
        :class:`ClientClosedError`); within about a second per server."""
        if self._closing:
            return
        self._closing = True
        self._closed.set()
        self._notify()
        for client in list(self._clients.values()):
            with contextlib.suppress(Exception):
                await self._close_client(client)
        self._clients.clear()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=1.0)


@asynccontextmanager
async def create_pool(
    urls: Sequence[str],
    *,
    max_in_flight: int | None = None,
    timeout: float | None = None,
    down_after: float = 3.0,
    health_interval: float = 0.5,
    max_requeues: int = MAX_REQUEUES,
    **client_options: Any,
) -> AsyncIterator[AsyncPool]:
    """Connect to every server in ``urls`` and yield a ready :class:`AsyncPool`.

    ``client_options`` go to each server's :func:`create_client` (``transport``,
    ``token``, ``start_state_tracker``...). At least one server must answer; the
    others are down and health-checked every ``health_interval`` seconds until
    they answer. ``max_in_flight`` bounds the pool's prompts per server (None: no
    bound). A server whose WebSocket (or, when polling, whose queue) does not
    answer for ``down_after`` seconds is marked down and its unsettled prompts go
    elsewhere, each at most ``max_requeues`` times. ``timeout`` is the default of
    ``wait``/``run`` and of waiting for a free server. Leaving the block closes
    every client; jobs still pending fail with ``ClientClosedError``.
    """
    pool = AsyncPool(
        urls,
        max_in_flight=max_in_flight,
        timeout=timeout,
        down_after=down_after,
        health_interval=health_interval,
        max_requeues=max_requeues,
        client_options=client_options,
    )
    try:
        await pool._start()
        yield pool
    finally:
        await pool.aclose()
