"""Templating offline: addressing, set, parameters, templates, batches, validate.

UI workflows come from the shipped corpus (the ``default`` template and the
hand-made cases) and are converted with the corpus's ``object_info``.
"""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path
from typing import Any

import pytest

from comfy_api_client import (
    AmbiguousNodeError,
    InputNotFoundError,
    LinkedInputError,
    LocalProtocolError,
    NodeNotFoundError,
    ParameterError,
    Template,
    Workflow,
    WorkflowValidationError,
)
from comfy_api_client.utils import randomize_noise_seeds, replace_noise_seeds
from tests.workflow_corpus import object_info, read

OBJECT_INFO = object_info()


def default() -> Workflow:
    return Workflow.from_ui(read("templates/default", "ui"), OBJECT_INFO)


def default_template() -> Template:
    return Template(
        default(),
        {
            "prompt": "6.text",
            "seed": "KSampler.seed",
            "steps": "3.steps",
            "sampler": "KSampler.sampler_name",
            "cfg": "KSampler.cfg",
            "size": ["Empty Latent Image.width", "Empty Latent Image.height"],
        },
        object_info=OBJECT_INFO,
    )


VALID = {"prompt": "a cat", "seed": 5, "steps": 20, "sampler": "euler", "cfg": 7.5, "size": 512}


# -- addressing ---------------------------------------------------------------------


def test_node_by_id_title_meta_title_and_unique_class_type() -> None:
    wf = default()
    assert wf.node("3").class_type == "KSampler"
    assert wf.node("KSampler").id == "3"  # the title, and the class_type
    assert wf.node("Load Checkpoint").id == "4"
    assert wf.node("EmptyLatentImage").id == "5"  # class_type occurring once
    api = Workflow.from_api({"1": {"class_type": "X", "inputs": {}, "_meta": {"title": "Mine"}}})
    assert api.node("Mine").id == "1"


def test_ambiguous_reference_lists_candidates() -> None:
    wf = default()
    with pytest.raises(AmbiguousNodeError) as info:
        wf.node("CLIPTextEncode")
    err = info.value
    assert isinstance(err, LocalProtocolError)
    assert [c[0] for c in err.candidates] == ["6", "7"]
    assert "node 6 'CLIP Text Encode (Prompt)'" in str(err) and "node 7" in str(err)
    with pytest.raises(AmbiguousNodeError):
        wf.set("CLIP Text Encode (Prompt).text", "x")


def test_unknown_reference_suggests_close_matches() -> None:
    with pytest.raises(NodeNotFoundError) as info:
        default().node("KSamplr")
    assert isinstance(info.value, LocalProtocolError)
    assert info.value.suggestions[0] == "KSampler"
    assert "did you mean 'KSampler'" in str(info.value)
    with pytest.raises(NodeNotFoundError, match="Empty Latent Image"):
        default().set("Empty Latent Imag.width", 64)


def test_subgraph_nodes_by_execution_id_and_title() -> None:
    wf = Workflow.from_ui(read("cases/subgraph_nested", "ui"), OBJECT_INFO)
    assert wf.node("4:3:1").class_type == "ImageBlur"
    assert wf.node("Invert Image").id == "4:3:2"
    assert wf.set("4:3:1.blur_radius", 7).get("ImageBlur.blur_radius") == 7
    assert wf.set("Upscale Image.width", 48).to_api()["4:4"]["inputs"]["width"] == 48


def test_nodes_filters_and_stays_a_mapping() -> None:
    wf = default()
    assert [n.id for n in wf.nodes(class_type="CLIPTextEncode")] == ["6", "7"]
    assert [n.id for n in wf.nodes(title="Save Image")] == ["9"]
    assert wf.nodes(class_type="CLIPTextEncode", title="Nope") == ()
    assert wf.nodes["3"].controls["seed"] == "randomize" and len(wf.nodes) == 7


# -- set -------------------------------------------------------------------------------


