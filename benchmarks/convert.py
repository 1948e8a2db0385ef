"""UI -> API conversion: ``Workflow.from_ui`` of the committed corpus against ``json.loads``.

Each round converts every workflow of tests/workflows/corpus (the shipped
templates and the hand-made cases the frontend can export) from its JSON text,
``json.loads`` included, with ``missing_nodes="keep"``; the baseline of the same
round is ``json.loads`` of the same texts alone. Information, no target. No
server is needed.
"""

from __future__ import annotations

import gc
import json
import time
from collections.abc import Callable
from typing import Any

from benchmarks.suite import ROOT, Context, Row, interleaved, ratios
from comfy_core.errors import WorkflowFormatError
from comfy_core.workflows import Workflow

CORPUS = ROOT / "tests" / "workflows" / "corpus"


def corpus() -> list[tuple[str, str]]:
    """(name, UI JSON text) of every workflow the frontend can export."""
    found = []
    for path in sorted(CORPUS.glob("*/*.ui.json")):
        api = json.loads(path.with_name(path.name.replace(".ui.", ".api.")).read_text())
        if "__error__" not in api:
            found.append((f"{path.parent.name}/{path.name}", path.read_text(encoding="utf-8")))
    return found


def object_info() -> dict[str, Any]:
    info: dict[str, Any] = json.loads((CORPUS / "object_info.json").read_text())
    return info


def convert(text: str, info: dict[str, Any]) -> Workflow | None:
    """One UI workflow from its text to API format (None where it is not convertible)."""
    try:
        return Workflow.from_ui(json.loads(text), info, missing_nodes="keep")
    except WorkflowFormatError:
        return None


def timed(run: Callable[[], object]) -> float:
    gc.collect()
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def section(ctx: Context) -> list[Row]:
    files, info = corpus(), object_info()
    texts = [text for _, text in files]
    for text in texts:  # warm up
        convert(text, info)
    rounds = ctx.pick(7, 15)
    results = interleaved(rounds, {
        "json": lambda: timed(lambda: [json.loads(t) for t in texts]),
        "convert": lambda: timed(lambda: [convert(t, info) for t in texts]),
    }, lambda r: None)  # fmt: skip
    n = len(texts)
    kib = sum(len(t) for t in texts) / n / 1024
    note = (
        f"{n} workflows of {kib:.1f} KiB on average; per workflow"
        f" from_ui {min(results['convert']) / n * 1e3:.2f} ms (json.loads included),"
        f" json.loads {min(results['json']) / n * 1e3:.3f} ms"
    )
    return [Row("convert: from_ui / json.loads", ratios(results["convert"], results["json"]),
                note=note)]  # fmt: skip
