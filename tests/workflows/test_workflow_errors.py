"""Every way a conversion can fail raises a typed error that names the node."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from comfy_core.errors import (
    ComfyError,
    LocalProtocolError,
    MissingNodeTypesError,
    WorkflowFormatError,
    WorkflowRecursionError,
)
from comfy_core.workflows import Workflow
from tests.workflow_corpus import object_info, read

INFO = object_info()


def ui(name: str) -> dict[str, Any]:
    data: dict[str, Any] = read(f"cases/{name}", "ui")
    return data


def test_error_tree() -> None:
    assert issubclass(WorkflowFormatError, LocalProtocolError)
    assert issubclass(WorkflowRecursionError, WorkflowFormatError)
    assert issubclass(MissingNodeTypesError, WorkflowFormatError)
    assert issubclass(WorkflowFormatError, ComfyError)


def test_missing_types_are_all_listed_with_ids_and_titles() -> None:
    data = read("templates/api_openai_chat", "ui")
    with pytest.raises(MissingNodeTypesError) as info:
        Workflow.from_ui(data, INFO)
    err = info.value
    assert set(err.types) == {"OpenAIChatConfig", "OpenAIChatNode", "OpenAIInputFiles"}
    assert {m.node_id for m in err.missing} == {"3", "4", "6", "7"}
    assert "'OpenAIInputFiles': node 6, 7" in str(err)


def test_missing_types_inside_subgraphs_are_named_with_their_subgraph() -> None:
    data = read("templates/05_audio_ace_step_1_t2a_song_subgraphed", "ui")
    with pytest.raises(MissingNodeTypesError) as info:
        Workflow.from_ui(data, INFO)
    assert any(" / " in m.node_id for m in info.value.missing)
    assert "SaveAudioMP3" in info.value.types


def test_set_get_nodes_are_missing_types_by_default() -> None:
    with pytest.raises(MissingNodeTypesError) as info:
        Workflow.from_ui(ui("kjnodes_set_get"), INFO)
    titles = {m.title for m in info.value.missing}
    assert titles == {"Set_img", "Get_img"}


def test_cycle_through_reroutes() -> None:
    with pytest.raises(WorkflowRecursionError) as info:
        Workflow.from_ui(ui("reroute_cycle"), INFO)
    assert info.value.node_type == "Reroute"
    assert info.value.node_id in {"1", "2"}


def test_subgraph_that_contains_itself() -> None:
    data = ui("subgraph_nested")
    outer = data["definitions"]["subgraphs"][0]
    inner = outer["definitions"]["subgraphs"][0]
    inner["nodes"].append(
        {"id": 50, "type": inner["id"], "mode": 0, "inputs": [], "outputs": [], "properties": {}}
    )
    with pytest.raises(WorkflowRecursionError) as info:
        Workflow.from_ui(data, INFO)
    assert info.value.node_id is not None and info.value.node_id.endswith(":50")


def test_passthrough_subgraph() -> None:
    with pytest.raises(WorkflowFormatError, match="wired straight to an output") as info:
        Workflow.from_ui(ui("subgraph_passthrough"), INFO)
    assert info.value.node_id == "2"
    assert info.value.title == "Passthrough"


def test_input_naming_a_missing_link() -> None:
    with pytest.raises(WorkflowFormatError, match="link 77") as info:
        Workflow.from_ui(ui("dangling_input_link"), INFO)
    assert info.value.node_id == "2" and info.value.node_type == "SaveImage"


def test_link_from_a_missing_node() -> None:
    with pytest.raises(WorkflowFormatError, match="node 99") as info:
        Workflow.from_ui(ui("dangling_origin"), INFO)
    assert info.value.node_id == "3"


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda d: d["nodes"][0].update(type=None), "string 'type'"),
        (lambda d: d["nodes"][0].update(id=[1]), "node id"),
        (lambda d: d["nodes"][0].update(mode="on"), "'mode'"),
        (lambda d: d["nodes"][0].update(inputs="x"), "must be lists"),
        (lambda d: d["nodes"][0].update(widgets_values=5), "widgets_values"),
        (lambda d: d["links"].append([1, 2]), "needs"),
        (lambda d: d["links"].append("x"), "a link must be"),
        (lambda d: d["nodes"].append(copy.deepcopy(d["nodes"][0])), "used twice"),
        (lambda d: d.update(definitions={"subgraphs": [{"name": "no id"}]}), "string 'id'"),
    ],
)
def test_malformed_files(change: Any, match: str) -> None:
    data = ui("plain_save")
    change(data)
    with pytest.raises(WorkflowFormatError, match=match):
        Workflow.from_ui(data, INFO)


def test_malformed_node_is_named() -> None:
    data = ui("plain_save")
    data["nodes"][1]["mode"] = "on"
    with pytest.raises(WorkflowFormatError) as info:
        Workflow.from_ui(data, INFO)
    assert info.value.node_id == "2" and info.value.node_type == "EmptyImage"


def test_not_a_ui_workflow() -> None:
    with pytest.raises(WorkflowFormatError, match="'nodes' list"):
        Workflow.from_ui({"1": {}}, INFO)


@pytest.mark.parametrize(
    "source",
    [b"not json", "{broken", json.dumps([1, 2]), b"\x89PNG\r\n\x1a\n"],
)
def test_unreadable_sources(source: Any) -> None:
    with pytest.raises(WorkflowFormatError):
        Workflow.load(source)


def test_missing_file(tmp_path: Any) -> None:
    with pytest.raises(WorkflowFormatError, match="cannot read"):
        Workflow.load(tmp_path / "nope.json")


def test_ui_workflow_without_object_info() -> None:
    with pytest.raises(WorkflowFormatError, match="needs the server's object_info"):
        Workflow.load(ui("plain_save"))


def test_bad_missing_nodes_mode() -> None:
    with pytest.raises(ValueError, match="missing_nodes"):
        Workflow.from_ui(ui("plain_save"), INFO, missing_nodes="ignore")  # type: ignore[arg-type]