def test_set_returns_a_new_workflow_and_keeps_ui_and_node_info() -> None:
    wf = default()
    before = wf.to_api()
    one = wf.set("KSampler.seed", 5)
    many = wf.set({"KSampler.seed": 6, "3.steps": 12, "Empty Latent Image.width": 640})
    assert wf.to_api() == before
    assert one.get("3.seed") == 5 and many.to_api()["3"]["inputs"]["steps"] == 12
    assert many.get("5.width") == 640
    assert many.ui == wf.ui and many.nodes["3"] == wf.nodes["3"]
    assert one.extra_data() == wf.extra_data()


def test_set_linked_input_needs_replace_links() -> None:
    wf = default()
    with pytest.raises(LinkedInputError) as info:
        wf.set("KSampler.latent_image", 1)
    assert info.value.node_id == "3" and info.value.input_name == "latent_image"
    assert "node 3 'KSampler'" in str(info.value) and "replace_links=True" in str(info.value)
    cut = wf.set("KSampler.model", ["4", 0], replace_links=True)
    assert cut.get("KSampler.model") == ["4", 0]


def test_set_unknown_input_names_node_and_inputs() -> None:
    with pytest.raises(InputNotFoundError) as info:
        default().set("KSampler.sed", 1)
    err = info.value
    assert err.node_id == "3" and err.input_name == "sed" and "seed" in err.inputs
    assert "node 3 'KSampler' has no input 'sed'" in str(err)
    assert "its inputs: seed, steps" in str(err)


def test_set_declared_input_missing_from_prompt_with_object_info() -> None:
    wf = Workflow.from_api({"1": {"class_type": "EmptyImage", "inputs": {"width": 8}}})
    with pytest.raises(InputNotFoundError):
        wf.set("1.height", 8)
    assert wf.set("1.height", 8, object_info=OBJECT_INFO).get("1.height") == 8


def test_dotted_titles_and_input_names_resolve() -> None:
    wf = Workflow.from_api(
        {
            "1": {"class_type": "A", "inputs": {"x": 1}, "_meta": {"title": "SD 1.5 Loader"}},
            "2": {"class_type": "B", "inputs": {"group.text1": "a"}},
        }
    )
    assert wf.set("SD 1.5 Loader.x", 2).get("1.x") == 2
    assert wf.set("B.group.text1", "b").get("2.group.text1") == "b"


# -- parameters ----------------------------------------------------------------------


def test_parameters_of_a_ui_template() -> None:
    params = {p.name: p for p in default().parameters(OBJECT_INFO)}
    assert len(params) == len(default().parameters(OBJECT_INFO))  # names are unique
    seed = params["KSampler.seed"]
    assert (seed.type, seed.control, seed.seed, seed.min, seed.max) == (
        "INT",
        "randomize",
        True,
        0,
        18446744073709551615,
    )
    assert seed.node_id == "3" and seed.class_type == "KSampler" and seed.input == "seed"
    sampler = params["KSampler.sampler_name"]
    assert sampler.type == "COMBO" and sampler.choices and "euler" in sampler.choices
    cfg = params["KSampler.cfg"]
    assert (cfg.type, cfg.default, cfg.step) == ("FLOAT", 8.0, 0.1)
    # Two nodes share the title: their names use the node id.
    assert params["6.text"].multiline and params["7.text"].title == "CLIP Text Encode (Prompt)"
    assert params["Empty Latent Image.width"].step == 8
    assert "KSampler.model" not in params  # links are not parameters
    for p in params.values():  # every name is an address set() takes
        assert default().set(p.name, p.value).to_api() == default().to_api()


def test_parameters_without_object_info_and_api_only_seeds() -> None:
    prompt = read("templates/default", "api")
    params = {p.name: p for p in Workflow.from_api(prompt).parameters()}
    seed = params["KSampler.seed"]
    assert seed.seed and seed.control is None and not seed.declared and seed.type == "INT"
    assert params["KSampler.cfg"].type in ("FLOAT", "INT") and not params["KSampler.steps"].seed
    typed = {p.name: p for p in Workflow.from_api(prompt).parameters(OBJECT_INFO)}
    assert typed["KSampler.seed"].seed and typed["KSampler.seed"].max == 18446744073709551615


# -- templates -------------------------------------------------------------------------


