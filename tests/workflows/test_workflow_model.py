"""The Workflow value: constructors, immutability, sources and embedded files."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from comfy_core.errors import WorkflowFormatError
from comfy_core.workflows import NodeInfo, Workflow, read_text_metadata
from tests.workflow_corpus import object_info, read

INFO = object_info()
UI: dict[str, Any] = read("cases/plain_save", "ui")
API: dict[str, Any] = read("cases/plain_save", "api")


def png(texts: dict[str, str], *, itxt: bool = False) -> bytes:
    info = PngInfo()
    for key, value in texts.items():
        if itxt:
            info.add_itxt(key, value, zip=True)
        else:
            info.add_text(key, value)
    out = io.BytesIO()
    Image.new("RGB", (4, 4)).save(out, "PNG", pnginfo=info)
    return out.getvalue()


def webp(texts: dict[str, str]) -> bytes:
    exif = Image.Exif()
    tag = 0x010F
    for key, value in texts.items():
        exif[0x0110 if key == "prompt" else tag] = f"{key}:{value}"
        if key != "prompt":
            tag -= 1
    out = io.BytesIO()
    frames = [Image.new("RGB", (4, 4), c) for c in ("red", "blue")]
    frames[0].save(out, "WEBP", save_all=True, append_images=frames[1:], exif=exif)
    return out.getvalue()


def test_from_ui_keeps_the_ui_and_per_node_records() -> None:
    wf = Workflow.from_ui(UI, INFO)
    assert wf.ui == UI
    assert wf.to_api() == API
    assert wf.nodes["2"] == NodeInfo(id="2", class_type="EmptyImage", title="EmptyImage")
    assert dict(wf.nodes["1"].controls) == {"value": "fixed"}


def test_controls_of_seeds() -> None:
    wf = Workflow.from_ui(read("cases/values_seeds_defaults_text", "ui"), INFO)
    assert dict(wf.nodes["1"].controls) == {"noise_seed": "randomize"}
    assert dict(wf.nodes["2"].controls) == {"noise_seed": "fixed"}
    # Python keeps big integers exact where the frontend rounds them to doubles.
    assert wf.to_api()["1"]["inputs"]["noise_seed"] == 2**60 + 1


def test_controls_of_widgets_fed_by_primitive_nodes() -> None:
    wf = Workflow.from_ui(read("cases/primitive_targets", "ui"), INFO)
    # width is fed by a PrimitiveNode set to "fixed"; the one via a Reroute is lost.
    assert dict(wf.nodes["2"].controls) == {"width": "fixed"}


def test_typed_schemas_work_as_object_info() -> None:
    from comfy_core.schema import parse_object_info

    assert Workflow.from_ui(UI, parse_object_info(INFO)).to_api() == API


def test_immutable_and_fresh_copies() -> None:
    wf = Workflow.from_api(API)
    first = wf.to_api()
    first["1"]["inputs"]["value"] = 0
    assert wf.to_api() == API
    with pytest.raises(AttributeError):
        wf._api = "{}"
    with pytest.raises(TypeError):
        wf.nodes["1"] = wf.nodes["2"]  # type: ignore[index]
    assert wf == Workflow.from_api(API) and hash(wf) == hash(Workflow.from_api(API))
    assert wf.ui is None and wf.nodes["3"].title == "Save Image"


def test_extra_data_carries_the_ui_workflow() -> None:
    wf = Workflow.from_ui(UI, INFO)
    extra = wf.extra_data({"extra_pnginfo": {"other": 1}, "x": 2})
    assert extra == {"extra_pnginfo": {"other": 1, "workflow": UI}, "x": 2}
    assert Workflow.from_api(API).extra_data() is None


@pytest.mark.parametrize("kind", ["dict", "str", "bytes", "path", "str_path"])
def test_load_sources(kind: str, tmp_path: Any) -> None:
    path = tmp_path / "w.json"
    path.write_text(json.dumps(UI))
    source: Any = {
        "dict": UI,
        "str": json.dumps(UI),
        "bytes": json.dumps(UI).encode(),
        "path": path,
        "str_path": str(path),
    }[kind]
    assert Workflow.load(source, INFO).to_api() == API
    assert Workflow.load(json.dumps(API)).to_api() == API


def test_load_png_prefers_ui_with_object_info() -> None:
    other = {"9": {"class_type": "PreviewImage", "inputs": {}}}
    data = png({"prompt": json.dumps(other), "workflow": json.dumps(UI)})
    assert Workflow.load(data, INFO).to_api() == API
    from_prompt = Workflow.load(data)
    assert from_prompt.to_api() == other and from_prompt.ui == UI


def test_load_png_itxt_and_non_latin_text() -> None:
    ui = json.loads(json.dumps(UI))
    ui["nodes"][2]["title"] = "保存"
    data = png({"workflow": json.dumps(ui, ensure_ascii=False)}, itxt=True)
    assert Workflow.load(data, INFO).nodes["3"].title == "保存"
    with pytest.raises(WorkflowFormatError, match="only a UI workflow"):
        Workflow.load(data)


def test_png_without_workflow() -> None:
    with pytest.raises(WorkflowFormatError, match="no ComfyUI workflow"):
        Workflow.load(png({"Software": "x"}))


def test_read_webp_exif() -> None:
    data = webp({"prompt": json.dumps(API), "workflow": json.dumps(UI)})
    texts = read_text_metadata(data)
    assert json.loads(texts["prompt"]) == API and json.loads(texts["workflow"]) == UI
    assert Workflow.load(data, INFO).to_api() == API


def test_missing_nodes_modes() -> None:
    data = read("cases/object_links_missing_type", "ui")
    keep = Workflow.from_ui(data, INFO, missing_nodes="keep").to_api()
    assert "class_type" not in keep["3"] and keep["5"]["inputs"]["images"] == ["3", 0]
    drop = Workflow.from_ui(data, INFO, missing_nodes="drop").to_api()
    assert "3" not in drop and "images" not in drop["5"]["inputs"]


def test_key_order_is_javascripts() -> None:
    api = Workflow.from_ui(read("cases/subgraph_promoted_modes", "ui"), INFO).to_api()
    keys = list(api)
    numeric = [k for k in keys if ":" not in k]
    assert keys[: len(numeric)] == sorted(numeric, key=int)
