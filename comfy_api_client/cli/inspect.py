"""Commands that look at or act on a server: queue, history, cancel, download, stats, nodes."""

from __future__ import annotations

import fnmatch
from pathlib import Path

import click
from rich.table import Table

from comfy_api_client.cli.common import console, untracked_client, url_option

__all__ = ["cancel", "download", "history", "nodes", "queue", "stats"]


@click.command()
@url_option
def queue(url: str | None) -> None:
    """The server's queue: the running prompt and the pending ones, in run order."""
    with untracked_client(url) as client:
        state = client.get_queue()
    table = Table("state", "number", "prompt id", "nodes")
    for kind, entries in (("running", state.running), ("pending", state.pending)):
        for entry in entries:
            table.add_row(kind, f"{entry.number:g}", entry.prompt_id, str(len(entry.prompt)))
    console.print(table if table.rows else "the queue is empty")


@click.command()
@url_option
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True)
def history(url: str | None, limit: int) -> None:
    """The newest finished prompts: status and outputs."""
    with untracked_client(url) as client:
        jobs = client.list_jobs(status=["completed", "failed"], limit=limit)
    table = Table("prompt id", "status", "outputs", "seconds")
    for job in jobs:
        duration = job.execution_duration
        seconds = f"{duration / 1000:.2f}" if duration is not None else ""
        table.add_row(job.id, job.status, str(job.outputs_count or 0), seconds)
    console.print(table if table.rows else "no history")


@click.command()
@url_option
@click.argument("prompt_ids", nargs=-1)
@click.option("--all", "everything", is_flag=True, help="Cancel every queued and running prompt.")
def cancel(url: str | None, prompt_ids: tuple[str, ...], everything: bool) -> None:
    """Cancel prompts: delete pending ones, interrupt a running one."""
    if not prompt_ids and not everything:
        raise click.UsageError("name PROMPT_ID... or give --all")
    with untracked_client(url) as client:
        if everything:
            state = client.get_queue()
            prompt_ids = tuple(e.prompt_id for e in (*state.pending, *state.running))
        for prompt_id in prompt_ids:
            outcome = client.cancel(prompt_id)
            console.print(f"{prompt_id}: {outcome.value}")


@click.command()
@url_option
@click.argument("prompt_id")
@click.option("--out", type=click.Path(path_type=Path), default=Path("out"), show_default=True)
def download(url: str | None, prompt_id: str, out: Path) -> None:
    """Download every output file of a finished prompt into --out."""
    with untracked_client(url) as client:
        result = client.fetch_results(prompt_id)
        for ref in result.files:
            path = client.download_to(ref, out / ref.node_id / ref.filename)
            console.print(f"{path} ({path.stat().st_size} bytes)")


@click.command()
@url_option
def stats(url: str | None) -> None:
    """Server versions, devices and memory."""
    with untracked_client(url) as client:
        found = client.get_system_stats()
    system = found.system
    python = (system.python_version or "?").split()[0]
    console.print(
        f"ComfyUI {system.comfyui_version}, Python {python}, PyTorch {system.pytorch_version}"
    )
    table = Table("device", "type", "VRAM total", "VRAM free")
    for device in found.devices:
        table.add_row(device.name, device.type, _mib(device.vram_total), _mib(device.vram_free))
    console.print(table)
    if system.ram_total is not None:
        console.print(f"RAM {_mib(system.ram_free)} free of {_mib(system.ram_total)}")


def _mib(value: object) -> str:
    return f"{int(value) / 2**20:,.0f} MiB" if isinstance(value, (int, float)) else ""


@click.command()
@url_option
@click.argument("pattern", default="*")
def nodes(url: str | None, pattern: str) -> None:
    """Node classes matching PATTERN (a glob, case-insensitive), with their inputs."""
    with untracked_client(url) as client:
        info = client.get_object_info()
    wanted = pattern if any(c in pattern for c in "*?[") else f"*{pattern}*"
    table = Table("class", "inputs")
    for name in sorted(info):
        if fnmatch.fnmatch(name.lower(), wanted.lower()):
            schema = info[name]
            inputs = ", ".join(
                f"{i.name}: {i.type}" for i in schema.inputs if i.section != "hidden"
            )
            table.add_row(name, inputs)
    console.print(table if table.rows else f"no node class matches {pattern!r}")
