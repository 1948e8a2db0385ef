"""Peak memory of large downloads, on every transport.

    python benchmarks/bench_downloads.py [--size-mb 300] [--limit-mb 64]

A fake server (tests/hostile/server.py, in a child process so its buffers are
not counted) serves two bodies on ``/view``:

* ``--size-mb`` of zeros with a Content-Length, fetched with ``download_to``:
  it must stream to disk. Target: a peak under 100 MB above the baseline.
* the same size of zeros gzip-compressed (about 1/1000 of it on the wire), sent
  with ``Content-Encoding: gzip`` although the client asked for identity,
  fetched into memory (``download_flow`` with ``max_size=--limit-mb``): it must
  fail with BodyTooLarge before the body is inflated, let alone held.

Peaks are the Python heap's (tracemalloc, reset before each run) and the
process's resident set high-water mark (ru_maxrss, never reset: it only grows).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import resource
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

from comfy_api_client import create_client
from comfy_api_client.sync import create_client as create_sync_client
from comfy_core.errors import BodyTooLarge
from comfy_core.flows import download_flow
from comfy_core.outputs import OutputFile

VIEW = OutputFile(node_id="1", kind="images", filename="big.bin")
MB = 2**20


def serve(kind: str, size: int, ports: Any) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repository's tests
    from tests.hostile.server import HostileServer, Scenario, gzip_bomb, zeros

    handler = zeros(size) if kind == "plain" else gzip_bomb(size)
    with HostileServer(Scenario(routes={"/api/view": handler})) as server:
        ports.put(server.port)
        time.sleep(3600)


def start(kind: str, size: int) -> tuple[multiprocessing.Process, str]:
    ports: Any = multiprocessing.Queue()
    process = multiprocessing.Process(target=serve, args=(kind, size, ports), daemon=True)
    process.start()
    return process, f"http://127.0.0.1:{ports.get(timeout=120)}"


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(run: Callable[[], str]) -> tuple[float, float, str]:
    """(python heap peak MB, seconds, outcome) of ``run``."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    began = time.perf_counter()
    outcome = run()
    seconds = time.perf_counter() - began
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / MB, seconds, outcome


def sync_run(url: str, transport: str, job: Callable[[Any], str]) -> Callable[[], str]:
    def run() -> str:
        with create_sync_client(
            url, transport=transport, start_state_tracker=None, builtin_plugins=False
        ) as client:
            return job(client)

    return run


def async_run(url: str, job: Callable[[Any], Any]) -> Callable[[], str]:
    async def go() -> str:
        async with create_client(url, start_state_tracker=None, builtin_plugins=False) as client:
            result: str = await job(client)
            return result

    return lambda: asyncio.run(go())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size-mb", type=int, default=300)
    parser.add_argument("--limit-mb", type=int, default=64)
    options = parser.parse_args()
    size, limit = options.size_mb * MB, options.limit_mb * MB
    pairs = [("async", "httpx"), ("sync", "requests"), ("sync", "httpx"), ("sync", "sockets")]
    print(f"baseline RSS high-water mark: {rss_mb():.0f} MB")

    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / "big.bin"
        server, url = start("plain", size)

        def to_disk(client: Any) -> str:
            client.download_to(VIEW, target)
            return f"wrote {target.stat().st_size / MB:.0f} MB"

        async def to_disk_async(client: Any) -> str:
            await client.download_to(VIEW, target)
            return f"wrote {target.stat().st_size / MB:.0f} MB"

        print(f"\ndownload_to of {options.size_mb} MB (target: peak < 100 MB above baseline)")
        for kind, transport in pairs:
            run = (
                async_run(url, to_disk_async)
                if kind == "async"
                else sync_run(url, transport, to_disk)
            )
            peak, seconds, outcome = measure(run)
            print(
                f"  {kind}-{transport:9} heap peak {peak:7.1f} MB  {seconds:5.1f} s  {outcome}"
                f"  (RSS high-water {rss_mb():.0f} MB)"
            )
            target.unlink(missing_ok=True)
        server.kill()

    server, url = start("bomb", size)

    def bomb(client: Any) -> str:
        try:
            body = client.run_flow(download_flow(VIEW, limit))
        except BodyTooLarge as exc:
            return f"BodyTooLarge (limit {exc.limit / MB:.0f} MB)"
        return f"returned {len(body) / MB:.0f} MB"

    async def bomb_async(client: Any) -> str:
        try:
            body = await client.run_flow(download_flow(VIEW, limit))
        except BodyTooLarge as exc:
            return f"BodyTooLarge (limit {exc.limit / MB:.0f} MB)"
        return f"returned {len(body) / MB:.0f} MB"

    print(
        f"\ngzip bomb ({options.size_mb} MB inflated) into memory, max_size {options.limit_mb} MB"
        " (target: fails, peak well under the inflated size)"
    )
    for kind, transport in pairs:
        run = async_run(url, bomb_async) if kind == "async" else sync_run(url, transport, bomb)
        peak, seconds, outcome = measure(run)
        print(
            f"  {kind}-{transport:9} heap peak {peak:7.1f} MB  {seconds:5.1f} s  {outcome}"
            f"  (RSS high-water {rss_mb():.0f} MB)"
        )
    server.kill()


if __name__ == "__main__":
    main()
