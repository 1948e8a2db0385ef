"""What the pool costs on one server: client CPU per prompt, pool against plain client.

Each variant opens a plain client (``client.run``) or a pool of that one server
(``create_pool([url])``, ``pool.run``), async or sync (not timed), runs one
prompt to warm up, then ``N`` trivial prompts one after the other, each with its
image downloaded. CPU is the whole process's ``time.process_time`` (the pool's
health checks and the sync clients' threads included; the server is another
process). The pool's CPU against the plain client's of the same round, rounds
interleaved; wall time per prompt is in the note.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Awaitable, Callable
from typing import Any

from benchmarks.suite import TIMEOUT, Context, Row, Workflow, interleaved, ratios, trivial
from comfy_api_client import create_client, create_pool
from comfy_api_client.sync import create_client as create_sync_client
from comfy_api_client.sync import create_pool as create_sync_pool

TARGET = "<= 1.10"  # pool CPU per prompt against the plain client's
Measured = tuple[float, float]  # (CPU s, wall s) per prompt


def check(result: Any) -> None:
    if len(result.output_images) != 1 or not result.output_images[0].data:
        raise RuntimeError(f"expected one downloaded image, got {result.output_images!r}")


def timed(count: int, run: Callable[[Workflow], Any]) -> Measured:
    """(CPU s, wall s) per prompt of ``count`` trivial prompts through ``run``, after one."""
    check(run(trivial()))
    gc.collect()
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(count):
        check(run(trivial()))
    return (time.process_time() - cpu) / count, (time.perf_counter() - wall) / count


async def atimed(count: int, run: Callable[[Workflow], Awaitable[Any]]) -> Measured:
    check(await run(trivial()))
    gc.collect()
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(count):
        check(await run(trivial()))
    return (time.process_time() - cpu) / count, (time.perf_counter() - wall) / count


async def async_client(url: str, count: int) -> Measured:
    async with create_client(url) as client:
        return await atimed(count, lambda wf: client.run(wf, timeout=TIMEOUT))


async def async_pool(url: str, count: int) -> Measured:
    async with create_pool([url]) as pool:
        return await atimed(count, lambda wf: pool.run(wf, timeout=TIMEOUT))


def sync_client(url: str, count: int) -> Measured:
    with create_sync_client(url) as client:
        return timed(count, lambda wf: client.run(wf, timeout=TIMEOUT))


def sync_pool(url: str, count: int) -> Measured:
    with create_sync_pool([url]) as pool:
        return timed(count, lambda wf: pool.run(wf, timeout=TIMEOUT))


OVERHEAD: dict[str, Callable[[str, int], Measured]] = {
    "async client": lambda url, count: asyncio.run(async_client(url, count)),
    "async pool": lambda url, count: asyncio.run(async_pool(url, count)),
    "sync client": sync_client,
    "sync pool": sync_pool,
}


def _ms(pairs: list[Measured]) -> str:
    cpu, wall = min(c for c, _ in pairs), min(w for _, w in pairs)
    return f"{1e3 * cpu:.2f} ms CPU, {1e3 * wall:.1f} ms wall"


def _bound(run: Callable[[str, int], Measured], url: str, count: int) -> Callable[[], Measured]:
    return lambda: run(url, count)


def section(ctx: Context) -> list[Row]:
    count, rounds = ctx.pick(30, 60), ctx.pick(5, 7)
    results = interleaved(
        rounds,
        {name: _bound(run, ctx.url, count) for name, run in OVERHEAD.items()},
        lambda r: print(f"  pool round {r + 1}", flush=True),
    )
    rows = []
    for kind in ("async", "sync"):
        pool, client = results[f"{kind} pool"], results[f"{kind} client"]
        note = (
            f"{count} prompts x {rounds} rounds; per prompt client {_ms(client)}; pool {_ms(pool)}"
        )
        cpu = ratios([c for c, _ in pool], [c for c, _ in client])
        rows.append(Row(f"pool overhead ({kind})", cpu, TARGET, note=note))
    return rows
