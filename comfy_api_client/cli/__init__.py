"""The ``comfy-api-client`` command line: run, inspect and manage workflows on ComfyUI.

Built on the public SDK only (the sync client): it holds no protocol logic of
its own. Exit codes: 0 all succeeded, 1 some prompt failed, 2 a usage or
validation error, 130 interrupted. Errors are one line; ``--debug`` shows the
traceback.
"""

from __future__ import annotations

import sys

import click

from comfy_api_client.cli.batch import batch
from comfy_api_client.cli.common import ExitCode, run_guarded
from comfy_api_client.cli.inspect import cancel, download, history, nodes, queue, stats
from comfy_api_client.cli.run import run
from comfy_api_client.cli.server import server
from comfy_api_client.cli.workflows import convert, params, validate

__all__ = ["ExitCode", "cli", "main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show tracebacks instead of one-line errors.")
@click.version_option(package_name="comfy-api-client")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Run, inspect and manage ComfyUI workflows from the shell.

    Without --url (or COMFYUI_URL) commands use the local server that
    `comfy-api-client server start` keeps running, or start a local ComfyUI
    for the command (provisioned on first use).
    """
    ctx.obj = {"debug": debug}


for command in (
    run,
    batch,
    params,
    convert,
    validate,
    queue,
    history,
    cancel,
    download,
    stats,
    nodes,
    server,
):
    cli.add_command(command)


def main(argv: list[str] | None = None) -> int:
    """The console script: run the command line, return its exit code."""
    return run_guarded(cli, argv, debug="--debug" in (argv if argv is not None else sys.argv))
