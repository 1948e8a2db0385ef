"""comfy_core.routes readers and builders on recorded HTTP exchanges, and check_workflow."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import pytest

from comfy_core.errors import (
    HTTPStatusError,
    InputError,
    LocalProtocolError,
    NodeError,
    RemoteProtocolError,
    WorkflowValidationError,
)
from comfy_core.http import Response
from comfy_core.models import PromptResponse
from comfy_core.outputs import OutputFile
from comfy_core.routes import (
    post_prompt,
    read_history_entry,
    read_prompt_response,
    read_queue,
    read_system_stats,
    view,
    view_file,
)
from comfy_core.workflow import check_workflow
from tests import recorded
from tests.recorded import as_exchange

PROMPTS = list(recorded.http_records("validation_error", "POST", "/prompt"))
REJECTED = [r for r in PROMPTS if r["status"] == 400]
CRASHED = [r for r in PROMPTS if r["status"] == 500]


def rejection(class_type: str | None, without: str = "") -> WorkflowValidationError:
    """The error read from the recorded 400 whose node "1" has ``class_type`` (None: none)."""

    def node1(record: dict[str, Any]) -> dict[str, Any]:
        node: dict[str, Any] = record["request_json"].get("prompt", {}).get("1", {})
        return node

    record = next(
        r
        for r in REJECTED
        if node1(r) and node1(r).get("class_type") == class_type
        if not without or without not in node1(r)["inputs"]
    )
    with pytest.raises(WorkflowValidationError) as info:
        read_prompt_response(*as_exchange(record))
    return info.value


# -- POST /prompt answers ---------------------------------------------------------------


def test_recording_has_the_documented_answers() -> None:
    assert (len(REJECTED), len(CRASHED)) == (12, 2)


@pytest.mark.parametrize("record", REJECTED, ids=[str(r["seq"]) for r in REJECTED])
def test_every_400_raises_workflow_validation_error(record: dict[str, Any]) -> None:
    with pytest.raises(WorkflowValidationError) as info:
        read_prompt_response(*as_exchange(record))
    error = info.value
    body = record["json"]
    assert error.status == 400
    assert error.error_type == body["error"]["type"]
    assert error.message == body["error"]["message"]
    assert error.details == body["error"]["details"]
    assert error.raw == body
    assert error.prompt_id is None
    assert {n.node_id for n in error.node_errors} >= set(body["node_errors"])
    assert body["error"]["message"] in str(error)


def test_missing_input_names_node_class_and_input() -> None:
    error = rejection("EmptyImage", without="color")
    assert error.error_type == "prompt_outputs_failed_validation"
    assert error.node_errors == (
        NodeError(
            node_id="1",
            class_type="EmptyImage",
            errors=(
                InputError(
                    type="required_input_missing",
                    message="Required input is missing",
                    details="color",
                    input_name="color",
                    extra_info={"input_name": "color"},
                ),
            ),
            dependent_outputs=("2",),
        ),
    )
    text = str(error)
    assert "node 1" in text and "EmptyImage" in text and "'color'" in text


@pytest.mark.parametrize("class_type", ["NoSuchNode", None])
def test_invalid_prompt_points_at_the_node_in_details(class_type: str | None) -> None:
    error = rejection(class_type)
    assert error.error_type == "invalid_prompt"
    assert error.details == "Node ID '#1'"
    assert error.node_errors == (NodeError(node_id="1", class_type=None, errors=()),)
    assert "node 1" in str(error)


@pytest.mark.parametrize("record", CRASHED, ids=["prompt-a-list", "not-json"])
def test_plain_text_500(record: dict[str, Any]) -> None:
    request, response = as_exchange(record)
    with pytest.raises(HTTPStatusError) as info:
        read_prompt_response(request, response)
    error = info.value
    assert (error.status, error.method, error.route) == (500, "POST", "/prompt")
    assert error.message == "500 Internal Server Error\n\nServer got itself in trouble"
    assert "Server got itself in trouble" in str(error)
    assert str(error).startswith("POST /prompt returned 500")


def test_accepted_prompt() -> None:
    record = next(recorded.http_records("success", "POST", "/prompt"))
    receipt = read_prompt_response(*as_exchange(record))
    assert receipt == PromptResponse(
        prompt_id="a083407b-7eeb-4c00-9cb1-a8b438880f21", number=0, node_errors={}
    )


# -- queue, system stats, history ----------------------------------------------------------


def test_queue_pending_in_run_order() -> None:
    record = next(recorded.http_records("queue_ops", "GET", "/queue"))
    raw_numbers = [item[0] for item in record["json"]["queue_pending"]]
    state = read_queue(*as_exchange(record))
    numbers = [e.number for e in state.pending]
    assert numbers == [-24, 22, 23, 25]
    assert numbers != raw_numbers  # the server sends its heap array
    assert state.pending[0].prompt_id == "f4599ab6-3db2-4e05-862a-a369c3861d8a"
    assert state.pending[-1].prompt_id == "my-own-prompt-id-0001"
    assert [e.prompt_id for e in state.running] == ["0af2f90e-15a4-4f01-b98a-efd324dba357"]
    assert len(state.prompt_ids) == 5
    entry = state.pending[0]
    assert entry.prompt == record["json"]["queue_pending"][0][2]
    assert all(isinstance(o, str) for o in entry.outputs_to_execute)


def test_queue_with_equal_numbers_sorts_by_prompt_id() -> None:
    record = next(recorded.http_records("queue_ops", "GET", "/queue"))
    body = record["json"]
    same: list[list[object]] = [[5, pid, {}, {}, ["1"]] for pid in ("c", "a", "b")]
    response = as_exchange({**record, "json": {**body, "queue_pending": same}})[1]
    state = read_queue(as_exchange(record)[0], response)
    assert [e.prompt_id for e in state.pending] == ["a", "b", "c"]


@pytest.mark.parametrize("number", ["NaN", "Infinity"])
def test_queue_with_non_finite_number_only_raises_protocol_errors(number: str) -> None:
    # ComfyUI stores float(body["number"]), so a client that sent "nan" puts NaN in /queue.
    record = next(recorded.http_records("queue_ops", "GET", "/queue"))
    body = f'{{"queue_running": [], "queue_pending": [[{number}, "p", {{}}, {{}}, ["2"]]]}}'
    response = Response(status=200, body=body.encode())
    # Any other exception escaping the SDK is a bug (comfy_core.errors).
    with contextlib.suppress(RemoteProtocolError):
        read_queue(as_exchange(record)[0], response)


def test_empty_queue() -> None:
    record = list(recorded.http_records("queue_ops", "GET", "/queue"))[-1]
    state = read_queue(*as_exchange(record))
    assert (state.pending, state.running) == ([], [])


@pytest.mark.parametrize("path", ["/system_stats", "/api/system_stats"])
def test_system_stats(path: str) -> None:
    record = next(r for r in recorded.http_records("endpoints", "GET") if r["path"] == path)
    stats = read_system_stats(*as_exchange(record))
    assert stats.system.comfyui_version == "0.3.75"
    assert stats.system.os == "posix"
    assert stats.system.python_version is not None
    assert stats.system.python_version.startswith("3.11.7")
    assert stats.system.embedded_python is False
    assert stats.system.ram_total == 25276510208
    assert [(d.name, d.type, d.index) for d in stats.devices] == [("cpu", "cpu", None)]
    assert stats.devices[0].vram_total == 25276510208
    assert stats.raw == record["json"]


def test_history_entry() -> None:
    missing = next(
        r
        for r in recorded.http_records("endpoints", "GET")
        if r["path"] == "/history/does-not-exist"
    )
    assert read_history_entry(*as_exchange(missing), "does-not-exist") is None
    found = next(recorded.http_records("success", "GET", "/history/"))
    prompt_id = "a083407b-7eeb-4c00-9cb1-a8b438880f21"
    entry = read_history_entry(*as_exchange(found), prompt_id)
    assert entry == found["json"][prompt_id]
    assert read_history_entry(*as_exchange(found), "another-id") is None


# -- request builders -------------------------------------------------------------------------

WORKFLOW = next(recorded.http_records("success", "POST", "/prompt"))["request_json"]["prompt"]


def test_post_prompt_minimal() -> None:
    request = post_prompt(WORKFLOW, prompt_id="pid-1", client_id="c" * 32)
    assert (request.method, request.path) == ("POST", "/api/prompt")
    assert ("content-type", "application/json") in request.headers
    body = json.loads(request.body)
    assert body == {"prompt": WORKFLOW, "prompt_id": "pid-1", "client_id": "c" * 32}
    no_client = json.loads(post_prompt(WORKFLOW, prompt_id="pid-2", client_id=None).body)
    assert no_client == {"prompt": WORKFLOW, "prompt_id": "pid-2"}


def test_post_prompt_optional_keys() -> None:
    request = post_prompt(
        WORKFLOW,
        prompt_id="pid-3",
        client_id="abc",
        number=7,
        front=True,
        extra_data={"extra_pnginfo": {"workflow": {"note": "sdk test"}}},
        partial_execution_targets=["2", 7],  # type: ignore[list-item]
    )
    body = json.loads(request.body)
    assert body == {
        "prompt": WORKFLOW,
        "prompt_id": "pid-3",
        "client_id": "abc",
        "number": 7,
        "front": True,
        "extra_data": {"extra_pnginfo": {"workflow": {"note": "sdk test"}}},
        "partial_execution_targets": ["2", "7"],
    }
    quiet = json.loads(post_prompt(WORKFLOW, prompt_id="p", client_id="c", front=False).body)
    assert "front" not in quiet and "extra_data" not in quiet


@pytest.mark.parametrize(
    ("filename", "subfolder"),
    [
        ("../secret", ""),
        ("/etc/passwd", ""),
        ("a/../../b", ""),
        ("..\\secret.png", ""),
        ("ok.png", "../outside"),
        ("ok.png", "sdk/../../x"),
        ("ok.png", "/abs"),
    ],
)
def test_view_refuses_escapes(filename: str, subfolder: str) -> None:
    with pytest.raises(LocalProtocolError):
        view(filename, subfolder, "output")


def test_view_params() -> None:
    request = view("batch_00001_.png", "sdk_multi", "output")
    assert (request.method, request.path) == ("GET", "/api/view")
    assert request.params == (
        ("filename", "batch_00001_.png"),
        ("subfolder", "sdk_multi"),
        ("type", "output"),
    )
    assert request.target == "/api/view?filename=batch_00001_.png&subfolder=sdk_multi&type=output"
    assert view("x.png").params == (("filename", "x.png"),)
    ref = OutputFile(node_id="4", kind="images", filename="t_00001_.png", type="temp")
    assert view_file(ref).params == (("filename", "t_00001_.png"), ("type", "temp"))


# -- check_workflow ------------------------------------------------------------------------------


UI_FORMAT = {"last_node_id": 2, "nodes": [{"id": 1, "type": "EmptyImage"}], "links": []}


@pytest.mark.parametrize(
    ("workflow", "needle"),
    [([WORKFLOW], "list"), (UI_FORMAT, "UI-format"), ({}, "no nodes")],
    ids=["list", "ui-format", "empty"],
)
def test_check_workflow_refuses(workflow: Any, needle: str) -> None:
    with pytest.raises(WorkflowValidationError) as info:
        check_workflow(workflow)
    assert info.value.status is None
    assert needle in str(info.value)


def test_check_workflow_names_node_without_class_type() -> None:
    bad = {**WORKFLOW, "17": {"inputs": {"width": 64}}}
    with pytest.raises(WorkflowValidationError) as info:
        check_workflow(bad)
    error = info.value
    assert error.status is None
    assert [n.node_id for n in error.node_errors] == ["17"]
    assert error.node_errors[0].errors[0].type == "missing_class_type"
    assert "node 17" in str(error)


def test_check_workflow_accepts_recorded_prompts() -> None:
    for record in recorded.http_records("multi_output", "POST", "/prompt"):
        check_workflow(record["request_json"]["prompt"])
    check_workflow(WORKFLOW)


def test_check_workflow_refuses_node_without_inputs() -> None:
    # ComfyUI 0.3.75 accepts this beside a valid output, then its worker dies.
    bad = {**WORKFLOW, "17": {"class_type": "ImageInvert"}}
    with pytest.raises(WorkflowValidationError) as info:
        check_workflow(bad)
    error = info.value
    assert error.status is None
    assert [(n.node_id, n.class_type) for n in error.node_errors] == [("17", "ImageInvert")]
    assert error.node_errors[0].errors[0].type == "missing_inputs"
    check_workflow({**WORKFLOW, "17": {"class_type": "ImageInvert", "inputs": {}}})


def test_check_workflow_refuses_links_to_missing_nodes() -> None:
    # Also through inputs the class does not declare: the worker follows those too.
    bad = {**WORKFLOW, "17": {"class_type": "PreviewImage", "inputs": {"extra": ["99", 0]}}}
    with pytest.raises(WorkflowValidationError) as info:
        check_workflow(bad)
    (node,) = info.value.node_errors
    assert node.node_id == "17"
    assert [(e.type, e.input_name) for e in node.errors] == [("dangling_link", "extra")]
    assert "'99'" in str(info.value)
    # Literal lists that are no link shape are values, not links.
    check_workflow({**WORKFLOW, "17": {"class_type": "X", "inputs": {"v": [99, 0], "w": ["a"]}}})
