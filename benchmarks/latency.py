"""Submit -> decoded image: latency and client CPU per prompt, every client against the
hand-written baselines; and 50 prompts at once.

Each variant opens its client (not timed), runs one prompt to warm up, then ``N``
trivial prompts one after another, each to its decoded image. CPU is the whole
process's ``time.process_time`` (the sync clients' threads included; the server is
another process). Ratios are against the hand-written httpx + websockets client of
the same round.
"""

from __future__ import annotations

import asyncio
import gc
import io
import json
import time
from collections.abc import Callable
from typing import Any

from PIL import Image

from benchmarks.baselines import HttpxBaseline, RequestsBaseline, _images
from benchmarks.suite import TIMEOUT, Context, Row, interleaved, ratios, trivial
from comfy_api_client import create_client
from comfy_api_client.sync import create_client as create_sync_client

Measured = tuple[float, float]  # (CPU s, wall s) per prompt

# (client, transport, tracker) -> target of its CPU ratio (and of its latency ratio)
TARGETS: dict[tuple[str, str, str], tuple[str, str]] = {
    ("async", "httpx", "websocket"): ("<= 1.00", "<= 1.02"),
    ("sync", "requests", "websocket"): ("<= 0.90", ""),
    ("sync", "sockets", "websocket"): ("<= 0.50", ""),
}
CLIENTS = (("async", "httpx"), ("sync", "requests"), ("sync", "httpx"), ("sync", "sockets"))
VARIANTS = [(client, transport, tracker) for client, transport in CLIENTS
            for tracker in ("websocket", "http")]  # fmt: skip


def _per_prompt(cpu: float, wall: float, count: int) -> Measured:
    return (time.process_time() - cpu) / count, (time.perf_counter() - wall) / count


def _check(images: list[Any]) -> None:
    if len(images) != 1 or images[0].size != (64, 64):
        raise RuntimeError(f"expected one 64x64 image, got {images!r}")


async def _async_sdk(url: str, tracker: str, count: int) -> Measured:
    async with create_client(url, start_state_tracker=tracker) as client:  # type: ignore[arg-type]
        _check([(await client.run(trivial(), timeout=TIMEOUT)).output_images[0].image])
        gc.collect()
        cpu, wall = time.process_time(), time.perf_counter()
        for _ in range(count):
            result = await client.run(trivial(), timeout=TIMEOUT)
            result.output_images[0].image.load()
        return _per_prompt(cpu, wall, count)


def _sync_sdk(url: str, transport: str, tracker: str, count: int) -> Measured:
    with create_sync_client(url, start_state_tracker=tracker, transport=transport) as client:  # type: ignore[arg-type]
        _check([client.run(trivial(), timeout=TIMEOUT).output_images[0].image])
        gc.collect()
        cpu, wall = time.process_time(), time.perf_counter()
        for _ in range(count):
            client.run(trivial(), timeout=TIMEOUT).output_images[0].image.load()
        return _per_prompt(cpu, wall, count)


async def _httpx_baseline(url: str, count: int) -> Measured:
    async with HttpxBaseline(url) as baseline:
        _check(await baseline.run(trivial()))
        gc.collect()
        cpu, wall = time.process_time(), time.perf_counter()
        for _ in range(count):
            await baseline.run(trivial())
        return _per_prompt(cpu, wall, count)


def _requests_baseline(url: str, count: int) -> Measured:
    with RequestsBaseline(url) as baseline:
        _check(baseline.run(trivial()))
        gc.collect()
        cpu, wall = time.process_time(), time.perf_counter()
        for _ in range(count):
            baseline.run(trivial())
        return _per_prompt(cpu, wall, count)


def _variant(url: str, key: tuple[str, str, str], count: int) -> Callable[[], Measured]:
    client, transport, tracker = key
    if client == "async":
        return lambda: asyncio.run(_async_sdk(url, tracker, count))
    return lambda: _sync_sdk(url, transport, tracker, count)


