"""HTTP polling traffic against the size of the server's history.

The polling feed (``start_state_tracker="http"``) asks ``GET /queue`` once per
interval and reads history only for prompts that left the queue, so its traffic
must not grow with the server's history. With one prompt in flight for the
whole window (``SdkSleep`` from the test custom nodes, else a calibrated chain
of ``ImageBlur``), a plugin counts every response the client receives; the
history is filled (or trimmed) beforehand by a separate plain client, whose
traffic is not counted.

Requests per second are ``(n - 1) / (t_n - t_1)`` over the responses in the
window, and bytes per interval the body bytes over the same span times the
update interval: neither depends on where the window cuts an interval. Ratios
are against 0 entries in the same round. The section clears the server's
history, so it only runs against servers this run started.
"""

from __future__ import annotations

import asyncio
import collections
import math
import statistics
import time
from collections.abc import Callable
from typing import NamedTuple

import httpx

from benchmarks.suite import TIMEOUT, Context, Row, Workflow, colour, interleaved, ratios
from comfy_api_client import create_client, hookimpl
from comfy_core.http import Request, Response

LABELS = {"per_interval": "bytes per interval", "per_second": "requests per second"}
INTERVAL = 0.25  # the polling feed's default update_interval
SETTLE = 0.3  # after submitting, before the window opens (the prompt is then running)
FILLER: Workflow = {  # the same prompt every time: cached, it executes at once
    "1": {"class_type": "EmptyImage", "inputs": {"width": 8, "height": 8, "batch_size": 1,
                                                 "color": 0x123456}},
    "2": {"class_type": "PreviewImage", "inputs": {"images": ["1", 0]}},
}  # fmt: skip
Traffic = list[tuple[float, int, str]]  # (when, body bytes, path) of each response


class Measured(NamedTuple):
    per_second: float  # requests
    per_interval: float  # body bytes
    paths: collections.Counter[str]  # of the requests


class _Counter:
    """A plugin that notes each response while ``on``."""

    def __init__(self) -> None:
        self.on = False
        self.seen: Traffic = []

    @hookimpl
    def comfy_response_received(self, request: Request, response: Response) -> None:
        if self.on:
            self.seen.append((time.perf_counter(), len(response.body), request.path))


class _History:
    """The server's history, held at a given number of entries by a plain client."""

    def __init__(self, url: str) -> None:
        self.http = httpx.Client(base_url=url, timeout=TIMEOUT)
        self.ids: list[str] = []
        self.fills: list[tuple[int, float]] = []  # (prompts posted, seconds)
        self.clear()

    def clear(self) -> None:
        self.http.post("/history", json={"clear": True}).raise_for_status()
        self.ids = []

    def forget(self, prompt_id: str) -> None:
        self.http.post("/history", json={"delete": [prompt_id]}).raise_for_status()

    def resize(self, entries: int) -> None:
        if entries == 0:
            self.clear()
        elif entries < len(self.ids):
            self.http.post("/history", json={"delete": self.ids[entries:]}).raise_for_status()
            del self.ids[entries:]
        elif entries > len(self.ids):
            began, count = time.perf_counter(), entries - len(self.ids)
            for _ in range(count):
                answer = self.http.post("/prompt", json={"prompt": FILLER})
                answer.raise_for_status()
                self.ids.append(answer.json()["prompt_id"])
            self.idle()
            self.fills.append((count, time.perf_counter() - began))
        self.check(entries)

    def idle(self) -> None:
        deadline = time.monotonic() + TIMEOUT
        while self.http.get("/prompt").json()["exec_info"]["queue_remaining"]:
            if time.monotonic() > deadline:
                raise RuntimeError("the server's queue did not empty")
            time.sleep(0.02)

    def count_at_least(self, entries: int) -> bool:
        """Whether the history holds ``entries`` or more (two small reads, not the list)."""
        if entries == 0:
            return True
        params = {"max_items": "1", "offset": str(entries - 1)}
        return bool(self.http.get("/history", params=params).json())

    def check(self, entries: int) -> None:
        if not self.count_at_least(entries) or self.count_at_least(entries + 1):
            raise RuntimeError(f"the server's history does not hold {entries} entries")

    def close(self) -> None:
        self.http.close()


def _sleeping(seconds: float) -> Workflow:
    return {
        "1": {"class_type": "EmptyImage",
              "inputs": {"width": 8, "height": 8, "batch_size": 1, "color": colour()}},
        "2": {"class_type": "SdkSleep", "inputs": {"image": ["1", 0], "seconds": seconds}},
        "3": {"class_type": "PreviewImage", "inputs": {"images": ["2", 0]}},
    }  # fmt: skip


