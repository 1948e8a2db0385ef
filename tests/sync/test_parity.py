"""The sync and async clients have the same public methods with the same parameters,
and the generated sync endpoints are up to date."""

from __future__ import annotations

import inspect
import subprocess
import sys
from pathlib import Path

from comfy_api_client import ComfyAPIClient
from comfy_api_client import create_client as create_async
from comfy_api_client.sync import Client
from comfy_api_client.sync import create_client as create_sync

ROOT = Path(__file__).resolve().parents[2]
RENAMED = {"aclose": "close"}  # the one name that differs, as in httpx


def public_methods(cls: type) -> dict[str, inspect.Signature]:
    return {
        RENAMED.get(name, name): inspect.signature(member)
        for name, member in inspect.getmembers(cls, predicate=inspect.isfunction)
        if not name.startswith("_")
    }


def parameters(signature: inspect.Signature) -> list[tuple[str, object, object]]:
    return [(p.name, p.kind, p.default) for p in signature.parameters.values()]


def test_same_methods_and_parameters() -> None:
    async_methods = public_methods(ComfyAPIClient)
    sync_methods = public_methods(Client)
    assert set(async_methods) == set(sync_methods)
    for name, signature in async_methods.items():
        assert parameters(signature) == parameters(sync_methods[name]), name


def test_every_async_coroutine_is_a_plain_method_in_sync() -> None:
    for name, member in inspect.getmembers(ComfyAPIClient, predicate=inspect.isfunction):
        if name.startswith("_"):
            continue
        twin = getattr(Client, RENAMED.get(name, name))
        if inspect.iscoroutinefunction(member) or inspect.isasyncgenfunction(member):
            assert not inspect.iscoroutinefunction(twin) and not inspect.isasyncgenfunction(twin)


def test_create_client_takes_the_same_arguments() -> None:
    wrapped_async = inspect.unwrap(create_async)
    wrapped_sync = inspect.unwrap(create_sync)
    names_async = list(inspect.signature(wrapped_async).parameters)
    names_sync = list(inspect.signature(wrapped_sync).parameters)
    assert names_async == names_sync


def test_generated_sync_endpoints_are_current() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "generate_sync.py"), "--check"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