def test_render_sets_every_target() -> None:
    t = default_template()
    wf = t.render(**VALID)
    api = wf.to_api()
    assert api["6"]["inputs"]["text"] == "a cat" and api["3"]["inputs"]["seed"] == 5
    assert api["5"]["inputs"]["width"] == api["5"]["inputs"]["height"] == 512
    tall = t.render({**VALID, "size": (512, 768)})
    assert (tall.get("5.width"), tall.get("5.height")) == (512, 768)
    assert default_template().render(t.defaults()).to_api() == default().to_api()
    assert wf.ui == default().ui


BAD = [
    ("seed", -1, "3", "seed", "below the minimum 0", "INT in 0..18446744073709551615"),
    ("seed", 1.5, "3", "seed", "not an int", "INT in 0.."),
    ("seed", True, "3", "seed", "not an int", "INT in 0.."),
    ("steps", 10001, "3", "steps", "above the maximum 10000", "INT in 1..10000"),
    ("sampler", "eulr", "3", "sampler_name", "not among the choices", "one of 'euler'"),
    ("cfg", "high", "3", "cfg", "not a number", "FLOAT in 0..100"),
    ("cfg", float("nan"), "3", "cfg", "not finite", "FLOAT"),
    ("prompt", 3, "6", "text", "not a str", "STRING"),
    ("size", 8, "5", "width", "below the minimum 16", "INT in 16..16384"),
    ("size", (512, 4), "5", "height", "below the minimum 16", "INT in 16..16384"),
    ("size", (1, 2, 3), "5", "width", "takes one value or 2 values", "one value, or 2"),
]


@pytest.mark.parametrize(("name", "value", "node", "input_name", "problem", "allowed"), BAD)
def test_render_bad_value_names_parameter_node_input_and_allowed(
    name: str, value: Any, node: str, input_name: str, problem: str, allowed: str
) -> None:
    with pytest.raises(ParameterError) as info:
        default_template().render({**VALID, name: value})
    err = info.value
    assert isinstance(err, LocalProtocolError) and isinstance(err, ValueError)
    assert (err.parameter, err.node_id, err.input_name) == (name, node, input_name)
    text = str(err)
    assert repr(name) in text and f"node {node}" in text and repr(input_name) in text
    assert problem in text and allowed in text and err.allowed


def test_render_missing_and_unknown_names() -> None:
    t = default_template()
    values = dict(VALID)
    del values["seed"], values["size"]
    with pytest.raises(ParameterError) as info:
        t.render(values)
    err = info.value
    assert (err.parameter, err.node_id, err.input_name) == ("seed", "3", "seed")
    assert "'seed', 'size'" in str(err) and "INT in 0.." in str(err)
    with pytest.raises(ParameterError) as info:
        t.render({**VALID, "sede": 1})
    assert info.value.parameter == "sede" and "did you mean 'seed'" in str(info.value)
    assert "its parameters: prompt, seed" in str(info.value)


def test_declaring_bad_targets_fails_at_once() -> None:
    with pytest.raises(InputNotFoundError):
        Template(default(), {"seed": "KSampler.sede"})
    with pytest.raises(LinkedInputError, match="parameter 'model'"):
        Template(default(), {"model": "KSampler.model"})
    with pytest.raises(ParameterError):
        Template(default(), {"not a name": "KSampler.seed"})
    with pytest.raises(ParameterError):
        Template(default(), {"seed": []})


def test_without_object_info_the_current_type_is_checked() -> None:
    t = Template(default(), {"seed": "KSampler.seed", "prompt": "6.text"})
    assert t.render(seed=10**30, prompt="x").get("3.seed") == 10**30  # no range known
    with pytest.raises(ParameterError, match="from the current value"):
        t.render(seed="1", prompt="x")


def ui_with_placeholders() -> dict[str, Any]:
    ui: dict[str, Any] = copy.deepcopy(read("templates/default", "ui"))
    for node in ui["nodes"]:
        if node["id"] == 6:
            node["widgets_values"][0] = "a photo of {{subject}}, {a|b} // comment"
        if node["id"] == 9:
            node["widgets_values"][0] = "out/{{ subject }}_%date:yyyy%"
    return ui


