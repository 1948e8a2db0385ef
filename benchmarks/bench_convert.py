"""How long converting a UI workflow takes, next to ``json.loads`` of the same file.

    python benchmarks/bench_convert.py [--rounds N]

Converts every workflow of the committed corpus (tests/workflows/corpus: the
shipped templates and the hand-made cases) with
``Workflow.from_ui(ui, object_info, missing_nodes="keep")``, each from its JSON
text, and as the baseline in the same run parses the same text with
``json.loads`` alone. Prints the time per workflow for both, the ratio, and the
slowest workflows. Cases the frontend itself cannot export are skipped.
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

from comfy_core.errors import WorkflowFormatError
from comfy_core.workflows import Workflow

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "workflows" / "corpus"


def corpus() -> list[tuple[str, str]]:
    found = []
    for path in sorted(CORPUS.glob("*/*.ui.json")):
        api = json.loads(path.with_name(path.name.replace(".ui.", ".api.")).read_text())
        if "__error__" not in api:
            found.append((f"{path.parent.name}/{path.name}", path.read_text(encoding="utf-8")))
    return found


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
    info = json.loads((CORPUS / "object_info.json").read_text())
    files = corpus()

    def convert(text: str) -> object:
        try:
            return Workflow.from_ui(json.loads(text), info, missing_nodes="keep")
        except WorkflowFormatError:
            return None

    total_json = timed(lambda: [json.loads(t) for _, t in files], args.rounds)
    total_conv = timed(lambda: [convert(t) for _, t in files], args.rounds)
    n = len(files)
    size = sum(len(t) for _, t in files) / n / 1024
    print(f"{n} workflows, {size:.1f} KiB of JSON each on average, best of {args.rounds} rounds")
    print(f"json.loads         {total_json / n * 1e3:8.3f} ms per workflow")
    print(f"Workflow.from_ui   {total_conv / n * 1e3:8.3f} ms per workflow (json.loads included)")
    print(f"ratio              {total_conv / total_json:8.1f}x")
    slowest = sorted(
        ((timed(partial(convert, text), 3), name) for name, text in files), reverse=True
    )
    print("slowest:")
    for seconds, name in slowest[:5]:
        print(f"  {seconds * 1e3:8.3f} ms  {name}")


if __name__ == "__main__":
    main()
