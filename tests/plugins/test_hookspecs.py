"""Every hookspec is documented and tested: this fails when one is not."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from comfy_api_client import hookspecs

TESTS = Path(__file__).resolve().parents[1]
SPECS = sorted(
    name for name, fn in vars(hookspecs).items()
    if name.startswith("comfy_") and callable(fn) and hasattr(fn, "comfy_api_client_spec")
)  # fmt: skip


def test_there_are_hookspecs() -> None:
    assert len(SPECS) >= 10
    assert "comfy_retry_delay" in SPECS


@pytest.mark.parametrize("name", SPECS)
def test_hookspec_has_a_docstring_saying_what_it_returns(name: str) -> None:
    doc = inspect.getdoc(getattr(hookspecs, name)) or ""
    assert len(doc) > 40, f"{name} has no real docstring"
    assert "Return" in doc or "return" in doc, f"{name} does not say what its return value means"
    assert "Called" in doc or "called" in doc or "Decide" in doc, (
        f"{name} does not say when it runs"
    )


@pytest.mark.parametrize("name", SPECS)
def test_hookspec_is_used_by_a_test(name: str) -> None:
    this = Path(__file__).resolve()
    sources = [p.read_text() for p in TESTS.rglob("*.py") if p.resolve() != this]
    sources.append(
        (TESTS.parent / "examples" / "plugin_package" / "comfy_example_plugin.py").read_text()
    )
    # Either a test implements it, or it is called through its typed wrapper in a test.
    wrapper = name.removeprefix("comfy_")
    assert any(name in s or f"hooks.{wrapper}(" in s for s in sources), f"no test exercises {name}"
