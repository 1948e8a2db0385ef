"""docs/api.md lists every public method of the async client."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from comfy_api_client import ComfyAPIClient

DOC = (Path(__file__).resolve().parent.parent / "docs" / "api.md").read_text()
METHODS = sorted(
    name
    for name, _ in inspect.getmembers(ComfyAPIClient, predicate=inspect.isfunction)
    if not name.startswith("_")
)


@pytest.mark.parametrize("name", METHODS)
def test_method_is_documented(name: str) -> None:
    assert f"`{name}(" in DOC, f"docs/api.md does not list {name}"
