"""comfy_core.validation offline, on the committed /object_info snapshot of ComfyUI 0.3.75.

The recorded answers of a real server are the reference where we have them
(every POST /prompt in tests/recordings); the rest pins the shapes
execution.py builds. tests/server/test_validation_agreement.py compares
against a live server on many more cases.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from comfy_core.errors import NodeError, WorkflowValidationError
from comfy_core.routes import read_node_errors, read_prompt_response
from comfy_core.schema import parse_object_info
from comfy_core.validation import validate_prompt
from comfy_core.workflow import check_workflow
from tests import recorded

SNAPSHOT = Path(__file__).parent.parent / "data" / "object_info-0.3.75.json"
INFO: dict[str, Any] = json.loads(SNAPSHOT.read_text())


def chain() -> dict[str, Any]:
    return {
        "1": {
            "class_type": "EmptyImage",
            "inputs": {"width": 8, "height": 8, "batch_size": 1, "color": 0},
        },
        "2": {
            "class_type": "ImageScaleBy",
            "inputs": {"image": ["1", 0], "upscale_method": "bilinear", "scale_by": 0.5},
        },
        "3": {"class_type": "SaveImage", "inputs": {"images": ["2", 0], "filename_prefix": "t"}},
    }


def two_outputs() -> dict[str, Any]:
    return {
        **chain(),
        "4": {"class_type": "SolidMask", "inputs": {"value": 0.5, "width": 8, "height": 8}},
        "5": {"class_type": "MaskToImage", "inputs": {"mask": ["4", 0]}},
        "6": {"class_type": "PreviewImage", "inputs": {"images": ["5", 0]}},
    }


def refused(prompt: dict[str, Any], info: Any = INFO, **kw: Any) -> WorkflowValidationError:
    with pytest.raises(WorkflowValidationError) as caught:
        validate_prompt(prompt, info, **kw)
    return caught.value


def errors_of(nodes: tuple[NodeError, ...]) -> set[tuple[str, str | None, str]]:
    return {(n.node_id, e.input_name, e.type) for n in nodes for e in n.errors}


def comparable(nodes: tuple[NodeError, ...]) -> list[Any]:
    """Node errors without the server's tracebacks, for equality with a recording."""
    return sorted(
        (
            n.node_id,
            n.class_type,
            n.dependent_outputs,
            [
                (
                    e.type,
                    e.message,
                    e.details,
                    e.input_name,
                    json.dumps(
                        {k: v for k, v in e.extra_info.items() if k != "traceback"}, sort_keys=True
                    ),
                )
                for e in n.errors
            ],
        )
        for n in nodes
    )


# -- against the recorded server ------------------------------------------------------


def recorded_prompts() -> list[tuple[str, dict[str, Any]]]:
    found = []
    for record in recorded.RECORDINGS.glob("*.jsonl"):
        for http in recorded.http_records(record.stem, "POST", "/prompt"):
            body = http.get("request_json")
            prompt = body.get("prompt") if isinstance(body, dict) else None
            if isinstance(prompt, dict) and http["status"] in (200, 400):
                found.append((f"{record.stem}#{http['seq']}", http))
    return sorted(found, key=lambda pair: pair[0])


@pytest.mark.parametrize(("name", "http"), recorded_prompts(), ids=lambda v: str(v)[:40])
def test_agrees_with_every_recorded_verdict(name: str, http: dict[str, Any]) -> None:
    body = http["request_json"]
    info = copy.deepcopy(INFO)
    if name.startswith("upload_then_load"):
        # That session uploaded its image before it queued: object_info then listed it.
        uploaded = {
            n["inputs"]["image"] for n in body["prompt"].values() if n["class_type"] == "LoadImage"
        }
        info["LoadImage"]["input"]["required"]["image"][0] += sorted(uploaded)
    request, response = recorded.as_exchange(http)
    targets = body.get("partial_execution_targets")
    if response.status == 400:
        server = refused(body["prompt"], info, partial_execution_targets=targets)
        with pytest.raises(WorkflowValidationError) as caught:
            read_prompt_response(request, response)
        expected = caught.value
        assert (server.error_type, server.message, server.status) == (
            expected.error_type,
            expected.message,
            expected.status,
        )
        assert server.details == expected.details
        assert comparable(server.node_errors) == comparable(expected.node_errors)
    else:
        nodes = validate_prompt(body["prompt"], info, partial_execution_targets=targets)
        expected_nodes = read_node_errors(read_prompt_response(request, response).node_errors)
        assert comparable(nodes) == comparable(expected_nodes)


def test_recordings_cover_the_common_error_types() -> None:
    seen = set()
    for _, http in recorded_prompts():
        for node in (http.get("json") or {}).get("node_errors", {}).values():
            seen |= {e["type"] for e in node["errors"]}
    assert {"required_input_missing", "value_bigger_than_max", "value_not_in_list"} <= seen


