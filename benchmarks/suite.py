"""What every section of ``python -m benchmarks`` shares: servers, rounds, ratios, the table.

A section is a function ``(Context) -> list[Row]``. Each row is a ratio against
a baseline measured **in the same round**, rounds interleaved (the order of the
variants reversed every other round, so drift and warm-up fall on both sides),
reported as the median with the min-max over rounds, beside its target.
"""

from __future__ import annotations

import concurrent.futures
import itertools
import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from comfy_api_client.local_server import LocalServer, provision

ROOT = Path(__file__).resolve().parent.parent
CUSTOM_NODES = ROOT / "tests" / "pool" / "custom_nodes"
TIMEOUT = 120.0
Workflow = dict[str, Any]
_colours = itertools.count(0x10000 + int(time.time()) % 0x100000)


@dataclass
class Context:
    """What a section measures with: running servers (the first is the main one)."""

    urls: list[str]
    servers: list[LocalServer]  # those this run started (empty with --url)
    quick: bool

    @property
    def url(self) -> str:
        return self.urls[0]

    def pick(self, quick: int, full: int) -> int:
        return quick if self.quick else full


@dataclass
class Row:
    """One line of the table: ``values`` are ratios (or plain figures when ``unit``)."""

    measure: str
    values: list[float]
    target: str = ""  # e.g. "<= 1.00"; empty for information
    unit: str = "x"
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    @property
    def met(self) -> bool | None:
        if not self.target:
            return None
        sign, bound = self.target.split()
        limit = float(bound.rstrip("x"))
        return self.median <= limit if sign == "<=" else self.median >= limit


def colour() -> int:
    """A colour no prompt of this run had before (so ComfyUI's cache skips nothing)."""
    return next(_colours) % 0x1000000


def trivial(size: int = 64) -> Workflow:
    """EmptyImage (a fresh colour) -> SaveImage: next to nothing for the server to do."""
    return {
        "1": {
            "class_type": "EmptyImage",
            "inputs": {"width": size, "height": size, "batch_size": 1, "color": colour()},
        },
        "2": {
            "class_type": "SaveImage",
            "inputs": {"images": ["1", 0], "filename_prefix": "bench"},
        },
    }


def interleaved(
    rounds: int, variants: dict[str, Callable[[], Any]], on_round: Callable[[int], None] = print
) -> dict[str, list[Any]]:
    """Each variant's result per round, the order reversed every other round."""
    names = list(variants)
    results: dict[str, list[Any]] = {name: [] for name in names}
    for r in range(rounds):
        for name in names if r % 2 == 0 else names[::-1]:
            results[name].append(variants[name]())
        on_round(r)
    return results


def ratios(values: Sequence[float], baseline: Sequence[float]) -> list[float]:
    """Per-round ratios ``values[i] / baseline[i]``."""
    return [v / b for v, b in zip(values, baseline, strict=True)]


def start_servers(stack: ExitStack, count: int) -> list[LocalServer]:
    """Start ``count`` local servers at once (with the test custom nodes); stopped with
    ``stack``."""
    install = provision(on_step=lambda step: print(f"provisioning ComfyUI: {step}", flush=True))
    servers = [LocalServer(install, custom_nodes=[CUSTOM_NODES]) for _ in range(count)]
    for server in servers:
        stack.callback(server.stop)
    with concurrent.futures.ThreadPoolExecutor(count) as executor:
        for started in [executor.submit(server.start) for server in servers]:
            started.result()
    return servers


def _cell(row: Row) -> tuple[str, str, str]:
    fmt = ".2f" if row.unit == "x" else ".3g"
    median = f"{row.median:{fmt}}{row.unit if row.unit == 'x' else ''}"
    spread = f"{min(row.values):{fmt}}-{max(row.values):{fmt}}"
    verdict = "" if row.met is None else ("ok" if row.met else "MISSED")
    return median, spread, f"{row.target} {verdict}".strip()


def table(rows: Sequence[Row]) -> str:
    """The rows as a plain-text table (also valid Markdown)."""
    lines = [("measure", "median", "min-max", "target", "note")]
    lines += [(row.measure, *_cell(row), row.note) for row in rows]
    widths = [max(len(line[i]) for line in lines) for i in range(5)]

    def render(line: Sequence[str]) -> str:
        return "| " + " | ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)) + " |"

    out = [render(lines[0]), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [render(line) for line in lines[1:]]
    return "\n".join(out)


def sections_rows(sections: Iterator[list[Row]]) -> list[Row]:
    return [row for rows in sections for row in rows]
