"""Every (client, transport) pair behind one blocking interface, for the conformance suite.

The sync client is used as is. The async client runs on an event loop in a
thread of its own, and :class:`AsyncProxy` turns each of its coroutine methods
into a blocking call, so one scenario serves both clients unchanged.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from comfy_api_client import create_client
from comfy_api_client.sync import create_client as create_sync_client

PAIRS = [("async", "httpx"), ("sync", "requests"), ("sync", "httpx"), ("sync", "sockets")]


class AsyncProxy:
    """Blocking calls into an async client living on ``loop`` in another thread."""

    def __init__(self, client: Any, loop: asyncio.AbstractEventLoop) -> None:
        self.client = client
        self.loop = loop

    def __getattr__(self, name: str) -> Any:
        value = getattr(self.client, name)
        if name == "events":
            return lambda prompt: self._iterate(value(prompt))
        if not callable(value):
            return value

        def call(*args: Any, **kwargs: Any) -> Any:
            result = value(*args, **kwargs)
            if asyncio.iscoroutine(result):
                return asyncio.run_coroutine_threadsafe(result, self.loop).result(120)
            return result

        return call

    def _iterate(self, iterator: Any) -> Iterator[Any]:
        """The async iterator's items one by one, as they come (not drained first):
        a caller may stop at an early event, and the iterator is closed then."""

        async def step() -> tuple[bool, Any]:
            try:
                return True, await iterator.__anext__()
            except StopAsyncIteration:
                return False, None

        try:
            while True:
                more, item = asyncio.run_coroutine_threadsafe(step(), self.loop).result(120)
                if not more:
                    return
                yield item
        finally:
            asyncio.run_coroutine_threadsafe(iterator.aclose(), self.loop).result(30)


@contextlib.contextmanager
def async_client(url: str, **options: Any) -> Iterator[AsyncProxy]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    manager = create_client(url, **options)
    try:
        client = asyncio.run_coroutine_threadsafe(manager.__aenter__(), loop).result(60)
        try:
            yield AsyncProxy(client, loop)
        finally:
            asyncio.run_coroutine_threadsafe(manager.__aexit__(None, None, None), loop).result(30)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()


Open = Callable[..., contextlib.AbstractContextManager[Any]]


@pytest.fixture(params=PAIRS, ids=[f"{c}-{t}" for c, t in PAIRS])
def open_client(request: pytest.FixtureRequest, comfy_url: str) -> Open:
    """Open a client of this pair: ``with open_client(**options) as client``."""
    kind, transport = request.param

    def opener(**options: Any) -> contextlib.AbstractContextManager[Any]:
        if kind == "async":
            return async_client(comfy_url, transport=transport, **options)
        return create_sync_client(comfy_url, transport=transport, **options)

    return opener
