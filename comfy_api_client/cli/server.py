"""``server start|stop|status``: the managed local ComfyUI, kept running between commands."""

from __future__ import annotations

import shutil
from pathlib import Path

import click

from comfy_api_client.cli import state
from comfy_api_client.cli.common import ExitCode, Failure, console, provisioned

__all__ = ["server"]


@click.group()
def server() -> None:
    """Manage the local ComfyUI that other commands use when no --url is given."""


@server.command()
@click.option("--port", type=int, default=None, help="Port to listen on (default: a free one).")
def start(port: int | None) -> None:
    """Provision (first time) and start the local server; it runs until `server stop`."""
    from comfy_api_client.local_server import LocalServer

    running = state.running_server()
    if running is not None:
        console.print(f"already running at {running['url']} (pid {running['pid']})")
        return
    run_dir = state.record_path().with_name("server-run")
    shutil.rmtree(run_dir, ignore_errors=True)
    local = LocalServer(provisioned(), port=port, run_dir=run_dir, detach=True)
    local.start()
    assert local.process is not None
    state.record(local.process.pid, local.url, str(run_dir))
    console.print(f"ComfyUI running at {local.url} (pid {local.process.pid})")


@server.command()
def stop() -> None:
    """Stop the local server and remove its temporary folders."""
    from comfy_api_client.local_server import stop_pid

    running = state.running_server()
    if running is None:
        state.clear()
        console.print("not running")
        return
    stop_pid(running["pid"])
    shutil.rmtree(Path(running["run_dir"]), ignore_errors=True)
    state.clear()
    console.print(f"stopped the server at {running['url']} (pid {running['pid']})")


@server.command()
def status() -> None:
    """Say whether the local server runs, and where (exit 1 when it does not)."""
    running = state.running_server()
    if running is None:
        console.print("not running")
        raise Failure("no local server is running", ExitCode.FAILED) from None
    console.print(f"running at {running['url']} (pid {running['pid']})")
