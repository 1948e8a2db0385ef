"""How long converting a UI workflow takes, next to ``json.loads`` of the same file.

    python benchmarks/bench_convert.py [--rounds N]

Converts every workflow of the committed corpus (tests/workflows/corpus: the
shipped templates and the hand-made cases) with
``Workflow.from_ui(ui, object_info, missing_nodes="keep")``, each from its JSON
text, and as the baseline in the same run parses the same text with
``json.loads`` alone. Prints the time per workflow for both, the ratio, and the
slowest workflows. Cases the frontend itself cannot export are skipped. The
same measure, rounds interleaved, is the ``convert`` section of
``python -m benchmarks`` (benchmarks/convert.py).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.convert import convert, corpus, object_info


def timed(run: Callable[[], object], rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    info = object_info()
    files = corpus()
    total_json = timed(lambda: [json.loads(t) for _, t in files], args.rounds)
    total_conv = timed(lambda: [convert(t, info) for _, t in files], args.rounds)
    n = len(files)
    size = sum(len(t) for _, t in files) / n / 1024
    print(f"{n} workflows, {size:.1f} KiB of JSON each on average, best of {args.rounds} rounds")
    print(f"json.loads         {total_json / n * 1e3:8.3f} ms per workflow")
    print(f"Workflow.from_ui   {total_conv / n * 1e3:8.3f} ms per workflow (json.loads included)")
    print(f"ratio              {total_conv / total_json:8.1f}x")
    slowest = sorted(
        ((timed(partial(convert, text, info), 3), name) for name, text in files), reverse=True
    )
    print("slowest:")
    for seconds, name in slowest[:5]:
        print(f"  {seconds * 1e3:8.3f} ms  {name}")


if __name__ == "__main__":
    main()
