"""The converter against the frontend's own exports (the committed corpus), offline.

tests/workflows/corpus holds every template shipped with ComfyUI 0.3.75, the
hand-made cases, what frontend 1.32.9 exported for each, and the
``/object_info`` used (scripts/export_frontend_corpus.py regenerates them;
test_workflow_oracle.py checks they are current).
"""

from __future__ import annotations

from typing import Any

import pytest

from comfy_core.errors import WorkflowFormatError
from comfy_core.workflows import Workflow
from tests.workflow_corpus import cases, differences, object_info, read

INFO = object_info()
NAMES = cases()


def convert(name: str, missing_nodes: Any = "keep") -> Any:
    try:
        return Workflow.from_ui(read(name, "ui"), INFO, missing_nodes=missing_nodes).to_api()
    except WorkflowFormatError as exc:
        return {"__error__": str(exc)}


def test_corpus_is_complete() -> None:
    assert sum(n.startswith("templates/") for n in NAMES) == 188
    assert sum(n.startswith("cases/") for n in NAMES) >= 18


@pytest.mark.parametrize("name", NAMES)
def test_equals_frontend_export(name: str) -> None:
    expected, got = read(name, "api"), convert(name)
    assert differences(expected, got, INFO) == []
    if "__error__" not in expected:  # the same key order too (execution order for "a:b" ids)
        assert list(got) == list(expected)
        assert [list(e["inputs"]) for e in got.values()] == [
            list(e["inputs"]) for e in expected.values()
        ]


def _without_missing(prompt: dict[str, Any]) -> dict[str, Any]:
    """The frontend's export minus the class_type-less entries and the links into them."""
    kept = {k: v for k, v in prompt.items() if "class_type" in v}
    for entry in kept.values():
        entry["inputs"] = {
            name: value
            for name, value in entry["inputs"].items()
            if not (isinstance(value, list) and len(value) == 2 and value[0] not in kept)
        }
    return kept


@pytest.mark.parametrize("name", [n for n in NAMES if "__error__" not in read(n, "api")])
def test_drop_mode_leaves_out_missing_nodes(name: str) -> None:
    expected = _without_missing(read(name, "api"))
    assert differences(expected, convert(name, "drop"), INFO) == []