# -- verdicts -----------------------------------------------------------------------


def test_a_valid_prompt_has_no_errors() -> None:
    assert validate_prompt(chain(), INFO) == ()
    assert validate_prompt(two_outputs(), INFO) == ()


def test_accepts_typed_schemas_as_well_as_raw_object_info() -> None:
    prompt = chain()
    prompt["1"]["inputs"]["width"] = 0
    raw = refused(prompt)
    typed = refused(prompt, parse_object_info(INFO))
    assert comparable(raw.node_errors) == comparable(typed.node_errors)


def test_every_failed_output_means_400_with_the_servers_shape() -> None:
    prompt = chain()
    prompt["1"]["inputs"]["width"] = 99999
    error = refused(prompt)
    assert (error.status, error.error_type) == (400, "prompt_outputs_failed_validation")
    assert error.message == "Prompt outputs failed validation"
    assert error.details == ""  # the output's own reasons only; node 3 has none
    (node,) = error.node_errors
    assert (node.node_id, node.class_type, node.dependent_outputs) == ("1", "EmptyImage", ("3",))
    (err,) = node.errors
    assert (err.type, err.message, err.details) == (
        "value_bigger_than_max",
        "Value 99999 bigger than max of 16384",
        "width",
    )
    assert dict(err.extra_info) == {
        "input_name": "width",
        "input_config": ["INT", {"default": 512, "min": 1, "max": 16384, "step": 1}],
        "received_value": 99999,
    }
    assert error.raw["error"]["type"] == "prompt_outputs_failed_validation"


def test_some_outputs_valid_means_accepted_with_node_errors() -> None:
    prompt = two_outputs()
    prompt["4"]["inputs"]["value"] = -1
    nodes = validate_prompt(prompt, INFO)
    assert errors_of(nodes) == {("4", "value", "value_smaller_than_min")}
    assert nodes[0].dependent_outputs == ("6",)
    # ...unless only the broken output is asked for.
    error = refused(prompt, partial_execution_targets=["6"])
    assert error.error_type == "prompt_outputs_failed_validation"
    assert validate_prompt(prompt, INFO, partial_execution_targets=["3"]) == ()


def test_only_nodes_feeding_an_output_are_checked() -> None:
    prompt = chain()
    prompt["9"] = {"class_type": "EmptyImage", "inputs": {"width": "wide"}}
    assert validate_prompt(prompt, INFO) == ()


def test_upstream_failures_are_not_repeated_downstream() -> None:
    prompt = chain()
    prompt["1"]["inputs"]["color"] = -5
    error = refused(prompt)
    assert errors_of(error.node_errors) == {("1", "color", "value_smaller_than_min")}


@pytest.mark.parametrize(
    ("node", "error_type", "message", "details"),
    [
        ({"inputs": {}}, "invalid_prompt",
         "Cannot execute because a node is missing the class_type property.", "Node ID '#7'"),
        ({"class_type": "NoSuchNode", "inputs": {}}, "invalid_prompt",
         "Cannot execute because node NoSuchNode does not exist.", "Node ID '#7'"),
        ({"class_type": None, "inputs": {}}, "invalid_prompt",
         "Cannot execute because node None does not exist.", "Node ID '#7'"),
    ],
    ids=["no-class-type", "unknown-class", "null-class"],
)  # fmt: skip
def test_top_level_invalid_prompt(node: Any, error_type: str, message: str, details: str) -> None:
    error = refused({**two_outputs(), "7": node})
    assert (error.error_type, error.message, error.details) == (error_type, message, details)
    assert [n.node_id for n in error.node_errors] == ["7"]  # as read from the server's details


def test_no_output_node() -> None:
    for prompt in ({}, {"1": chain()["1"]}):
        error = refused(prompt)
        assert (error.error_type, error.message, error.details) == (
            "prompt_no_outputs",
            "Prompt has no outputs",
            "",
        )
    assert refused(chain(), partial_execution_targets=["1"]).error_type == "prompt_no_outputs"


@pytest.mark.parametrize(
    ("value", "error_type", "extra"),
    [
        ("wide", "invalid_input_type", "invalid literal for int() with base 10: 'wide'"),
        (None, "invalid_input_type", "int() argument must be a string, a bytes-like object or a "
         "real number, not 'NoneType'"),
        (float("nan"), "invalid_input_type", "cannot convert float NaN to integer"),
        (["1"], "bad_linked_input", None),
        (0, "value_smaller_than_min", None),
        ("8", None, None),
        (8.9, None, None),
        (True, None, None),
        ({"__value__": 8}, None, None),
    ],
    ids=["word", "null", "nan", "short-list", "below-min", "numeric-string", "float", "bool",
         "wrapped"],
)  # fmt: skip
def test_int_conversion_follows_python(value: Any, error_type: str | None, extra: Any) -> None:
    prompt = chain()
    prompt["1"]["inputs"]["width"] = value
    if error_type is None:
        assert validate_prompt(prompt, INFO) == ()
        return
    (node,) = refused(prompt).node_errors
    (err,) = node.errors
    assert (err.type, err.input_name) == (error_type, "width")
    if extra is not None:
        assert err.extra_info["exception_message"] == extra