def test_placeholders_survive_dynamic_prompts_and_are_required() -> None:
    ui = ui_with_placeholders()
    plain = Workflow.from_ui(ui, OBJECT_INFO)
    assert "{{" not in plain.get("6.text")  # the frontend's dynamic prompts ate them
    t = Template.from_ui(ui, OBJECT_INFO, {"seed": "KSampler.seed"})
    assert t.placeholders == ("subject",) and t.names == ("seed", "subject")
    text = t.workflow.get("6.text")
    assert text.startswith("a photo of {{subject}}, ") and "comment" not in text
    assert text.rstrip()[-1] in "ab"  # the choice was still resolved
    wf = t.render(seed=1, subject="cat")
    assert wf.get("6.text").startswith("a photo of cat, ")
    assert wf.get("9.filename_prefix").startswith("out/cat_2")
    assert t.workflow.ui == ui
    with pytest.raises(ParameterError) as info:
        t.render(seed=1)
    assert (info.value.parameter, info.value.node_id, info.value.input_name) == (
        "subject",
        "6",
        "text",
    )
    with pytest.raises(ParameterError, match="not a str"):
        t.render(seed=1, subject=3)


def test_placeholder_clashing_with_a_parameter() -> None:
    wf = Workflow.from_api({"1": {"class_type": "A", "inputs": {"a": "{{x}}", "b": 1}}})
    with pytest.raises(ParameterError, match="both"):
        Template(wf, {"x": "1.b"})
    assert Template(wf, {"x": "1.a"}).render(x="y").get("1.a") == "y"  # a target is replaced


def test_manifest_round_trip(tmp_path: Path) -> None:
    t = default_template()
    written = t.save(tmp_path / "sd15.template.json")
    assert written.name == "sd15.json" and json.loads(written.read_text()) == default().ui
    manifest = json.loads((tmp_path / "sd15.template.json").read_text())
    assert manifest["workflow"] == "sd15.json" and manifest["version"] == 1
    assert manifest["parameters"]["size"] == ["5.width", "5.height"]
    loaded = Template.load(tmp_path / "sd15.template.json", OBJECT_INFO)
    assert loaded.names == t.names
    assert loaded.render(**VALID).to_api() == t.render(**VALID).to_api()


def test_hand_written_manifest_with_titles_and_placeholders(tmp_path: Path) -> None:
    (tmp_path / "portrait.json").write_text(json.dumps(ui_with_placeholders()))
    (tmp_path / "portrait.template.json").write_text(
        json.dumps(
            {
                "workflow": "portrait.json",
                "parameters": {"seed": "KSampler.seed", "steps": "KSampler.steps"},
            }
        )
    )
    t = Template.load(tmp_path / "portrait.template.json", OBJECT_INFO)
    assert t.names == ("seed", "steps", "subject")
    assert t.render(seed=1, steps=2, subject="dog").get("6.text").startswith("a photo of dog")
    with pytest.raises(ParameterError, match="above the maximum"):
        t.render(seed=1, steps=10**6, subject="dog")
    (tmp_path / "bad.template.json").write_text(json.dumps({"parameters": {}}))
    with pytest.raises(LocalProtocolError, match="not a template manifest"):
        Template.load(tmp_path / "bad.template.json")
    api_only = tmp_path / "api.json"
    api_only.write_text(json.dumps(read("templates/default", "api")))
    (tmp_path / "api.template.json").write_text(
        json.dumps({"workflow": "api.json", "parameters": {"seed": "KSampler.seed"}})
    )
    assert Template.load(tmp_path / "api.template.json").render(seed=3).get("3.seed") == 3


# -- batches -----------------------------------------------------------------------------


def seeds(workflows: Any, address: str = "3.seed") -> list[Any]:
    return [w.get(address) for w in workflows]


