"""Downloading a large output: throughput against plain httpx, and peak memory.

The file is random bytes (nothing compresses it) written straight into the
input folder of the server this run started, or, when the server was given
with ``--url``, uploaded with ``upload_image`` (smaller, and left there);
``/view`` serves it as it is. Throughput: ``download`` (into memory) and
``download_to`` (into the temporary folder) of the async client (httpx) and the
sync client (requests), each against plain httpx streaming the same ``/view``
URL into a file, same round; clients are opened and connected before the clock
starts. Peak memory: ``download_to`` in a fresh (spawned) process, the growth of
its resident set's high-water mark over the resident set with the client open
(on Linux the mark is reset there through ``/proc/self/clear_refs``; elsewhere
it is ``ru_maxrss``, which only grows), beside plain httpx streaming. MB: 2**20.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from benchmarks.suite import TIMEOUT, Context, Row, interleaved, ratios
from comfy_api_client import create_client
from comfy_api_client.sync import create_client as create_sync_client
from comfy_core.outputs import OutputFile

MB = 2**20
WRITE_CHUNK = 16 * MB


def _random_file(path: Path, size: int) -> None:
    with path.open("wb") as sink:
        for start in range(0, size, WRITE_CHUNK):
            sink.write(os.urandom(min(WRITE_CHUNK, size - start)))


def _place(ctx: Context, size: int, folder: Path) -> tuple[OutputFile, Path | None]:
    """A file of ``size`` random bytes the server serves; the local copy to remove, if any."""
    name = f"sdk-bench-download-{size // MB}mb.bin"
    if ctx.servers:
        path = ctx.servers[0].input_dir / name
        _random_file(path, size)
        return OutputFile(node_id="1", kind="images", filename=name, type="input"), path
    local = folder / name
    _random_file(local, size)
    with create_sync_client(ctx.url, start_state_tracker=None) as client:
        uploaded = client.upload_image(name, local, overwrite=True)
    local.unlink()
    ref = OutputFile(node_id="1", kind="images", filename=uploaded.name,
                     subfolder=uploaded.subfolder, type=uploaded.type)  # fmt: skip
    return ref, None


def _params(ref: OutputFile) -> dict[str, str]:
    return {"filename": ref.filename, "subfolder": ref.subfolder, "type": ref.type}


def _expect(size: int, got: int) -> None:
    if got != size:
        raise RuntimeError(f"downloaded {got} bytes, expected {size}")


# -- throughput ----------------------------------------------------------------------


async def _httpx_stream(http: httpx.AsyncClient, ref: OutputFile, target: Path) -> int:
    written = 0
    async with http.stream("GET", "/view", params=_params(ref)) as answer:
        answer.raise_for_status()
        with target.open("wb") as sink:
            async for chunk in answer.aiter_bytes():
                written += sink.write(chunk)
    return written


async def _timed_httpx(url: str, ref: OutputFile, target: Path | None) -> tuple[float, int]:
    async with httpx.AsyncClient(base_url=url, timeout=TIMEOUT) as http:
        (await http.get("/system_stats")).raise_for_status()  # connected, as the SDK's clients are
        began = time.perf_counter()
        if target is None:
            answer = await http.get("/view", params=_params(ref))
            got = len(answer.raise_for_status().content)
        else:
            got = await _httpx_stream(http, ref, target)
        return time.perf_counter() - began, got


async def _timed_async(url: str, ref: OutputFile, target: Path | None) -> tuple[float, int]:
    async with create_client(url, start_state_tracker=None) as client:
        began = time.perf_counter()
        if target is None:
            got = len(await client.download(ref))
        else:
            await client.download_to(ref, target)
        return time.perf_counter() - began, -1 if target else got


def _timed_sync(url: str, ref: OutputFile, target: Path | None) -> tuple[float, int]:
    with create_sync_client(url, start_state_tracker=None, transport="requests") as client:
        began = time.perf_counter()
        if target is None:
            got = len(client.download(ref))
        else:
            client.download_to(ref, target)
        return time.perf_counter() - began, -1 if target else got


def _checked(
    timed: Callable[[], tuple[float, int]], target: Path | None, size: int
) -> Callable[[], float]:
    """``timed``'s seconds, once the bytes it got (or wrote to ``target``) are ``size``."""

    def run() -> float:
        seconds, got = timed()
        if target is not None:
            got = target.stat().st_size
            target.unlink()
        _expect(size, got)
        return seconds

    return run


