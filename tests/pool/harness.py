"""Run one pool scenario through the async or the sync pool, and read the servers back.

``run_map`` drives ``pool.map`` to its end in either pool and calls ``on_item`` (in
the caller's thread for the sync pool, in the event loop for the async one) after
each item, so a test can act mid-batch, e.g. kill a server. ``histories`` reads
every server's history with a plain client, to count where each prompt ran.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from comfy_api_client import ServerStatus, create_pool
from comfy_api_client.batch import BatchItem
from comfy_api_client.sync import create_client
from comfy_api_client.sync import create_pool as create_sync_pool

KINDS = ("async", "sync")
FAST: dict[str, Any] = {"down_after": 2.0, "health_interval": 0.25}  # notice a killed server soon


def run_map(
    kind: str,
    urls: list[str],
    items: Iterable[Any],
    *,
    on_item: Callable[[BatchItem, Any], Any] = lambda item, pool: None,
    **options: Any,
) -> tuple[list[BatchItem], list[ServerStatus]]:
    """Every BatchItem of ``pool.map(items, **options)``, and ``pool.status()`` at the end.

    For the async pool, ``on_item`` may return an awaitable (it is awaited)."""
    items = list(items)
    if kind == "sync":
        with create_sync_pool(urls, timeout=120, **FAST) as pool:
            done = []
            for item in pool.map(items, **options):
                done.append(item)
                on_item(item, pool)
            return done, pool.status()

    async def main() -> tuple[list[BatchItem], list[ServerStatus]]:
        async with create_pool(urls, timeout=120, **FAST) as pool:
            done = []
            async for item in pool.map(items, **options):
                done.append(item)
                acted = on_item(item, pool)
                if inspect.isawaitable(acted):
                    await acted
            return done, pool.status()

    return asyncio.run(main())


def histories(urls: list[str]) -> dict[str, dict[str, Any]]:
    """Each server's whole history: {url: {prompt id: entry}}."""
    found = {}
    for url in urls:
        with create_client(url, start_state_tracker=None) as client:
            found[url] = client.get_history()
    return found


def prefixes_run(history: Mapping[str, Any], node: str = "9") -> list[str]:
    """The SaveImage ``filename_prefix`` of each prompt in a history (one per run)."""
    prefixes = []
    for entry in history.values():
        prompt = entry["prompt"][2]
        inputs = prompt.get(node, {}).get("inputs", {})
        if "filename_prefix" in inputs:
            prefixes.append(inputs["filename_prefix"])
    return prefixes