def test_batch_follows_each_control_mode() -> None:
    wf = default().set("3.seed", 100)  # the UI says randomize
    drawn = seeds(wf.batch(4, object_info=OBJECT_INFO, rng=7))
    assert len(set(drawn)) == 4 and all(0 <= s < 2**50 for s in drawn)
    assert drawn == seeds(wf.batch(4, object_info=OBJECT_INFO, rng=random.Random(7)))
    assert drawn != seeds(wf.batch(4, object_info=OBJECT_INFO, rng=8))
    assert seeds(wf.batch(3, policy="fixed")) == [100, 100, 100]
    assert seeds(wf.batch(3, policy="increment")) == [100, 101, 102]
    assert seeds(wf.batch(3, policy="decrement")) == [100, 99, 98]
    # Held at the input's range, as the frontend holds them.
    low = default().set("3.seed", 1)
    assert seeds(low.batch(3, object_info=OBJECT_INFO, policy="decrement")) == [1, 0, 0]
    top = default().set("3.seed", 18446744073709551614)
    assert seeds(top.batch(3, object_info=OBJECT_INFO, policy={"KSampler.seed": "increment"})) == [
        18446744073709551614,
        18446744073709551615,
        18446744073709551615,
    ]


def test_batch_reads_modes_from_the_ui_and_per_parameter_policy() -> None:
    wf = Workflow.from_ui(read("cases/values_seeds_defaults_text", "ui"), OBJECT_INFO)
    assert dict(wf.nodes["1"].controls) == {"noise_seed": "randomize"}
    assert dict(wf.nodes["2"].controls) == {"noise_seed": "fixed"}
    items = list(wf.batch(3, object_info=OBJECT_INFO, rng=1))
    assert len(set(seeds(items, "1.noise_seed"))) == 3
    assert seeds(items, "2.noise_seed") == [18446744073709551615] * 3
    policy = {"1.noise_seed": "increment", "EmptyImage.width": "increment"}
    items = list(wf.batch(2, object_info=OBJECT_INFO, policy=policy))
    assert seeds(items, "1.noise_seed") == [1152921504606846977, 1152921504606846978]
    assert seeds(items, "3.width") == [32, 33]  # any INT input may be varied on request
    assert items[0].ui == wf.ui


def test_batch_errors() -> None:
    wf = default()
    with pytest.raises(ParameterError, match="needs its range"):
        list(wf.batch(2))  # randomize without object_info: raised at the call
    with pytest.raises(ParameterError, match="not one of"):
        wf.batch(2, policy="sometimes")
    with pytest.raises(ParameterError, match="INT"):
        wf.batch(2, policy={"6.text": "increment"})
    with pytest.raises(InputNotFoundError):
        wf.batch(2, policy={"KSampler.sede": "increment"})
    with pytest.raises(ValueError):
        wf.batch(-1)


def test_api_only_seeds_randomize_like_a_new_frontend_node() -> None:
    wf = Workflow.from_api(read("templates/default", "api"))
    assert len(set(seeds(wf.batch(3, object_info=OBJECT_INFO, rng=3)))) == 3


def test_template_batch() -> None:
    t = default_template()
    items = list(t.batch(3, VALID, policy={"seed": "increment"}))
    assert seeds(items) == [5, 6, 7] and {w.get("6.text") for w in items} == {"a cat"}
    drawn = seeds(t.batch(3, VALID, rng=11))
    assert drawn == seeds(t.batch(3, VALID, rng=11)) and len(set(drawn)) == 3
    with pytest.raises(ParameterError, match="no value"):
        t.batch(2, prompt="x")


# -- validate and the original helpers ---------------------------------------------------


def test_validate_wraps_validate_prompt() -> None:
    wf = Workflow.from_ui(read("cases/compressed_export", "ui"), OBJECT_INFO)
    assert wf.validate(OBJECT_INFO) == ()
    with pytest.raises(WorkflowValidationError) as info:
        wf.set("EmptyImage.width", 0).validate(OBJECT_INFO)
    assert info.value.status == 400
    assert info.value.node_errors[0].node_id == "2"


def test_original_seed_helpers_keep_their_behaviour() -> None:
    prompt = read("templates/default", "api")
    replaced = replace_noise_seeds(prompt, 42)
    assert replaced["3"]["inputs"]["seed"] == 42 and prompt["3"]["inputs"]["seed"] != 42
    assert 0 <= randomize_noise_seeds(prompt)["3"]["inputs"]["seed"] < 2**32
