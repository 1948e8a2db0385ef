"""``python -m benchmarks [--quick] [--url URL]``: every benchmark, as one table of ratios.

Each ratio is measured against a baseline in the same run, rounds interleaved;
the table shows the median and the min-max over rounds, and the target. Without
``--url`` (or ``COMFYUI_URL``) it starts its own ComfyUI servers (provisioned as
the tests do); the pool's rows need three, so they start two more. ``--quick``
finishes in under two minutes; ``--only NAME`` runs one section. No benchmark is
a test: nothing here asserts.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from collections.abc import Callable
from contextlib import ExitStack
from typing import NoReturn

from benchmarks import convert, core, download, latency, polling, pool_cost
from benchmarks.suite import Context, Row, start_servers, table

SECTIONS: dict[str, Callable[[Context], list[Row]]] = {
    "latency": latency.sequential,
    "burst": latency.burst,
    "polling": polling.traffic,
    "download": download.download,
    "core": core.section,
    "convert": convert.section,
    "pool": pool_cost.section,
}
OFFLINE = frozenset({"core", "convert"})  # sections that need no server


def _interrupt(signum: int, frame: object) -> NoReturn:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer rounds: under two minutes")
    parser.add_argument("--url", action="append", default=[], help="a running server (repeat)")
    parser.add_argument("--only", action="append", choices=list(SECTIONS), help="a section")
    options = parser.parse_args(argv)
    # Stop the servers on Ctrl-C (even where a background shell ignores SIGINT) and SIGTERM.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupt)
    began = time.perf_counter()
    urls = options.url or ([os.environ["COMFYUI_URL"]] if os.environ.get("COMFYUI_URL") else [])
    rows: list[Row] = []
    chosen = options.only or list(SECTIONS)
    with ExitStack() as stack:
        needed = not urls and any(name not in OFFLINE for name in chosen)
        servers = start_servers(stack, 1) if needed else []
        ctx = Context(urls or [s.url for s in servers], servers, options.quick)
        for name in chosen:
            print(f"{name}...", flush=True)
            started = time.perf_counter()
            rows += SECTIONS[name](ctx)
            print(f"  {name}: {time.perf_counter() - started:.1f} s", flush=True)
    mode = " (--quick)" if options.quick else ""
    print(f"\nmeasured in {time.perf_counter() - began:.0f} s{mode}\n")
    print(table(rows))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
