"""Every type in the public clients' signatures can be imported from ``comfy_api_client``.

A user who annotates their own code with what a client method takes or
returns should not have to know which ``comfy_core`` module defines it.
"""

from __future__ import annotations

import inspect
import typing
from typing import Any

import pytest
from PIL.Image import Image

import comfy_api_client
from comfy_api_client import ComfyAPIClient
from comfy_api_client.sync import Client

OURS = ("comfy_core", "comfy_api_client", "comfy_transports")


def _classes(hint: Any) -> set[type]:
    """The classes of our packages that ``hint`` names, through unions, generics and aliases."""
    found: set[type] = set()
    if isinstance(hint, typing.TypeVar):
        for part in (hint.__bound__, *hint.__constraints__):
            if part is not None:
                found |= _classes(part)
        return found
    origin = typing.get_origin(hint)
    if origin is not None:
        found |= _classes(origin)
        for arg in typing.get_args(hint):
            found |= _classes(arg)
        return found
    if isinstance(hint, (list, tuple)):  # Callable's argument list
        for part in hint:
            found |= _classes(part)
        return found
    if isinstance(hint, type) and hint.__module__.split(".")[0] in OURS:
        found.add(hint)
    return found


def _public_callables(cls: type) -> list[tuple[str, Any]]:
    members = []
    for name, member in inspect.getmembers(cls):
        if name.startswith("_") and name != "__init__":
            continue
        function = member.fget if isinstance(member, property) else member
        if callable(function):
            members.append((name, function))
    return members


def _named_types(cls: type) -> dict[str, tuple[type, str]]:
    named: dict[str, tuple[type, str]] = {}
    for name, function in _public_callables(cls):
        # PIL's Image is imported for type checkers only, where download_image names it.
        hints = typing.get_type_hints(function, localns={"Image": Image})
        for hint in hints.values():
            for found in _classes(hint):
                named.setdefault(found.__name__, (found, f"{cls.__name__}.{name}"))
    return named


@pytest.mark.parametrize("cls", [ComfyAPIClient, Client], ids=lambda c: c.__name__)
def test_every_type_in_a_public_signature_is_exported(cls: type) -> None:
    named = _named_types(cls)
    assert {"PromptResult", "Progress", "JobInfo", "NodeSchema"} <= set(named)  # the walk works
    missing = {
        f"{name} (in {where})"
        for name, (found, where) in named.items()
        if getattr(comfy_api_client, name, None) is not found
    }
    assert missing == set()
    assert set(named) <= set(comfy_api_client.__all__)


def test_async_client_is_the_async_client() -> None:
    assert comfy_api_client.AsyncClient is ComfyAPIClient
    assert "AsyncClient" in comfy_api_client.__all__


def test_the_events_and_errors_are_exported() -> None:
    import comfy_core.conclusions
    import comfy_core.errors
    import comfy_core.events

    for module in (comfy_core.events, comfy_core.conclusions, comfy_core.errors):
        for name in module.__all__:
            assert getattr(comfy_api_client, name) is getattr(module, name), name
