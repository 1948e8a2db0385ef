"""The blocking pool: the async pool's methods, without ``await``, over sync clients.

    from comfy_api_client.sync import create_pool

    with create_pool(["gpu1:8188", "gpu2:8188"]) as pool:
        for item in pool.map(rows, template="portrait.template.json", out="out"):
            print(item.index, item.state, item.server)

The prompt API is generated from the async one (``sync/pool_api.py``); this module
says how the sync pool opens clients, spawns work (a thread pool) and waits.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from comfy_api_client.pooling import MAX_REQUEUES, _Relay
from comfy_api_client.sync.client import Client
from comfy_api_client.sync.create import create_client
from comfy_api_client.sync.pool_api import SyncPoolAPI
from comfy_core.errors import ClientClosedError, WaitTimeout

__all__ = ["Pool", "create_pool"]

_SLICE = 0.25  # waits in slices, so the main thread sees Ctrl-C


def _slices(timeout: float | None) -> Iterator[float]:
    """Waits of at most ``_SLICE`` seconds that together last ``timeout`` (None: forever)."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        left = _SLICE if deadline is None else deadline - time.monotonic()
        if left <= 0:
            return
        yield min(left, _SLICE)


class Pool(SyncPoolAPI):
    """A pool of sync clients, safe to share between threads; make it with :func:`create_pool`."""

    def __init__(self, urls: Sequence[str], *, max_workers: int = 32, **options: Any) -> None:
        lock = threading.RLock()
        super().__init__(list(urls), lock=lock, **options)
        self._changed = threading.Condition(lock)
        self._stopping = threading.Event()
        self._exits: dict[int, contextlib.AbstractContextManager[Client]] = {}
        self._workers = concurrent.futures.ThreadPoolExecutor(
            max_workers, thread_name_prefix="comfy-pool"
        )

    def __enter__(self) -> Pool:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _open_client(self, url: str, relay: _Relay) -> Client:
        options = dict(self.client_options)
        options["plugins"] = [*options.get("plugins", ()), relay]
        manager = create_client(url, **options)
        client = manager.__enter__()
        with self._lock:
            self._exits[id(client)] = manager
        return client

    def _close_client(self, client: Any) -> None:
        with self._lock:
            manager = self._exits.pop(id(client), None)
        if manager is not None:
            manager.__exit__(None, None, None)

    def _spawn(self, fn: Callable[..., Any], *args: Any) -> concurrent.futures.Future[Any]:
        try:
            return self._workers.submit(fn, *args)
        except RuntimeError:  # shut down: the pool closed meanwhile
            future: concurrent.futures.Future[Any] = concurrent.futures.Future()
            future.set_exception(ClientClosedError("the pool closed"))
            return future

    def _new_future(self) -> concurrent.futures.Future[Any]:
        return concurrent.futures.Future()

    def _notify(self) -> None:
        with self._changed:
            self._changed.notify_all()

    def _until(self, ready: Callable[[], bool], timeout: float | None) -> None:
        slices = _slices(timeout)
        with self._changed:
            while not ready():
                if self._closing:
                    raise ClientClosedError("the pool closed")
                step = next(slices, None)
                if step is None:
                    raise WaitTimeout(f"no server of the pool was free within {timeout:g} s")
                self._changed.wait(step)

    def _pause(self, seconds: float) -> None:
        self._stopping.wait(seconds)

    def _first(self, futures: Iterable[Any], timeout: float | None) -> set[Any]:
        waiting = list(futures)
        for step in _slices(timeout):
            done, _ = concurrent.futures.wait(waiting, step, "FIRST_COMPLETED")
            if done:
                return done
        return concurrent.futures.wait(waiting, 0)[0]

    def _result(self, future: Any, timeout: float | None) -> Any:
        for step in _slices(timeout):
            try:
                return future.result(step)
            except concurrent.futures.TimeoutError:
                continue
        if future.done():
            return future.result()
        raise WaitTimeout(f"the prompt did not finish within {timeout} s")

    def close(self) -> None:
        """Stop the health checks, close every client (pending jobs fail with
        :class:`ClientClosedError`); within about a second per server."""
        if self._closing:
            return
        self._closing = True
        self._stopping.set()
        self._notify()
        with self._lock:
            clients = list(self._clients.values())
            self._clients.clear()
        for client in clients:
            with contextlib.suppress(Exception):
                self._close_client(client)
        self._workers.shutdown(wait=False, cancel_futures=True)


@contextmanager
def create_pool(
    urls: Sequence[str],
    *,
    max_in_flight: int | None = None,
    timeout: float | None = None,
    down_after: float = 3.0,
    health_interval: float = 0.5,
    max_requeues: int = MAX_REQUEUES,
    **client_options: Any,
) -> Iterator[Pool]:
    """The blocking twin of :func:`comfy_api_client.create_pool`: same arguments
    (``client_options`` go to the sync ``create_client``), a :class:`Pool`."""
    pool = Pool(
        urls,
        max_in_flight=max_in_flight,
        timeout=timeout,
        down_after=down_after,
        health_interval=health_interval,
        max_requeues=max_requeues,
        client_options=client_options,
    )
    try:
        pool._start()
        yield pool
    finally:
        pool.close()