def _throughput(ctx: Context, ref: OutputFile, size: int, folder: Path) -> list[Row]:
    url, target = ctx.url, folder / "downloaded.bin"
    results = interleaved(ctx.pick(7, 9), {
        "httpx": _checked(lambda: asyncio.run(_timed_httpx(url, ref, target)), target, size),
        "httpx in memory": _checked(lambda: asyncio.run(_timed_httpx(url, ref, None)), None, size),
        "async download": _checked(lambda: asyncio.run(_timed_async(url, ref, None)), None, size),
        "async download_to": _checked(
            lambda: asyncio.run(_timed_async(url, ref, target)), target, size),
        "sync download": _checked(lambda: _timed_sync(url, ref, None), None, size),
        "sync download_to": _checked(lambda: _timed_sync(url, ref, target), target, size),
    }, lambda r: print(f"  download round {r + 1}", flush=True))  # fmt: skip
    base = results["httpx"]
    note = f"{size // MB} MB; plain httpx {size / MB / min(base):.0f} MB/s at best"
    rows: list[Row] = []
    # Like for like: streaming to a file against httpx streaming to a file, holding the
    # body in memory against httpx's own get().content (the join of a big body in fresh
    # memory costs both the same, so streaming is not what an in-memory read can match).
    for name, what in (("async", "async httpx"), ("sync", "sync requests")):
        speed = ratios(base, results[f"{name} download_to"])  # time of httpx / time of ours
        rows.append(Row(f"{what}: download_to() throughput vs httpx streaming", speed,
                        ">= 0.95", note=note if not rows else ""))  # fmt: skip
        memory = ratios(results["httpx in memory"], results[f"{name} download"])
        rows.append(Row(f"{what}: download() throughput vs httpx into memory", memory,
                        ">= 0.95"))  # fmt: skip
    return rows


# -- peak memory, each in a fresh process --------------------------------------------


def _status_mb(field: str) -> float | None:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(f"{field}:"):
                    return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return None


def _reset_peak() -> float:
    """Where the growth is counted from, in MB: the resident set now, its high-water mark
    reset to it (Linux); else the high-water mark so far, which never goes down."""
    try:
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")
    except OSError:
        pass
    else:
        now = _status_mb("VmRSS")
        if now is not None:
            return now
    return _peak()


def _peak() -> float:
    """The resident set's high-water mark, in MB."""
    peak = _status_mb("VmHWM")
    if peak is not None:
        return peak
    high = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS
    return high / MB if sys.platform == "darwin" else high / 1024


async def _async_growth(kind: str, url: str, ref: OutputFile, target: Path) -> float:
    if kind == "httpx":
        async with httpx.AsyncClient(base_url=url, timeout=TIMEOUT) as http:
            await http.get("/system_stats")
            before = _reset_peak()
            await _httpx_stream(http, ref, target)
            return _peak() - before
    async with create_client(url, start_state_tracker=None) as client:
        before = _reset_peak()
        await client.download_to(ref, target)
        return _peak() - before


def _growth(kind: str, url: str, ref: OutputFile, target: str, answers: Any) -> None:
    """In the child: the growth of the resident high-water mark (MB) across one download."""
    try:
        if kind == "sync":
            with create_sync_client(url, start_state_tracker=None, transport="requests") as c:
                before = _reset_peak()
                c.download_to(ref, target)
                answers.put(_peak() - before)
        else:
            answers.put(asyncio.run(_async_growth(kind, url, ref, Path(target))))
    except BaseException as exc:
        answers.put(f"{type(exc).__name__}: {exc}")
        raise


def _in_child(kind: str, url: str, ref: OutputFile, target: Path, size: int) -> float:
    spawn = multiprocessing.get_context("spawn")
    answers: Any = spawn.Queue()
    child = spawn.Process(target=_growth, args=(kind, url, ref, str(target), answers))
    child.start()
    try:
        answer = answers.get(timeout=TIMEOUT)
    finally:
        child.join(TIMEOUT)
    if not isinstance(answer, float):
        raise RuntimeError(f"the {kind} download in a child process failed: {answer}")
    _expect(size, target.stat().st_size)
    target.unlink()
    return round(answer, 1)


def _child_variant(
    kind: str, url: str, ref: OutputFile, target: Path, size: int
) -> Callable[[], float]:
    return lambda: _in_child(kind, url, ref, target, size)


def _memory(ctx: Context, ref: OutputFile, size: int, folder: Path, note: str) -> list[Row]:
    target = folder / "downloaded.bin"
    kinds = {"httpx": "plain httpx streaming", "async": "async httpx", "sync": "sync requests"}
    variants = {kind: _child_variant(kind, ctx.url, ref, target, size) for kind in kinds}
    results = interleaved(ctx.pick(1, 3), variants, lambda r: None)
    rows = [Row(f"{kinds['httpx']}: peak memory growth", results["httpx"], unit="MB",
                note=f"{size // MB} MB file, fresh process{note}")]  # fmt: skip
    for kind in ("async", "sync"):
        rows.append(Row(f"{kinds[kind]}: download_to() peak memory growth", results[kind],
                        "<= 50", unit="MB"))  # fmt: skip
    return rows


def download(ctx: Context) -> list[Row]:
    local = bool(ctx.servers)
    fast = ctx.pick(64, 128) * MB if local else ctx.pick(16, 64) * MB
    big = ctx.pick(64, 300) * MB if local else fast
    note = "; --quick: 64 MB, not 300" if ctx.quick and local else ""
    if not local:
        note = f"; uploaded (--url), so {big // MB} MB, not 300"
    placed: list[Path] = []
    with tempfile.TemporaryDirectory(prefix="sdk-bench-") as scratch:
        folder = Path(scratch)
        try:
            ref, path = _place(ctx, fast, folder)
            placed += [path] if path else []
            rows = _throughput(ctx, ref, fast, folder)
            if big != fast:
                ref, path = _place(ctx, big, folder)
                placed += [path] if path else []
            rows += _memory(ctx, ref, big, folder, note)
        finally:
            for path in placed:
                path.unlink(missing_ok=True)
    return rows
