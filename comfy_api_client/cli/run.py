"""``run WORKFLOW``: validate, queue, watch and save one workflow file (API, UI or PNG)."""

from __future__ import annotations

import concurrent.futures
import time
from dataclasses import dataclass
from pathlib import Path

import click
from rich.table import Table

from comfy_api_client.base import Receipt
from comfy_api_client.cli.common import ExitCode, console, server_url, url_option
from comfy_api_client.cli.display import Reporter, reporter
from comfy_api_client.cli.values import (
    batch,
    is_template,
    parse_assignments,
    render_template,
    seed_policy,
)
from comfy_api_client.cli.workflows import check, workflow_argument
from comfy_api_client.sync import Client, create_client
from comfy_core.errors import ComfyError
from comfy_core.events import NodeStarted, PreviewReceived
from comfy_core.progress import Progress
from comfy_core.results import PromptResult
from comfy_core.workflows import Workflow

__all__ = ["run"]


@dataclass(frozen=True)
class Saved:
    prompt_id: str
    node: str
    path: Path
    size: int
    dims: tuple[int, int] | None


@click.command()
@url_option
@workflow_argument
@click.option("--set", "assignments", multiple=True, metavar="NAME=VALUE",
              help="Set a parameter (a template name or Title.input); repeatable.")  # fmt: skip
@click.option("--count", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--seed", default=None, metavar="MODE|INT",
              help="fixed, increment, decrement, randomize, or a first seed.")  # fmt: skip
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("out"),
              show_default=True)  # fmt: skip
@click.option("--timeout", type=float, default=600.0, show_default=True,
              help="Seconds to wait for all prompts.")  # fmt: skip
@click.option("--no-validate", is_flag=True, help="Skip the offline check before queueing.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line on stdout.")
def run(
    url: str | None,
    workflow: Path,
    assignments: tuple[str, ...],
    count: int,
    seed: str | None,
    out: Path,
    timeout: float,
    no_validate: bool,
    as_json: bool,
) -> None:
    """Run WORKFLOW (API JSON, UI JSON, a PNG saved by ComfyUI, or a NAME.template.json
    manifest whose parameters --set names) and save its outputs.

    Exit 0 when every prompt succeeded, 1 when some failed, 2 for a usage or
    validation error, 130 when interrupted (Ctrl-C cancels what this run queued).
    """
    policy = seed_policy(seed)
    with server_url(url, quiet=as_json) as base, create_client(base, timeout=timeout) as client:
        object_info = client.get_object_info()
        if is_template(workflow):  # --set names its parameters, or Title.input
            loaded, assignments = render_template(workflow, assignments, object_info)
        else:
            loaded = client.load_workflow(workflow)
        loaded = parse_assignments(loaded, assignments, object_info)
        prompts = batch(loaded, count, policy, object_info)
        if not no_validate:
            check(client, prompts[0])
        titles = {node_id: info.title for node_id, info in loaded.nodes.items()}
        with reporter(titles, as_json=as_json) as report:
            results, failures = _run_all(client, prompts, report, timeout)
            saved = [s for r in results for s in _save(client, r, out, report)]
    if not as_json:
        _summary(saved, failures)
    if failures:
        raise click.exceptions.Exit(ExitCode.FAILED)


def _run_all(
    client: Client, prompts: list[Workflow], report: Reporter, timeout: float
) -> tuple[list[PromptResult], dict[str, str]]:
    submitted: list[Receipt] = []
    try:
        for index, prompt in enumerate(prompts):
            submitted.append(_submit(client, prompt, index, report))
        return _wait_all(client, submitted, report, timeout)
    except KeyboardInterrupt:
        _cancel_ours(client, submitted)
        raise


def _submit(client: Client, workflow: Workflow, index: int, report: Reporter) -> Receipt:
    holder: dict[str, str] = {}

    def on_node(event: NodeStarted) -> None:
        report.node(holder["id"], event.display_node or event.node)

    def on_progress(progress: Progress) -> None:
        report.progress(holder["id"], progress.node, progress.value, progress.max,
                        progress.fraction)  # fmt: skip

    def on_preview(event: PreviewReceived) -> None:
        report.preview(holder["id"], len(event.image), event.mime)

    import uuid

    holder["id"] = str(uuid.uuid4())  # known before any event can arrive
    receipt = client.submit_workflow(
        workflow, prompt_id=holder["id"], on_node=on_node, on_progress=on_progress,
        on_preview=on_preview,
    )  # fmt: skip
    report.queued(index, receipt.prompt_id, len(workflow.nodes))
    return receipt


def _wait_all(
    client: Client, submitted: list[Receipt], report: Reporter, timeout: float
) -> tuple[list[PromptResult], dict[str, str]]:
    futures = {p.future: p for p in submitted if p.future is not None}
    results: list[PromptResult] = []
    failures: dict[str, str] = {}
    deadline = time.monotonic() + timeout
    pending = set(futures)
    while pending:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        # Short waits keep the main thread responsive to Ctrl-C.
        done, pending = concurrent.futures.wait(pending, min(left, 0.2), "FIRST_COMPLETED")
        for future in done:
            prompt = futures[future]
            error = future.exception()
            if error is None:
                results.append(future.result())
                report.finished(prompt.prompt_id)
            else:
                failures[prompt.prompt_id] = f"{type(error).__name__}: {error}"
                report.finished(prompt.prompt_id, failures[prompt.prompt_id])
    for future in pending:
        prompt = futures[future]
        failures[prompt.prompt_id] = f"WaitTimeout: not finished within {timeout:g} s"
        report.finished(prompt.prompt_id, failures[prompt.prompt_id])
    _cancel_ours(client, [futures[f] for f in pending])
    return results, failures


def _cancel_ours(client: Client, prompts: list[Receipt]) -> None:
    """Delete our pending prompts and interrupt our running one (never anyone else's)."""
    for prompt in prompts:
        if prompt.future is not None and prompt.future.done():
            continue
        try:
            client.cancel(prompt)
        except ComfyError as exc:
            console.print(f"could not cancel {prompt.prompt_id}: {exc}", markup=False)


def _save(client: Client, result: PromptResult, out: Path, report: Reporter) -> list[Saved]:
    saved = []
    for ref, item in result.downloaded():
        path = out / f"{result.prompt_id[:8]}_{ref.filename}"
        if item is not None:  # already downloaded with the result
            out.mkdir(parents=True, exist_ok=True)
            path.write_bytes(item.data)
            dims: tuple[int, int] | None = item.image.size
        else:
            client.download_to(ref, path)
            dims = None
        entry = Saved(result.prompt_id, ref.node_id, path, path.stat().st_size, dims)
        report.saved(entry.prompt_id, entry.node, str(entry.path), entry.size, entry.dims)
        saved.append(entry)
    return saved


def _summary(saved: list[Saved], failures: dict[str, str]) -> None:
    if saved:
        table = Table("node", "file", "size", "dimensions")
        for entry in saved:
            dims = f"{entry.dims[0]}x{entry.dims[1]}" if entry.dims else ""
            table.add_row(entry.node, str(entry.path), f"{entry.size:,} B", dims)
        console.print(table)
    for prompt_id, error in failures.items():
        console.print(f"[red]failed[/red] {prompt_id}: ", end="")
        console.print(error, markup=False)
    if not saved and not failures:
        console.print("no outputs")