def _blurs(count: int, size: int = 256) -> Workflow:
    workflow: Workflow = {
        "0": {"class_type": "EmptyImage",
              "inputs": {"width": size, "height": size, "batch_size": 1, "color": colour()}},
    }  # fmt: skip
    for i in range(1, count + 1):
        workflow[str(i)] = {
            "class_type": "ImageBlur",
            "inputs": {"image": [str(i - 1), 0], "blur_radius": 31, "sigma": 10.0},
        }
    workflow["out"] = {"class_type": "PreviewImage", "inputs": {"images": [str(count), 0]}}
    return workflow


class _Slow:
    """Makes a prompt that runs for at least ``seconds`` on the server."""

    def __init__(self, history: _History) -> None:
        self.history = history
        self.sleeps = bool(history.http.get("/object_info/SdkSleep").json())
        self.per_blur = 0.0 if self.sleeps else self._time_blurs(2) / 2

    def _time_blurs(self, count: int) -> float:
        answer = self.history.http.post("/prompt", json={"prompt": _blurs(count)})
        began = time.perf_counter()
        answer.raise_for_status()
        self.history.idle()
        self.history.forget(answer.json()["prompt_id"])
        return time.perf_counter() - began

    def workflow(self, seconds: float) -> Workflow:
        if self.sleeps:
            return _sleeping(seconds)
        return _blurs(math.ceil(1.5 * seconds / self.per_blur) + 1)

    @property
    def name(self) -> str:
        return "SdkSleep" if self.sleeps else f"ImageBlur chain ({self.per_blur:.2f} s a blur)"


async def _watch(url: str, slow: _Slow, window: float) -> tuple[Traffic, str]:
    counter = _Counter()
    options = {"update_interval": INTERVAL}
    async with create_client(
        url, start_state_tracker="http", state_tracker_kwargs=options, plugins=[counter]
    ) as client:
        receipt = await client.submit_workflow(slow.workflow(SETTLE + window + 0.3))
        await asyncio.sleep(SETTLE)
        counter.on = True
        await asyncio.sleep(window)
        counter.on = False
        await client.wait(receipt, TIMEOUT)
    return counter.seen, receipt.prompt_id


def _rates(seen: Traffic) -> Measured:
    if len(seen) < 2:
        raise RuntimeError(f"the client made {len(seen)} requests in the window")
    span = seen[-1][0] - seen[0][0]
    body = sum(size for _, size, _ in seen[1:])
    paths = collections.Counter(path for *_, path in seen)
    return Measured((len(seen) - 1) / span, body / span * INTERVAL, paths)


def _variant(
    url: str, history: _History, slow: _Slow, entries: int, window: float
) -> Callable[[], Measured]:
    def measure() -> Measured:
        history.resize(entries)
        seen, prompt_id = asyncio.run(_watch(url, slow, window))
        history.forget(prompt_id)  # its own entry: the next variant finds the history as left
        return _rates(seen)

    return measure


def traffic(ctx: Context) -> list[Row]:
    if not ctx.servers:
        print("  skipped: it clears the server's history, so it needs a server this run started")
        return []
    sizes = [0, 1000] if ctx.quick else [0, 1000, 10000]
    window, rounds = (1.25, 2) if ctx.quick else (3.0, 4)
    history = _History(ctx.url)
    try:
        slow = _Slow(history)
        results: dict[str, list[Measured]] = interleaved(
            rounds,
            {str(n): _variant(ctx.url, history, slow, n, window) for n in sizes},
            lambda r: print(f"  polling round {r + 1}", flush=True),
        )
        history.clear()
    finally:
        history.close()
    base = results["0"]
    rows: list[Row] = []
    for n in sizes[1:]:
        for what in ("per_interval", "per_second"):
            mine = [getattr(m, what) for m in results[str(n)]]
            rows.append(Row(f"HTTP polling, {n:,} history entries: {LABELS[what]}",
                            ratios(mine, [getattr(m, what) for m in base]), "<= 1.05"))  # fmt: skip
    paths = sum((m.paths for measured in results.values() for m in measured), collections.Counter())
    rows[0].note = (
        f"0 entries: {statistics.median(m.per_second for m in base):.2f} req/s, "
        f"{statistics.median(m.per_interval for m in base):.0f} B an interval ({INTERVAL} s); "
        "asked: " + ", ".join(f"{path} x{count}" for path, count in paths.most_common())
    )
    rows[1].note = "filled " + ", ".join(f"{n:,} in {s:.1f} s" for n, s in history.fills[:2])
    if ctx.quick:
        rows[1].note += "; --quick: no 10,000 (~20 s to fill)"
    extra = f"{window} s windows, in flight: {slow.name}"
    rows[-1].note = f"{rows[-1].note}; {extra}" if rows[-1].note else extra
    return rows
