"""The committed corpus is what the official frontend exports today (needs Chromium).

Regenerates every export live: the real server's frontend in headless Chromium
(scripts/export_frontend_corpus.py) loads each template and hand-made case and
runs ``app.graphToPrompt()``. Any difference from the committed corpus fails,
after masking only what the frontend randomizes or dates (WORKFLOW_FORMATS §10).
Without Chromium this fails (``apt-get install -y chromium``); it never skips.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.workflow_corpus import CORPUS, differences

pytestmark = pytest.mark.server
SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "export_frontend_corpus.py"


def _exporter() -> ModuleType:
    spec = importlib.util.spec_from_file_location("export_frontend_corpus", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _without_choices(info: dict[str, Any]) -> dict[str, Any]:
    """``/object_info`` minus combo choices: they list the server's input and model
    files, which other tests add to; everything else must match exactly."""
    info = json.loads(json.dumps(info))
    for entry in info.values():
        for section in (entry.get("input") or {}).values():
            for name, spec in (section or {}).items():
                if isinstance(spec, list) and spec and isinstance(spec[0], list):
                    spec[0] = "COMBO"
                if isinstance(spec, list) and len(spec) > 1 and isinstance(spec[1], dict):
                    spec[1].pop("options", None)
                section[name] = spec
    return info


def test_chromium_is_installed() -> None:
    assert _exporter().find_chromium()


def test_live_export_equals_committed_corpus(comfy_url: str) -> None:
    live: dict[str, str] = _exporter().export_corpus(comfy_url)
    # Hand-made cases/*.ui.json are inputs of the export, not outputs.
    committed = {
        str(p.relative_to(CORPUS))
        for p in CORPUS.rglob("*.json")
        if not (p.parent.name == "cases" and p.name.endswith(".ui.json"))
    }
    assert set(live) == committed, "corpus files appeared or vanished: rerun the export script"
    info = json.loads(live["object_info.json"])
    committed_info = json.loads((CORPUS / "object_info.json").read_text(encoding="utf-8"))
    assert _without_choices(info) == _without_choices(committed_info)
    problems = []
    for rel, text in sorted(live.items()):
        if rel == "object_info.json":
            continue
        old = json.loads((CORPUS / rel).read_text(encoding="utf-8"))
        new = json.loads(text)
        if rel.endswith(".ui.json"):
            if old != new:
                problems.append(f"{rel}: the shipped template changed")
        elif rel.endswith(".api.json"):
            problems += [f"{rel}: {d}" for d in differences(old, new, info)]
    assert problems == []
