"""What the server pool gains on several servers, and what it costs on one.

    python benchmarks/bench_pool.py [--quick] [--url URL --url URL --url URL]
                                    [--prompts 24] [--seconds 1.0] [--rounds 3]
                                    [--trivial 40] [--overhead-rounds 5]

Starts three local ComfyUI servers at once (each loading the test custom nodes of
tests/pool/custom_nodes, for ``SdkSleep``) and stops them at the end, on Ctrl-C
or on an error too; or uses the three running servers given with ``--url``
(they must have ``SdkSleep``). Each server runs one prompt first, to load things.

* Throughput: ``--prompts`` prompts that each sleep ``--seconds`` in ``SdkSleep``
  (wall time without CPU, standing in for a GPU server's, since the local
  servers share this machine's cores) through ``pool.map`` on a pool of the first
  1, 2 and 3 servers; prompts per second, and the 2- and 3-server rates against
  the 1-server rate of the same round. Target: >= 2.5x on 3 servers.
* Overhead: the client process's CPU time (``time.process_time``; the servers
  are child processes, not counted) per trivial prompt (EmptyImage 64x64 ->
  SaveImage, image downloaded), ``--trivial`` of them one after the other,
  through a plain client (``client.run``) and through a pool of that one server
  (``pool.run``), async and sync; the pool's time against the client's in the
  same round. Target: <= 1.10x. Wall time per prompt is shown for information.

Rounds are interleaved (each round measures every variant, the order reversed
every other round); the table gives the median and the min-max over rounds.
The overhead is also the ``pool`` section of ``python -m benchmarks``
(benchmarks/pool_cost.py, whose variants this script runs).
Every prompt has a colour of its own, so ComfyUI's cache never skips one.
``--quick`` measures for well under a minute; the defaults take a few minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import signal
import statistics
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import NoReturn

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.pool_cost import OVERHEAD, check
from benchmarks.suite import Workflow, colour, trivial
from comfy_api_client import create_client, create_pool
from comfy_api_client.local_server import LocalServer, provision

ROOT = Path(__file__).resolve().parent.parent
CUSTOM_NODES = ROOT / "tests" / "pool" / "custom_nodes"
SPEEDUP_TARGET = 2.5  # 3 servers against 1, at least
OVERHEAD_TARGET = 1.10  # pool against plain client CPU per prompt, at most
TIMEOUT = 60.0


def sleepy(seconds: float) -> Workflow:
    """EmptyImage 8x8 -> SdkSleep(seconds) -> SaveImage."""
    return {
        "1": {
            "class_type": "EmptyImage",
            "inputs": {"width": 8, "height": 8, "batch_size": 1, "color": colour()},
        },
        "2": {"class_type": "SdkSleep", "inputs": {"image": ["1", 0], "seconds": seconds}},
        "9": {
            "class_type": "SaveImage",
            "inputs": {"images": ["2", 0], "filename_prefix": "sdk_bench_pool"},
        },
    }


# -- servers ----------------------------------------------------------------------------


def _interrupt(signum: int, frame: object) -> NoReturn:
    raise KeyboardInterrupt(f"signal {signum}")


def start_servers(stack: ExitStack, count: int) -> list[str]:
    """Start ``count`` local servers at once; each is stopped when ``stack`` closes."""
    install = provision(on_step=lambda step: print(f"provisioning ComfyUI: {step}", flush=True))
    servers = [LocalServer(install, custom_nodes=[CUSTOM_NODES]) for _ in range(count)]
    for server in servers:
        stack.callback(server.stop)
    print(f"starting {count} ComfyUI servers...", flush=True)
    began = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(count) as executor:
        for started in [executor.submit(server.start) for server in servers]:
            started.result()
    print(f"  ready in {time.perf_counter() - began:.1f} s", flush=True)
    return [server.url for server in servers]


async def warm_up(urls: Sequence[str]) -> None:
    """One prompt of each kind per server (the first loads things), and check SdkSleep."""

    async def one(url: str) -> None:
        async with create_client(url) as client:
            if "SdkSleep" not in await client.get_object_info():
                raise RuntimeError(f"{url} lacks the SdkSleep node of {CUSTOM_NODES}")
            check(await client.run(sleepy(0.0), timeout=TIMEOUT))
            check(await client.run(trivial(), timeout=TIMEOUT))

    await asyncio.gather(*(one(url) for url in urls))


# -- throughput -------------------------------------------------------------------------


async def pool_rate(urls: Sequence[str], prompts: int, seconds: float) -> float:
    """Prompts per second of ``prompts`` sleepy prompts through ``pool.map`` on ``urls``."""
    workflows = [sleepy(seconds) for _ in range(prompts)]
    async with create_pool(urls) as pool:
        began = time.perf_counter()
        done = 0
        async for item in pool.map(workflows, timeout=TIMEOUT):
            if not item.ok:
                raise RuntimeError(f"item {item.index} failed on {item.server}: {item.error}")
            done += 1
        elapsed = time.perf_counter() - began
    if done != prompts:
        raise RuntimeError(f"pool.map yielded {done} items of {prompts}")
    return prompts / elapsed


# -- the table --------------------------------------------------------------------------


def summary(values: Sequence[float], fmt: str) -> tuple[str, str]:
    return format(statistics.median(values), fmt), (
        f"{format(min(values), fmt)}-{format(max(values), fmt)}"
    )


def verdict(value: float, target: float, at_least: bool) -> str:
    met = value >= target if at_least else value <= target
    sign = ">=" if at_least else "<="
    return f"{sign} {target:.2f}x  {'ok' if met else 'MISSED'}"


def rows(
    rates: dict[int, list[float]], costs: dict[str, list[tuple[float, float]]], prompts: int
) -> Iterator[tuple[str, str, str, str]]:
    for n, values in rates.items():
        label = f"{prompts} sleepy prompts, {n} server{'s' if n > 1 else ''} (prompts/s)"
        yield (label, *summary(values, ".3f"), "")
    for n in rates:
        if n == 1:
            continue
        ratios = [r / one for r, one in zip(rates[n], rates[1], strict=True)]
        median = statistics.median(ratios)
        target = verdict(median, SPEEDUP_TARGET, at_least=True) if n == 3 else ""
        yield (f"  speed-up {n} servers / 1, same round", *summary(ratios, ".2f"), target)
    for name, pairs in costs.items():
        cpu = [c * 1000 for c, _ in pairs]
        yield (f"{name}: client CPU per prompt (ms)", *summary(cpu, ".2f"), "")
    for kind in ("async", "sync"):
        pool, client = costs[f"{kind} pool"], costs[f"{kind} client"]
        ratios = [p[0] / c[0] for p, c in zip(pool, client, strict=True)]
        target = verdict(statistics.median(ratios), OVERHEAD_TARGET, at_least=False)
        yield (f"  {kind} pool / client CPU, same round", *summary(ratios, ".2f"), target)
    for name, pairs in costs.items():
        wall = [w * 1000 for _, w in pairs]
        yield (f"{name}: wall per prompt (ms, info)", *summary(wall, ".1f"), "")


def table(lines: Sequence[tuple[str, str, str, str]]) -> str:
    header = ("measure", "median", "min-max", "target")
    widths = [max(len(line[i]) for line in [header, *lines]) for i in range(4)]
    out = []
    for i, line in enumerate([header, *lines]):
        cells = [line[0].ljust(widths[0]), line[1].rjust(widths[1]), line[2].rjust(widths[2])]
        out.append("  ".join([*cells, line[3]]).rstrip())
        if i == 0:
            out.append("-" * len(out[0]))
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", action="append", default=[], help="a running server (3 times)")
    parser.add_argument("--quick", action="store_true", help="fewer prompts and rounds")
    parser.add_argument("--prompts", type=int, help="sleepy prompts per map (24; quick 6)")
    parser.add_argument("--seconds", type=float, default=1.0, help="each one's sleep (1.0)")
    parser.add_argument("--rounds", type=int, help="throughput rounds (3; quick 2)")
    parser.add_argument("--trivial", type=int, help="trivial prompts per run (40; quick 10)")
    parser.add_argument("--overhead-rounds", type=int, help="overhead rounds (5; quick 3)")
    options = parser.parse_args()
    if options.url and len(options.url) != 3:
        parser.error("give --url three times, or not at all")
    quick = options.quick
    prompts = options.prompts or (6 if quick else 24)
    rounds = options.rounds or (2 if quick else 3)
    count = options.trivial or (10 if quick else 40)
    overhead_rounds = options.overhead_rounds or (3 if quick else 5)

    # Stop the servers on Ctrl-C (even where a background shell ignores SIGINT) and SIGTERM.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupt)
    with ExitStack() as stack:
        urls = options.url or start_servers(stack, 3)
        asyncio.run(warm_up(urls))
        began = time.perf_counter()

        rates: dict[int, list[float]] = {1: [], 2: [], 3: []}
        for r in range(rounds):
            order = [1, 2, 3] if r % 2 == 0 else [3, 2, 1]
            for n in order:
                rate = asyncio.run(pool_rate(urls[:n], prompts, options.seconds))
                rates[n].append(rate)
                print(f"  throughput round {r + 1}, {n} servers: {rate:.3f} prompts/s", flush=True)

        costs: dict[str, list[tuple[float, float]]] = {name: [] for name in OVERHEAD}
        names = list(OVERHEAD)
        for r in range(overhead_rounds):
            for name in names if r % 2 == 0 else names[::-1]:
                cpu, wall = OVERHEAD[name](urls[0], count)
                costs[name].append((cpu, wall))
                print(
                    f"  overhead round {r + 1}, {name}: {cpu * 1000:.2f} ms CPU,"
                    f" {wall * 1000:.1f} ms wall per prompt",
                    flush=True,
                )
        measured = time.perf_counter() - began

    print(
        f"\n{prompts} prompts of {options.seconds:g} s x {rounds} rounds;"
        f" {count} trivial prompts x {overhead_rounds} rounds; measured for {measured:.0f} s\n"
    )
    print(table(list(rows(rates, costs, prompts))))


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(130)