def test_combo_values_and_long_lists() -> None:
    prompt = chain()
    prompt["2"]["inputs"]["upscale_method"] = "nope"
    (node,) = refused(prompt).node_errors
    (err,) = node.errors
    assert err.type == "value_not_in_list"
    assert err.details == (
        "upscale_method: 'nope' not in ['nearest-exact', 'bilinear', 'area', 'bicubic', 'lanczos']"
    )
    assert err.extra_info["received_value"] == "nope"


def test_v3_combos_are_not_checked_by_the_server() -> None:
    # ImageBlend is a V3 node: its combo type is "COMBO", not a list, so
    # validate_inputs never compares the value (it fails only at run time).
    prompt = {
        "1": chain()["1"],
        "2": chain()["1"],
        "3": {
            "class_type": "ImageBlend",
            "inputs": {"image1": ["1", 0], "image2": ["2", 0], "blend_factor": 0.5,
                       "blend_mode": "nope"},
        },
        "4": {"class_type": "PreviewImage", "inputs": {"images": ["3", 0]}},
    }  # fmt: skip
    assert validate_prompt(prompt, INFO) == ()


@pytest.mark.parametrize(
    ("link", "where", "error_type", "message"),
    [
        (["99", 0], "3", "exception_during_validation", "'99'"),
        (["2", 1], "3", "exception_during_validation", "tuple index out of range"),
        (["2", "0"], "3", "exception_during_validation",
         "tuple indices must be integers or slices, not str"),
        ([["2"], 0], "3", "exception_during_validation", "unhashable type: 'list'"),
    ],
    ids=["missing-node", "slot-out-of-range", "string-slot", "list-id"],
)  # fmt: skip
def test_broken_links_into_an_output(link: Any, where: str, error_type: str, message: str) -> None:
    prompt = chain()
    prompt["3"]["inputs"]["images"] = link
    (node,) = refused(prompt).node_errors
    (err,) = node.errors
    assert (node.node_id, err.type, err.details, err.input_name) == (
        where,
        error_type,
        message,
        None,
    )


def test_broken_link_inside_the_graph_is_an_inner_exception() -> None:
    prompt = chain()
    prompt["2"]["inputs"]["image"] = ["99", 0]
    (node,) = refused(prompt).node_errors
    (err,) = node.errors
    # Reported on the node that raised, with its consumer's input and link.
    assert (node.node_id, err.type, err.input_name) == (
        "2",
        "exception_during_inner_validation",
        "images",
    )
    assert err.extra_info["linked_node"] == ["2", 0]
    assert err.extra_info["exception_type"] == "KeyError"


def test_wrong_link_type_and_wildcards() -> None:
    prompt = two_outputs()
    prompt["6"]["inputs"]["images"] = ["4", 0]  # MASK into IMAGE
    (node,) = validate_prompt(prompt, INFO)
    (err,) = node.errors
    assert err.type == "return_type_mismatch"
    assert err.details == "images, received_type(MASK) mismatch input_type(IMAGE)"
    # PreviewAny takes "*": anything goes.
    prompt = {**chain(), "9": {"class_type": "PreviewAny", "inputs": {"source": ["4", 0]}}}
    prompt["4"] = two_outputs()["4"]
    assert validate_prompt(prompt, INFO) == ()


def test_a_cycle_fails_its_output_without_errors_of_its_own() -> None:
    prompt = chain()
    prompt["2"]["inputs"]["image"] = ["4", 0]
    prompt["4"] = {"class_type": "ImageInvert", "inputs": {"image": ["2", 0]}}
    error = refused(prompt)
    assert error.error_type == "prompt_outputs_failed_validation"
    assert error.node_errors == ()


def test_extra_inputs_are_ignored() -> None:
    prompt = chain()
    prompt["2"]["inputs"]["extra"] = "anything"
    prompt["2"]["inputs"]["extra_link"] = ["1", 7]  # never validated
    assert validate_prompt(prompt, INFO) == ()


# -- what only the server knows ----------------------------------------------------


def loader(image: Any = "present.png") -> dict[str, Any]:
    return {
        "1": {"class_type": "LoadImage", "inputs": {"image": image}},
        "2": {"class_type": "PreviewImage", "inputs": {"images": ["1", 0]}},
    }


