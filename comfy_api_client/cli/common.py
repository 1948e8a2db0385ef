"""What every command shares: exit codes, one-line errors, the console, the server URL."""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Iterator
from enum import IntEnum
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console

from comfy_api_client.cli import state
from comfy_core.errors import ComfyError, LocalProtocolError, WorkflowValidationError

if TYPE_CHECKING:
    from comfy_api_client.sync import Client

__all__ = [
    "ExitCode",
    "console",
    "err_console",
    "run_guarded",
    "server_url",
    "untracked_client",
    "url_option",
]


class ExitCode(IntEnum):
    OK = 0
    FAILED = 1  # some prompt failed
    USAGE = 2  # bad arguments, or a workflow that does not validate
    INTERRUPTED = 130


# Rich turns colour and live displays off when the stream is no terminal and under NO_COLOR.
console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


class Failure(click.ClickException):
    """A one-line error with its exit code."""

    def __init__(self, message: str, code: int = ExitCode.FAILED) -> None:
        super().__init__(message)
        self.code = code


def run_guarded(command: click.Command, argv: list[str] | None, *, debug: bool) -> int:
    """Run ``command``; SDK errors become one line on stderr and an exit code."""
    try:
        # Outside standalone mode click returns an Exit's code rather than raising it.
        code = command.main(args=argv, prog_name="comfy-api-client", standalone_mode=False)
        if isinstance(code, int):
            return code
    except click.exceptions.Abort:
        return ExitCode.INTERRUPTED
    except Failure as exc:
        exc.show()
        return exc.code
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except KeyboardInterrupt:
        err_console.print("interrupted")
        return ExitCode.INTERRUPTED
    except (ComfyError, OSError) as exc:
        if debug:
            raise
        usage = isinstance(exc, (WorkflowValidationError, LocalProtocolError))
        code = ExitCode.USAGE if usage else ExitCode.FAILED
        err_console.print(f"error: {type(exc).__name__}: {exc}", markup=False)
        return code
    return ExitCode.OK


url_option = click.option(
    "--url",
    envvar="COMFYUI_URL",
    default=None,
    help="ComfyUI base URL (default: COMFYUI_URL, the managed local server, or a new one).",
)


@contextlib.contextmanager
def server_url(url: str | None, *, quiet: bool = False) -> Iterator[str]:
    """``url``; else the managed local server's; else a local ComfyUI started for the
    command, with a progress display while it is provisioned and booted."""
    if url:
        yield url
        return
    managed = state.running_server()
    if managed is not None:
        yield managed["url"]
        return
    from comfy_api_client.local_server import LocalServer

    local = LocalServer(provisioned(quiet=quiet))
    if quiet or not err_console.is_terminal:
        if not quiet:
            print("starting a local ComfyUI for this command...", file=sys.stderr, flush=True)
        local.start()
    else:
        with err_console.status("starting a local ComfyUI for this command..."):
            local.start()
    try:
        yield local.url
    finally:
        local.stop()


def provisioned(*, quiet: bool = False) -> Any:
    """The provisioned install, building it with a live display the first time."""
    from comfy_api_client.local_server import provision

    if quiet or not err_console.is_terminal:
        started = time.monotonic()

        def note(step: str) -> None:
            if not quiet:
                elapsed = time.monotonic() - started
                print(f"[{elapsed:5.1f}s] {step}", file=sys.stderr, flush=True)

        return provision(on_step=note)
    with err_console.status("checking the local ComfyUI install...") as status:
        started = time.monotonic()

        def show(step: str) -> None:
            status.update(f"{step}  [dim]({time.monotonic() - started:.0f} s)[/dim]")

        return provision(on_step=show)


@contextlib.contextmanager
def untracked_client(url: str | None) -> Iterator[Client]:
    """A sync client without a feed, on ``url`` or the server :func:`server_url` finds:
    for commands that ask and act, but submit nothing to watch."""
    from comfy_api_client.sync import create_client

    with server_url(url) as base, create_client(base, start_state_tracker=None) as client:
        yield client
