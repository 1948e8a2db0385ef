"""Every code snippet in docs/workflows.md runs (the server one against the real server)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
SNIPPETS = re.findall(r"```python\n(.*?)```", (ROOT / "docs" / "workflows.md").read_text(), re.S)


def _run_all(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.chdir(ROOT)
    namespace: dict[str, Any] = {}
    for snippet in SNIPPETS:
        exec(compile(snippet, "docs/workflows.md", "exec"), namespace)
    return namespace


def test_there_are_snippets() -> None:
    assert len(SNIPPETS) == 11


def test_offline_snippets(monkeypatch: pytest.MonkeyPatch) -> None:
    from comfy_core.workflows import Workflow

    namespace = _run_all(monkeypatch)
    ui = namespace["wf"].ui
    from tests.workflows_png import png_with

    data = png_with({"prompt": namespace["prompt"], "workflow": ui})
    texts, from_prompt, converted = namespace["workflows_in"](data)
    assert set(texts) == {"prompt", "workflow"}
    assert isinstance(from_prompt, Workflow) and from_prompt.ui == ui
    assert converted.to_api() == namespace["prompt"]


@pytest.mark.server
async def test_server_snippet(monkeypatch: pytest.MonkeyPatch, comfy_url: str) -> None:
    namespace = _run_all(monkeypatch)
    result = await namespace["main"](comfy_url)
    assert result.output_images


@pytest.mark.server
async def test_server_batch_snippet(monkeypatch: pytest.MonkeyPatch, comfy_url: str) -> None:
    namespace = _run_all(monkeypatch)
    results = await namespace["noisy_batch"](comfy_url)
    assert len(results) == 2 and all(r.output_images for r in results)