def sequential(ctx: Context) -> list[Row]:
    count, rounds = ctx.pick(15, 40), ctx.pick(5, 7)
    variants: dict[str, Callable[[], Measured]] = {
        "baseline httpx": lambda: asyncio.run(_httpx_baseline(ctx.url, count)),
        "baseline requests": lambda: _requests_baseline(ctx.url, count),
    }
    # A polled prompt waits for the next poll (~0.3 s): with --quick the polling variants
    # run fewer prompts, else they alone take most of the two minutes. Their rows have
    # no target; CPU and latency stay per prompt.
    prompts = {key: ctx.pick(5, count) if key[2] == "http" else count for key in VARIANTS}
    for key in VARIANTS:
        variants[" ".join(key)] = _variant(ctx.url, key, prompts[key])
    results = interleaved(rounds, variants, lambda r: print(f"  latency round {r + 1}", flush=True))
    base = results["baseline httpx"]
    base_cpu, base_wall = [c for c, _ in base], [w for _, w in base]
    baseline_ms = f"baseline {1000 * min(base_cpu):.2f} ms CPU"
    requests_cpu = [c for c, _ in results["baseline requests"]]
    rows = [Row("requests baseline: CPU per prompt", ratios(requests_cpu, base_cpu))]
    for key in VARIANTS:
        name = " ".join(key)
        cpu_target, wall_target = TARGETS.get(key, ("", ""))
        cpu = ratios([c for c, _ in results[name]], base_cpu)
        wall = ratios([w for _, w in results[name]], base_wall)
        note = f"{prompts[key]} prompts x {rounds} rounds; {baseline_ms}"
        rows.append(Row(f"{name}: CPU per prompt", cpu, cpu_target, note=note))
        rows.append(Row(f"{name}: latency", wall, wall_target))
    return rows


# -- 50 at once -----------------------------------------------------------------------


async def _sdk_burst(url: str, count: int) -> Measured:
    async with create_client(url) as client:
        await client.run(trivial(), timeout=TIMEOUT)
        gc.collect()
        cpu, wall = time.process_time(), time.perf_counter()
        receipts = [await client.submit_workflow(trivial()) for _ in range(count)]
        results = await asyncio.gather(*(client.wait(r, TIMEOUT) for r in receipts))
        for result in results:
            result.output_images[0].image.load()
        return time.process_time() - cpu, time.perf_counter() - wall


async def _baseline_burst(url: str, count: int) -> Measured:
    async with HttpxBaseline(url) as b:
        await b.run(trivial())
        gc.collect()
        cpu, wall = time.process_time(), time.perf_counter()
        body = [{"prompt": trivial(), "client_id": b.client_id} for _ in range(count)]
        ids = [(await b.http.post("/prompt", json=one)).json()["prompt_id"] for one in body]
        images: dict[str, list[dict[str, Any]]] = {prompt_id: [] for prompt_id in ids}
        left = set(ids)
        while left:
            message = await b.ws.recv()
            if isinstance(message, str):
                decoded = json.loads(message)
                for prompt_id in list(left):
                    if _images(decoded, prompt_id, images[prompt_id]):
                        left.discard(prompt_id)
        for found in images.values():
            for image in found:
                answer = await b.http.get("/view", params=image)
                Image.open(io.BytesIO(answer.content)).load()
        return time.process_time() - cpu, time.perf_counter() - wall


def burst(ctx: Context) -> list[Row]:
    count, rounds = 50, ctx.pick(2, 4)
    results = interleaved(rounds, {
        "baseline": lambda: asyncio.run(_baseline_burst(ctx.url, count)),
        "sdk": lambda: asyncio.run(_sdk_burst(ctx.url, count)),
    }, lambda r: None)  # fmt: skip
    base, sdk = results["baseline"], results["sdk"]
    return [
        Row("50 prompts at once, async: wall", ratios([w for _, w in sdk], [w for _, w in base]),
            note=f"baseline {min(w for _, w in base):.2f} s"),
        Row("50 prompts at once, async: CPU", ratios([c for c, _ in sdk], [c for c, _ in base])),
    ]  # fmt: skip
