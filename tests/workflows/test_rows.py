"""Parameter rows offline: files read, strings coerced, rows rendered into workflows.

Templates come from the corpus's ``default`` UI workflow and its ``object_info``;
plain workflows are API prompts typed by a real server's ``object_info``.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from comfy_core.errors import (
    InputNotFoundError,
    InvalidArgument,
    LinkedInputError,
    NodeNotFoundError,
    ParameterError,
)
from comfy_core.workflows import Template, Workflow, coerce, read_rows, render_row
from tests.workflow_corpus import object_info, read

CORPUS_INFO = object_info()
SERVER_INFO = json.loads(
    (Path(__file__).resolve().parents[1] / "data" / "object_info-0.3.75.json").read_text()
)


def write(path: Path, text: str) -> Path:
    path.write_bytes(text.encode("utf-8"))
    return path


# -- reading: JSON Lines ---------------------------------------------------------------------


def test_jsonl_rows_are_typed_and_blank_lines_skipped(tmp_path: Path) -> None:
    path = write(
        tmp_path / "rows.jsonl",
        '{"seed": 1, "prompt": "a cat\u2028on a mat"}\r\n'
        "\n"
        "   \n"
        '{"seed": "2", "size": [512, 768], "KSampler.cfg": 7.5, "flag": true}\n',
    )
    assert read_rows(path) == [
        {"seed": 1, "prompt": "a cat\u2028on a mat"},
        {"seed": "2", "size": [512, 768], "KSampler.cfg": 7.5, "flag": True},
    ]
    assert read_rows(str(write(tmp_path / "rows.NDJSON", '{"a": 1}'))) == [{"a": 1}]
    assert read_rows(write(tmp_path / "empty.jsonl", "")) == []


@pytest.mark.parametrize(
    ("bad", "says"),
    [("[1, 2]", "not list"), ('"seed"', "not str"), ("{seed: 1}", "not JSON")],
)
def test_jsonl_line_that_is_not_an_object_names_file_and_line(
    tmp_path: Path, bad: str, says: str
) -> None:
    path = write(tmp_path / "rows.jsonl", '{"seed": 1}\n\n' + bad + '\n{"seed": 3}\n')
    with pytest.raises(InvalidArgument) as caught:
        read_rows(path)
    assert "line 3" in str(caught.value) and "rows.jsonl" in str(caught.value)
    assert says in str(caught.value) and isinstance(caught.value, ValueError)


# -- reading: CSV ----------------------------------------------------------------------------


def test_csv_rows_are_strings_and_empty_cells_unset(tmp_path: Path) -> None:
    path = write(
        tmp_path / "rows.csv",
        "\ufeffseed, prompt ,KSampler.cfg\r\n"
        '1,"a cat, sitting\r\non two lines",7.5\r\n'
        "2,,\r\n"
        "3\r\n"
        ",,\r\n",
    )
    assert read_rows(path) == [
        {"seed": "1", "prompt": "a cat, sitting\r\non two lines", "KSampler.cfg": "7.5"},
        {"seed": "2"},
        {"seed": "3"},  # a short row: the missing cells are unset too
        {},
    ]


def test_csv_row_with_more_cells_than_the_header_names_its_line(tmp_path: Path) -> None:
    path = write(tmp_path / "rows.csv", 'seed,prompt\n1,"two\nlines"\n2,x,extra\n')
    with pytest.raises(
        InvalidArgument, match=r"rows\.csv', line 4: 3 cells, but the header names 2"
    ):
        read_rows(path)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "no header"),
        ("seed,,steps\n1,2,3\n", "column 2 has no name"),
        ("seed,steps,seed\n1,2,3\n", "'seed' appears twice"),
        ('seed,prompt\n1,"a"b\n', "line 2"),
    ],
)
def test_bad_csv_files(tmp_path: Path, text: str, says: str) -> None:
    with pytest.raises(InvalidArgument, match=says):
        read_rows(write(tmp_path / "rows.csv", text))


def test_other_files_are_refused_saying_what_is_supported(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument, match=r"\.jsonl, \.ndjson, \.csv"):
        read_rows(write(tmp_path / "rows.txt", "seed\n1\n"))
    with pytest.raises(InvalidArgument, match="cannot read rows") as caught:
        read_rows(tmp_path / "missing.csv")
    assert isinstance(caught.value.__cause__, FileNotFoundError)


# -- coercion --------------------------------------------------------------------------------

COERCED = [
    ("12", "INT", 12),
    (" 12 ", "INT", 12),
    ("-3", "INT", -3),
    ("0x10", "INT", 16),
    ("0b101", "INT", 5),
    ("007", "INT", 7),
    ("1_000", "INT", 1000),
    ("1.5", "FLOAT", 1.5),
    ("2", "FLOAT", 2.0),
    ("-1e-3", "FLOAT", -0.001),
    ("true", "BOOLEAN", True),
    ("Yes", "BOOLEAN", True),
    ("1", "BOOLEAN", True),
    ("ON", "BOOLEAN", True),
    ("false", "BOOLEAN", False),
    ("no", "BOOLEAN", False),
    (" 0 ", "BOOLEAN", False),
    ("off", "BOOLEAN", False),
    ("12", "STRING", "12"),
    ("euler", "COMBO", "euler"),
    ("x", "IMAGE", "x"),
    (5, "INT", 5),  # not a string: as given, the template or the server checks it
    (1.5, "INT", 1.5),
    (True, "INT", True),
    (0, "BOOLEAN", 0),
    ([1, "2"], "INT", [1, "2"]),
    (None, "FLOAT", None),
]


@pytest.mark.parametrize(("value", "kind", "expected"), COERCED)
def test_coerce(value: Any, kind: str, expected: Any) -> None:
    got = coerce(value, kind)
    assert got == expected and type(got) is type(expected)


@pytest.mark.parametrize(
    ("value", "kind", "says"),
    [
        ("many", "INT", "'many' is not INT"),
        ("1.5", "INT", "'1.5' is not INT"),
        ("", "INT", "'' is not INT"),
        ("1,5", "FLOAT", "'1,5' is not FLOAT"),
        ("maybe", "BOOLEAN", "'maybe' is not a BOOLEAN"),
        ("2", "BOOLEAN", "'2' is not a BOOLEAN"),
    ],
)
def test_coerce_failure_says_value_and_kind(value: str, kind: str, says: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        coerce(value, kind)
    assert str(caught.value) == says and isinstance(caught.value, ValueError)


# -- rendering a template ------------------------------------------------------------------


def manifest(tmp_path: Path) -> Path:
    """The default workflow with a {{subject}} placeholder, saved with a manifest."""
    ui: dict[str, Any] = copy.deepcopy(read("templates/default", "ui"))
    for node in ui["nodes"]:
        if node["id"] == 6:
            node["widgets_values"][0] = "a photo of {{subject}}"
    (tmp_path / "portrait.json").write_text(json.dumps(ui))
    parameters = {
        "seed": "KSampler.seed",
        "steps": "3.steps",
        "size": ["Empty Latent Image.width", "Empty Latent Image.height"],
    }
    path = tmp_path / "portrait.template.json"
    path.write_text(json.dumps({"workflow": "portrait.json", "parameters": parameters}))
    return path


def test_template_rows_from_csv_render_typed_values(tmp_path: Path) -> None:
    template = Template.load(manifest(tmp_path), CORPUS_INFO)
    rows = read_rows(
        write(
            tmp_path / "rows.csv",
            "seed,steps,size,subject,KSampler.cfg,Empty Latent Image.batch_size\n"
            "42,0x10,640,dog,7.5,2\n"
            "43,,,cat,,\n",
        )
    )
    first, second = (render_row(template, row, CORPUS_INFO) for row in rows)
    api = first.to_api()
    assert api["3"]["inputs"]["seed"] == 42 and api["3"]["inputs"]["steps"] == 16
    assert api["5"]["inputs"]["width"] == api["5"]["inputs"]["height"] == 640
    assert api["6"]["inputs"]["text"] == "a photo of dog"
    assert api["3"]["inputs"]["cfg"] == 7.5 and api["5"]["inputs"]["batch_size"] == 2
    assert type(api["5"]["inputs"]["batch_size"]) is int
    # Empty cells keep the template's defaults and the workflow's values.
    defaults = template.defaults()
    assert second.get("3.steps") == defaults["steps"] and second.get("5.width") == 512
    assert second.get("3.cfg") == template.workflow.get("3.cfg")
    assert second.get("3.seed") == 43 and second.get("6.text") == "a photo of cat"
    assert first.ui == template.workflow.ui


def test_template_row_from_jsonl_spreads_a_list_and_types_each_value(tmp_path: Path) -> None:
    template = Template.load(manifest(tmp_path), CORPUS_INFO)
    row = {"size": ["512", "768"], "subject": "owl", "seed": 7}
    rendered = render_row(template, row, CORPUS_INFO)
    assert (rendered.get("5.width"), rendered.get("5.height")) == (512, 768)
    with pytest.raises(ParameterError, match="takes one value or 2 values, not 3"):
        render_row(template, {"size": ["512", "768", "1"], "subject": "owl"}, CORPUS_INFO)


def test_template_addresses_are_typed_by_its_own_object_info(tmp_path: Path) -> None:
    template = Template.load(manifest(tmp_path), CORPUS_INFO)
    rendered = render_row(template, {"subject": "x", "KSampler.cfg": "7"})  # no object_info
    assert rendered.get("3.cfg") == 7.0 and type(rendered.get("3.cfg")) is float


def test_template_row_errors_name_column_node_and_input(tmp_path: Path) -> None:
    template = Template.load(manifest(tmp_path), CORPUS_INFO)
    with pytest.raises(ParameterError) as caught:
        render_row(template, {"subject": "x", "steps": "many"}, CORPUS_INFO)
    err = caught.value
    assert (err.parameter, err.node_id, err.input_name) == ("steps", "3", "steps")
    assert "column 'steps'" in str(err) and "'many' is not INT" in str(err)
    assert "INT in 1..10000" in str(err) and isinstance(err.__cause__, InvalidArgument)

    with pytest.raises(ParameterError) as caught:
        render_row(template, {"subject": "x", "KSampler.cfg": "high"}, CORPUS_INFO)
    assert (caught.value.parameter, caught.value.input_name) == ("KSampler.cfg", "cfg")
    assert "'high' is not FLOAT" in str(caught.value)

    # The template's own errors, unwrapped.
    with pytest.raises(ParameterError, match="above the maximum 10000") as caught:
        render_row(template, {"subject": "x", "steps": "10001"}, CORPUS_INFO)
    assert caught.value.node_id == "3"
    with pytest.raises(ParameterError, match="did you mean 'seed'"):
        render_row(template, {"subject": "x", "sede": "1"}, CORPUS_INFO)
    (blank,) = read_rows(write(tmp_path / "blank.csv", "subject,seed\n,5\n"))
    with pytest.raises(ParameterError, match="no value for parameter 'subject'"):
        render_row(template, blank, CORPUS_INFO)
    with pytest.raises(NodeNotFoundError, match="did you mean 'KSampler'"):
        render_row(template, {"subject": "x", "KSamplr.cfg": "7"}, CORPUS_INFO)


# -- rendering a plain workflow ----------------------------------------------------------------


def plain() -> Workflow:
    return Workflow.from_api(
        {
            "1": {
                "class_type": "EmptyImage",
                "inputs": {"width": 512, "height": 512, "color": 0},
                "_meta": {"title": "Canvas"},
            },
            "2": {
                "class_type": "ImageBlur",
                "inputs": {"image": ["1", 0], "blur_radius": 1, "sigma": 1},
            },
            "3": {"class_type": "PrimitiveBoolean", "inputs": {"value": True}},
            "4": {
                "class_type": "SaveImage",
                "inputs": {"images": ["2", 0], "filename_prefix": "rows"},
            },
        }
    )


def test_workflow_row_names_and_addresses_are_typed_by_object_info() -> None:
    row = {
        "Canvas.width": "64",  # a parameter name
        "EmptyImage.color": "0x00ff00",  # the class_type: the same node, found all the same
        "2.sigma": "2",  # an id address; FLOAT, though the prompt holds an int
        "PrimitiveBoolean.value": "off",
        "SaveImage.filename_prefix": "007",  # STRING: stays text
        "Canvas.batch_size": "3",  # declared by the class, absent from the prompt
    }
    api = render_row(plain(), row, SERVER_INFO).to_api()
    assert api["1"]["inputs"] == {"width": 64, "height": 512, "color": 0x00FF00, "batch_size": 3}
    assert api["2"]["inputs"]["sigma"] == 2.0 and type(api["2"]["inputs"]["sigma"]) is float
    assert api["3"]["inputs"]["value"] is False
    assert api["4"]["inputs"]["filename_prefix"] == "007"
    assert render_row(plain(), {}, SERVER_INFO) == plain()


def test_workflow_row_without_object_info_reads_types_off_the_values() -> None:
    api = render_row(plain(), {"2.sigma": "0.5", "Canvas.width": "64"}).to_api()
    assert api["2"]["inputs"]["sigma"] == 0.5 and api["1"]["inputs"]["width"] == 64
    with pytest.raises(ParameterError, match="'wide' is not a number") as caught:
        render_row(plain(), {"Canvas.width": "wide"})
    assert (caught.value.node_id, caught.value.input_name) == ("1", "width")


def test_workflow_row_errors_name_node_and_input() -> None:
    with pytest.raises(ParameterError) as caught:
        render_row(plain(), {"Canvas.width": "wide"}, SERVER_INFO)
    err = caught.value
    assert (err.parameter, err.node_id, err.title, err.input_name) == (
        "Canvas.width",
        "1",
        "Canvas",
        "width",
    )
    assert "column 'Canvas.width' (node 1 'Canvas' (EmptyImage), input 'width')" in str(err)
    assert "INT in 1..16384" in str(err)
    with pytest.raises(InputNotFoundError, match="did you mean 'color'") as missing:
        render_row(plain(), {"Canvas.colour": "1"}, SERVER_INFO)
    assert missing.value.node_id == "1" and "width" in missing.value.inputs
    with pytest.raises(LinkedInputError, match="linked to node 1"):
        render_row(plain(), {"ImageBlur.image": "x"}, SERVER_INFO)
    with pytest.raises(NodeNotFoundError, match=r"'<node id, title or class_type>\.<input>'"):
        render_row(plain(), {"width": "64"}, SERVER_INFO)
