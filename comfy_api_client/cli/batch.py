"""``batch WORKFLOW --params ROWS --out DIR --url A --url B``: a durable batch on a pool.

Each row of ROWS (JSON lines, or a CSV whose header holds the names) sets the
workflow's parameters, as ``--set`` does. The pool sends each rendered prompt to
the least-loaded server that can run it; the ledger in DIR records every state
change, so the same command run again (after a crash or Ctrl-C) skips done items,
collects or waits for those still queued on a server, and sends the rest.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from comfy_api_client.batch import BatchItem
from comfy_api_client.cli.common import ExitCode, console, server_url
from comfy_api_client.cli.workflows import workflow_argument
from comfy_api_client.ledger import Ledger
from comfy_core.workflows import read_rows

__all__ = ["batch"]


@click.command()
@click.option("--url", "urls", multiple=True, envvar="COMFYUI_URL",
              help="A server of the pool; repeat for each (default: COMFYUI_URL, the "
                   "managed local server, or a new one).")  # fmt: skip
@workflow_argument
@click.option("--params", "rows", required=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Rows: .jsonl (an object per line) or .csv (a header of names).")  # fmt: skip
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Output folder; it holds the batch's ledger (ledger.sqlite).")  # fmt: skip
@click.option("--window", type=click.IntRange(min=1), default=None,
              help="Items in flight at once (default: twice the servers).")  # fmt: skip
@click.option("--max-in-flight", type=click.IntRange(min=1), default=None,
              help="Prompts per server at most.")  # fmt: skip
@click.option("--timeout", type=float, default=600.0, show_default=True,
              help="Seconds to wait for the next item to finish.")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="One JSON object per item on stdout.")
def batch(
    urls: tuple[str, ...],
    workflow: Path,
    rows: Path,
    out: Path,
    window: int | None,
    max_in_flight: int | None,
    timeout: float,
    as_json: bool,
) -> None:
    """Run WORKFLOW (API/UI JSON, a saved PNG, or a NAME.template.json manifest) once
    per row of --params, spread over every --url; outputs and ledger go to --out.

    Exit 0 when every item is done, 1 when some failed, 2 for a usage error, 130
    when interrupted (what is queued keeps running; run the command again to collect it).
    """
    from comfy_api_client.sync import create_pool

    params = read_rows(rows)
    started = time.monotonic()
    with _servers(urls, quiet=as_json) as bases, create_pool(bases, max_in_flight=max_in_flight,
                                                              timeout=timeout) as pool:  # fmt: skip
        items = pool.map(params, template=workflow, out=out, window=window, timeout=timeout)
        if as_json:
            failed = sum(_print_json(item) for item in items) > 0
        else:
            failed = _show(pool, items, len(params), _done_before(out))
    if not as_json:
        _summary(out, time.monotonic() - started)
    if failed:
        raise click.exceptions.Exit(ExitCode.FAILED)


@contextmanager
def _servers(urls: tuple[str, ...], *, quiet: bool) -> Iterator[list[str]]:
    if urls:
        yield list(urls)
        return
    with server_url(None, quiet=quiet) as base:
        yield [base]


def _print_json(item: BatchItem) -> bool:
    record: dict[str, Any] = {
        "index": item.index,
        "state": item.state,
        "server": item.server,
        "prompt_id": item.prompt_id,
        "files": [str(path) for path in item.files],
    }
    if item.error is not None:
        record["error"] = item.error
    print(json.dumps(record), flush=True)
    return not item.ok


class _Lanes(TextColumn):
    """A server's lane: its state, prompts in flight and done, read live from the pool."""

    def __init__(self, pool: Any) -> None:
        super().__init__("")
        self.pool = pool

    def render(self, task: Any) -> Any:
        server = task.fields.get("server")
        if server is None:
            return super().render(task)
        status = next(s for s in self.pool.status() if s.server == server)
        mean = f"{status.mean_seconds:.1f} s/item" if status.mean_seconds else ""
        colour = "green" if status.state == "up" else "red"
        text = (f"[{colour}]{status.state:>4}[/{colour}]  {status.in_flight} in flight  "
                f"{status.done} done  {status.failed} failed  {mean}")  # fmt: skip
        return Text.from_markup(text)


def _done_before(out: Path) -> int:
    """Items an earlier run of this batch finished (the new run skips them)."""
    if not (out / Ledger.FILENAME).exists():
        return 0
    with Ledger.open(out) as ledger:
        return ledger.counts()["done"]


def _show(pool: Any, items: Iterator[BatchItem], total: int, done_before: int) -> bool:
    """A progress bar over the batch and a lane per server; True if some item failed."""
    failed = False
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn(), _Lanes(pool))  # fmt: skip
    with Progress(*columns, console=console, refresh_per_second=4) as progress:
        overall = progress.add_task("batch", total=total, completed=done_before)
        # A lane per server: its bar counts the items it finished in this run.
        lanes = {server: progress.add_task(server, total=total, server=server)
                 for server in pool.servers}  # fmt: skip
        for item in items:
            progress.advance(overall)
            for status in pool.status():
                progress.update(lanes[status.server], completed=status.done)
            if not item.ok:
                failed = True
                progress.console.print(f"[red]item {item.index} failed[/red]: ", end="")
                progress.console.print(item.error, markup=False)
    return failed


def _summary(out: Path, elapsed: float) -> None:
    """Counts, failures, and time per item per server, from the ledger (all runs)."""
    with Ledger.open(out) as ledger:
        counts = ledger.counts()
        done = ledger.items("done")
        failed = ledger.items("failed")
    per_server: dict[str, list[float]] = {}
    for item in done:
        per_server.setdefault(item.server or "?", []).append(item.seconds or 0.0)
    table = Table("server", "items", "mean s/item", "median s/item")
    for server, seconds in sorted(per_server.items()):
        table.add_row(server, str(len(seconds)), f"{statistics.fmean(seconds):.2f}",
                      f"{statistics.median(seconds):.2f}")  # fmt: skip
    console.print(table)
    line = ", ".join(
        f"{counts[state]} {state}" for state in ("done", "failed", "queued", "pending")
    )
    console.print(f"{line} in {elapsed:.1f} s; outputs in {out}", markup=False)
    for item in failed:
        console.print(f"[red]failed[/red] item {item.index}: ", end="")
        console.print(item.error or "", markup=False)
