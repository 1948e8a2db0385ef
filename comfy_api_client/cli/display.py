"""How ``run`` shows its prompts: a live table on a terminal, lines elsewhere, JSON for scripts.

Callbacks arrive on the client's threads; every reporter takes a lock, and the
live display re-renders from the shared state a few times a second.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from rich.console import Group, RenderableType
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from comfy_api_client.cli.common import console

__all__ = ["JsonReporter", "LineReporter", "LiveReporter", "PromptLine", "Reporter", "reporter"]


@dataclass
class PromptLine:
    """What is known of one prompt of the run."""

    index: int
    prompt_id: str
    nodes: int
    state: str = "queued"
    node: str | None = None
    title: str | None = None
    started: int = 0
    step: tuple[float, float] | None = None
    previews: int = 0
    preview_bytes: int = 0
    error: str | None = None
    fraction: float = 0.0
    seen: set[str] = field(default_factory=set)

    def describe(self) -> str:
        if self.state == "running":
            where = f"node {self.started} of {self.nodes}"
            if self.title or self.node:
                where += f" {self.title or self.node!s}"
            if self.step is not None:
                where += f", step {self.step[0]:g}/{self.step[1]:g}"
            if self.previews:
                plural = "s" if self.previews != 1 else ""
                where += f", {self.previews} preview{plural} ({self.preview_bytes / 1024:.0f} KiB)"
            return where
        if self.state == "failed":
            return f"failed: {self.error}"
        return self.state


class Reporter:
    """Tells the user about the run; subclasses decide how."""

    def __init__(self, titles: Mapping[str, str | None]) -> None:
        self.titles = titles
        self.lines: dict[str, PromptLine] = {}
        self.lock = threading.Lock()
        self.started = time.monotonic()

    def __enter__(self) -> Reporter:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def queued(self, index: int, prompt_id: str, nodes: int) -> None:
        with self.lock:
            self.lines[prompt_id] = PromptLine(index=index, prompt_id=prompt_id, nodes=nodes)
        self.emit({"event": "queued", "prompt_id": prompt_id, "index": index})

    def node(self, prompt_id: str, node: str) -> None:
        with self.lock:
            line = self.lines.get(prompt_id)
            if line is None:
                return
            line.state = "running"
            if node not in line.seen:
                line.seen.add(node)
                line.started = len(line.seen)
            line.node, line.title, line.step = node, self.titles.get(node), None
        self.emit({"event": "node", "prompt_id": prompt_id, "node": node,
                   "title": self.titles.get(node)})  # fmt: skip

    def progress(self, prompt_id: str, node: str | None, value: float, maximum: float,
                 fraction: float) -> None:  # fmt: skip
        with self.lock:
            line = self.lines.get(prompt_id)
            if line is None:
                return
            line.fraction = fraction
            if maximum > 1:
                line.step = (value, maximum)
        self.emit({"event": "progress", "prompt_id": prompt_id, "node": node, "value": value,
                   "max": maximum, "fraction": round(fraction, 4)})  # fmt: skip

    def preview(self, prompt_id: str, size: int, mime: str) -> None:
        with self.lock:
            line = self.lines.get(prompt_id)
            if line is not None:
                line.previews += 1
                line.preview_bytes += size
        self.emit({"event": "preview", "prompt_id": prompt_id, "bytes": size, "mime": mime})

    def finished(self, prompt_id: str, error: str | None = None) -> None:
        with self.lock:
            line = self.lines.get(prompt_id)
            if line is not None:
                line.state = "failed" if error else "done"
                line.error = error
                line.fraction = 1.0
        event: dict[str, Any] = {"event": "failed" if error else "done", "prompt_id": prompt_id}
        if error:
            event["error"] = error
        self.emit(event)

    def saved(self, prompt_id: str, node: str, path: str, size: int,
              dims: tuple[int, int] | None) -> None:  # fmt: skip
        self.emit({"event": "saved", "prompt_id": prompt_id, "node": node, "file": path,
                   "bytes": size, "width": dims[0] if dims else None,
                   "height": dims[1] if dims else None})  # fmt: skip

    def emit(self, event: dict[str, Any]) -> None:
        """One thing that happened (the JSON reporter prints it)."""


class JsonReporter(Reporter):
    """One JSON object per line on stdout, and nothing else there."""

    def emit(self, event: dict[str, Any]) -> None:
        with self.lock:
            sys.stdout.write(json.dumps(event) + "\n")
            sys.stdout.flush()


class LineReporter(Reporter):
    """A line per prompt when it is queued, finishes or fails (for logs and pipes)."""

    def emit(self, event: dict[str, Any]) -> None:
        kind = event["event"]
        if kind in ("queued", "done", "failed"):
            extra = f": {event['error']}" if kind == "failed" else ""
            console.print(f"{event['prompt_id']} {kind}{extra}", markup=False)


class LiveReporter(Reporter):
    """A live table (one row per prompt) and an overall bar with elapsed time."""

    def __enter__(self) -> LiveReporter:
        self._live = Live(
            get_renderable=self.render, console=console, refresh_per_second=8, transient=False
        )
        self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._live.refresh()
        self._live.__exit__(None, None, None)

    def render(self) -> RenderableType:
        with self.lock:
            lines = sorted(self.lines.values(), key=lambda line: line.index)
            table = Table(box=None, show_header=False, pad_edge=False)
            table.add_column(width=9)
            table.add_column(width=8)
            table.add_column()
            for line in lines:
                style = {"done": "green", "failed": "red", "running": "cyan"}.get(line.state, "")
                table.add_row(f"#{line.index + 1}", line.prompt_id[:8],
                              Text(line.describe(), style=style))  # fmt: skip
            done = sum(1 for line in lines if line.state in ("done", "failed"))
            total = max(1, len(lines))
            overall = sum(line.fraction for line in lines) / total
        elapsed = time.monotonic() - self.started
        bar = ProgressBar(total=1.0, completed=overall, width=40)
        footer = Table.grid(padding=(0, 1))
        footer.add_row(bar, Text(f"{done}/{len(lines)} done  {elapsed:5.1f} s"))
        return Group(table, footer)


def reporter(titles: Mapping[str, str | None], *, as_json: bool) -> Reporter:
    """The reporter for this output: JSON, a live display on a terminal, or lines."""
    if as_json:
        return JsonReporter(titles)
    if console.is_terminal:
        return LiveReporter(titles)
    return LineReporter(titles)