def with_files(*names: str) -> dict[str, Any]:
    info = copy.deepcopy(INFO)
    info["LoadImage"]["input"]["required"]["image"][0] = list(names)
    return info


def test_load_image_of_a_listed_file_passes() -> None:
    assert validate_prompt(loader(), with_files("present.png")) == ()


def test_load_image_of_an_unlisted_file_is_custom_validation_failed() -> None:
    (node,) = refused(loader("gone.png"), with_files("present.png")).node_errors
    (err,) = node.errors
    assert (err.type, err.message, err.details, dict(err.extra_info)) == (
        "custom_validation_failed",
        "Custom validation failed for node",
        "image - Invalid image file: gone.png",
        {"input_name": "image"},
    )


@pytest.mark.parametrize("name", ["sub/a.png", "a.png [output]", ""])
def test_names_object_info_cannot_check_pass(name: str) -> None:
    assert validate_prompt(loader(name), with_files()) == ()


def test_load_image_validator_errors_become_exceptions() -> None:
    # No image: VALIDATE_INPUTS() is called without it (a TypeError), which
    # drowns the required_input_missing the loop found first.
    prompt = loader()
    del prompt["1"]["inputs"]["image"]
    (node,) = refused(prompt, with_files()).node_errors
    (err,) = node.errors
    assert (node.node_id, err.type, err.input_name) == (
        "1",
        "exception_during_inner_validation",
        "images",
    )
    assert (
        err.details == "LoadImage.VALIDATE_INPUTS() missing 1 required positional argument: 'image'"
    )
    (node,) = refused(loader(5), with_files()).node_errors
    assert node.errors[0].details == "'int' object has no attribute 'endswith'"


# -- refused locally: the server would accept these and then stop ---------------------


def test_node_without_inputs_is_refused_when_the_server_would_accept() -> None:
    prompt = two_outputs()
    del prompt["5"]["inputs"]
    error = refused(prompt)
    assert (error.status, error.error_type) == (None, "invalid_workflow")
    assert [(n.node_id, n.class_type) for n in error.node_errors] == [("5", "MaskToImage")]
    assert error.node_errors[0].errors[0].type == "missing_inputs"
    # Unreachable from any output, it would still kill the worker.
    prompt = chain()
    prompt["9"] = {"class_type": "ImageInvert"}
    assert refused(prompt).status is None


def test_node_without_inputs_gets_the_servers_400_when_nothing_would_run() -> None:
    prompt = chain()
    del prompt["2"]["inputs"]
    error = refused(prompt)
    assert (error.status, error.error_type) == (400, "prompt_outputs_failed_validation")
    (node,) = error.node_errors
    assert (node.node_id, node.errors[0].type, node.errors[0].details) == (
        "2",
        "exception_during_inner_validation",
        "'inputs'",
    )


def test_dangling_undeclared_link_on_a_running_node_is_refused() -> None:
    prompt = two_outputs()
    prompt["5"]["inputs"]["extra"] = ["99", 0]
    error = refused(prompt)
    assert (error.status, error.node_errors[0].node_id) == (None, "5")
    assert error.node_errors[0].errors[0].type == "dangling_link"
    # On a node that will not run (its output fails), it is harmless.
    prompt["4"]["inputs"]["value"] = 7
    assert errors_of(validate_prompt(prompt, INFO)) == {("4", "value", "value_bigger_than_max")}


def test_shapes_the_server_cannot_answer_are_refused_up_front() -> None:
    for bad in ({"1": "node"}, {**chain(), "9": {"class_type": "X", "inputs": []}}):
        assert refused(bad).status is None
    with pytest.raises(WorkflowValidationError):
        validate_prompt({"1": {"class_type": "EmptyImage", "inputs": {"w": object()}}}, INFO)


def test_the_callers_prompt_is_left_alone() -> None:
    prompt = chain()
    prompt["1"]["inputs"]["width"] = "8"
    before = copy.deepcopy(prompt)
    validate_prompt(prompt, INFO)
    assert prompt == before


@pytest.mark.parametrize("depth", [101, 900, 5000])
def test_deeply_nested_values_are_refused(depth: int) -> None:
    # 0.3.75 accepted a 900-deep list in an undeclared input; its worker then
    # died of RecursionError while hashing it for the cache.
    value: Any = 0
    for _ in range(depth):
        value = [value]
    prompt = chain()
    prompt["1"]["inputs"]["extra"] = value
    error = refused(prompt)
    assert error.status is None
    with pytest.raises(WorkflowValidationError) as caught:
        check_workflow(prompt)
    assert caught.value.node_errors[0].errors[0].type == "value_too_deep"
    shallow = chain()
    shallow["1"]["inputs"]["extra"] = {"a": [[[1]]]}
    assert validate_prompt(shallow, INFO) == ()
    check_workflow(shallow)
