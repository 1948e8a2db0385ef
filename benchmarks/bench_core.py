"""How much the core costs per WebSocket message, against plain ``json.loads``.

    python benchmarks/bench_core.py [--rounds N]

Feeds every recorded message of tests/recordings through a fresh PromptTracker
(parse, attribute, apply transitions, settle prompts) and, as the baseline in
the same run, through ``json.loads`` alone. Prints both rates and their ratio:
the ratio is what to watch, since absolute rates depend on the machine. The
same measure, rounds interleaved, is the ``core`` section of ``python -m benchmarks``
(benchmarks/core.py).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.core import Recorded, sessions, through_json, through_tracker


def rate(fn: Callable[[list[Recorded]], int], data: list[Recorded], rounds: int) -> float:
    best = float("inf")
    count = 0
    for _ in range(rounds):
        start = time.perf_counter()
        count = fn(data)
        best = min(best, time.perf_counter() - start)
    return count / best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=50)
    rounds = parser.parse_args().rounds
    data = sessions()
    baseline = rate(through_json, data, rounds)
    core = rate(through_tracker, data, rounds)
    print(f"json.loads only : {baseline:12,.0f} messages/s")
    print(f"PromptTracker   : {core:12,.0f} messages/s")
    print(f"ratio (tracker / json.loads time): {baseline / core:.2f}x")


if __name__ == "__main__":
    main()
