"""Commands on workflow files: convert (UI to API) and validate (offline, as the server would)."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.table import Table

from comfy_api_client.cli.common import (
    ExitCode,
    Failure,
    console,
    err_console,
    untracked_client,
    url_option,
)
from comfy_api_client.sync import Client
from comfy_core.errors import NodeError, WorkflowValidationError
from comfy_core.validation import validate_prompt
from comfy_core.workflows import Workflow

__all__ = ["check", "convert", "describe_errors", "params", "validate"]

workflow_argument = click.argument(
    "workflow", type=click.Path(exists=True, dir_okay=False, path_type=Path)
)


def describe_errors(workflow: Workflow, errors: tuple[NodeError, ...]) -> list[str]:
    """One line per bad input: node id, title, class, input, message, what is allowed."""
    lines = []
    for node in errors:
        info = workflow.nodes.get(node.node_id)
        title = f' "{info.title}"' if info is not None and info.title else ""
        head = f"node {node.node_id}{title} ({node.class_type or '?'})"
        for error in node.errors or ():
            lines.append(f"{head} {error.describe()}")
        if not node.errors:
            lines.append(head)
    return lines


def check(client: Client, workflow: Workflow) -> None:
    """Validate offline against the server's object_info; :class:`Failure` (exit 2) with
    every node error when the server would refuse it."""
    try:
        validate_prompt(workflow.to_api(), client.get_object_info())
    except WorkflowValidationError as exc:
        lines = describe_errors(workflow, exc.node_errors) or [str(exc)]
        body = "\n".join(f"  {line}" for line in lines)
        raise Failure(
            f"the workflow does not validate ({exc.error_type}):\n{body}", ExitCode.USAGE
        ) from exc


@click.command()
@url_option
@workflow_argument
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None)
def convert(url: str | None, workflow: Path, output: Path | None) -> None:
    """Convert a UI workflow (or a PNG ComfyUI saved) to the API format, as the frontend does."""
    with untracked_client(url) as client:
        loaded = client.load_workflow(workflow)
    text = json.dumps(loaded.to_api(), indent=2, ensure_ascii=False)
    if output is None:
        click.echo(text)
    else:
        output.write_text(text + "\n")
        err_console.print(f"wrote {output} ({len(loaded.nodes)} nodes)")


@click.command()
@url_option
@workflow_argument
def validate(url: str | None, workflow: Path) -> None:
    """Check a workflow offline against the server's nodes: exit 0 if valid, else 2."""
    with untracked_client(url) as client:
        loaded = client.load_workflow(workflow)
        check(client, loaded)
    console.print(f"{workflow}: valid ({len(loaded.nodes)} nodes)")


@click.command()
@url_option
@workflow_argument
def params(url: str | None, workflow: Path) -> None:
    """The workflow's parameters: name, type, value, range or choices, seed mode."""
    with untracked_client(url) as client:
        loaded = client.load_workflow(workflow)
        found = loaded.parameters(client.get_object_info())
    table = Table("name", "type", "value", "allowed", "seed")
    for param in found:
        value = param.value if not isinstance(param.value, str) else repr(param.value)
        table.add_row(param.name, param.type, str(value)[:60], param.allowed(),
                      param.control or ("yes" if param.seed else ""))  # fmt: skip
    console.print(table)
