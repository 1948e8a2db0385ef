"""comfy_core.results and comfy_core.outputs on recorded GET /history/{id} answers."""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

import pytest
from PIL import Image

from comfy_core.errors import (
    ComfyExecutionError,
    NodeExecutionError,
    PromptInterruptedError,
    RemoteProtocolError,
)
from comfy_core.history import outcome_from_history
from comfy_core.outputs import OutputFile, parse_node_output
from comfy_core.results import ImageItem, PromptResult
from comfy_core.routes import read_history_entry
from tests import recorded


def histories(name: str) -> list[tuple[str, Mapping[str, Any]]]:
    """(prompt_id, entry) of every recorded GET /history/{id} of ``name``, read by the core."""
    out = []
    for record in recorded.http_records(name, "GET", "/history/"):
        prompt_id = record["path"].rsplit("/", 1)[1]
        entry = read_history_entry(*recorded.as_exchange(record), prompt_id)
        if entry is not None:
            out.append((prompt_id, entry))
    return out


def outcome(name: str, index: int = 0) -> PromptResult | ComfyExecutionError:
    prompt_id, entry = histories(name)[index]
    return outcome_from_history(prompt_id, entry)


def image(node: str, filename: str, subfolder: str = "", type: str = "output") -> OutputFile:
    return OutputFile(
        node_id=node, kind="images", filename=filename, subfolder=subfolder, type=type
    )


# -- recorded outcomes ------------------------------------------------------------------


def test_success() -> None:
    result = outcome("success")
    assert isinstance(result, PromptResult)
    assert result.prompt_id == "a083407b-7eeb-4c00-9cb1-a8b438880f21"
    assert list(result.outputs) == ["2"]
    expected = image("2", "sdk_success_00001_.png")
    assert result.outputs["2"].images == (expected,)
    assert result.files == result.image_files == (expected,)
    assert expected.mime == "image/png"
    assert result.output_images == []  # the core downloads nothing


def test_multi_output_kinds_and_subfolders() -> None:
    result = outcome("multi_output", 0)
    assert isinstance(result, PromptResult)
    assert list(result.outputs) == ["2", "9", "4", "11", "7"]
    outputs = result.outputs
    assert outputs["2"].images == (
        image("2", "batch_00001_.png", "sdk_multi"),
        image("2", "batch_00002_.png", "sdk_multi"),
    )
    assert [f.filename for f in outputs["9"].images] == ["scaled_00001_.png", "scaled_00002_.png"]
    assert outputs["4"].images[0] == image("4", "ComfyUI_temp_mkmkz_00001_.png", "", "temp")
    assert {f.type for f in outputs["4"].images} == {"temp"}
    assert outputs["7"].images == (image("7", "mask_00001_.png", "sdk_multi"),)
    latent = OutputFile(
        node_id="11", kind="latents", filename="latent_00001_.latent", subfolder="sdk_multi"
    )
    assert outputs["11"].latents == (latent,)
    assert outputs["11"].images == ()
    assert latent.mime == "application/octet-stream"
    assert len(result.files) == 8
    assert len(result.image_files) == 7
    assert latent not in result.image_files
    assert outputs["11"].raw == {
        "latents": [
            {"filename": "latent_00001_.latent", "subfolder": "sdk_multi", "type": "output"}
        ]
    }


def test_partial_run_lists_only_its_target() -> None:
    result = outcome("multi_output", 1)
    assert isinstance(result, PromptResult)
    assert list(result.outputs) == ["7"]
    assert result.files == (image("7", "mask_00001_.png", "sdk_multi"),)


def test_execution_error() -> None:
    error = outcome("execution_error")
    assert isinstance(error, NodeExecutionError)
    assert error.prompt_id == "68639505-4a1c-4b3b-9c44-cf1cc4e58991"
    assert (error.node_id, error.node_type) == ("2", "ImageScaleBy")
    assert error.exception_type == "RuntimeError"
    assert error.exception_message == (
        "Input and output sizes should be greater than 0, "
        "but got input (H: 1, W: 1) output (H: 0, W: 0)"
    )
    assert error.executed == ("1",)
    assert len(error.traceback) > 0
    text = str(error)
    assert "ImageScaleBy" in text and "RuntimeError" in text and "H: 0, W: 0" in text


@pytest.mark.parametrize("index", [0, 1])
def test_interrupted(index: int) -> None:
    prompt_id, _ = histories("interrupted")[index]
    error = outcome("interrupted", index)
    assert isinstance(error, PromptInterruptedError)
    assert not isinstance(error, NodeExecutionError)
    assert error.prompt_id == prompt_id
    assert (error.node_id, error.node_type) == ("11", "ImageBlur")
    assert "interrupted" in str(error)


def test_error_without_readable_message_is_still_an_error() -> None:
    entry = {"outputs": {}, "status": {"status_str": "error", "completed": False, "messages": []}}
    error = outcome_from_history("p1", entry)
    assert type(error) is ComfyExecutionError
    assert error.prompt_id == "p1"


def test_entry_without_status_is_a_success() -> None:
    entry = {"outputs": {"3": {"images": [{"filename": "a.png", "subfolder": "", "type": "temp"}]}}}
    result = outcome_from_history("old", entry)
    assert isinstance(result, PromptResult)
    assert result.files == (image("3", "a.png", "", "temp"),)


def test_entry_not_an_object() -> None:
    with pytest.raises(RemoteProtocolError):
        outcome_from_history("p1", ["not", "an", "entry"])  # type: ignore[arg-type]


# -- hand-built outputs -----------------------------------------------------------------

VHS_ITEM = {
    "filename": "clip_00001.mp4",
    "subfolder": "vhs",
    "type": "output",
    "format": "video/h264-mp4",
    "frame_rate": 8.0,
    "workflow": "clip_00001.png",
    "fullpath": "/srv/comfyui/ComfyUI/output/vhs/clip_00001.mp4",
}

CUSTOM_UI = {
    "gifs": [VHS_ITEM],
    "audio": [{"filename": "voice.flac", "subfolder": "", "type": "output"}],
    "text": ["hello", 42],
    "animated": [True, False],
    "3d": ["mesh.glb", {"filename": "mesh.glb", "subfolder": "3d", "type": "output"}],
    "result": [{"score": 0.5}, "plain"],
    "mystery": {"not": "a list"},
}


def test_custom_kinds() -> None:
    result = outcome_from_history(
        "p2", {"outputs": {"8": CUSTOM_UI}, "status": {"status_str": "success"}}
    )
    assert isinstance(result, PromptResult)
    node = result.outputs["8"]
    (gif,) = node.gifs
    assert (gif.kind, gif.filename, gif.subfolder, gif.type) == (
        "gifs",
        "clip_00001.mp4",
        "vhs",
        "output",
    )
    assert gif.extra == {
        "format": "video/h264-mp4",
        "frame_rate": 8.0,
        "workflow": "clip_00001.png",
    }
    assert "fullpath" not in gif.extra
    assert gif.mime == "video/h264-mp4"
    (audio,) = node.audio
    assert audio == OutputFile(node_id="8", kind="audio", filename="voice.flac")
    assert audio.mime == "audio/flac"
    assert node.text == ("hello", "42")
    assert node.animated == (True, False)
    assert node.of_kind("3d") == (
        OutputFile(node_id="8", kind="3d", filename="mesh.glb", subfolder="3d"),
    )
    assert node.of_kind("result") == ()
    assert node.raw == CUSTOM_UI  # unknown shapes are kept as sent
    assert [f.kind for f in result.files] == ["gifs", "audio", "3d"]
    assert result.image_files == ()


def test_node_output_of_nothing() -> None:
    assert parse_node_output("5", None).files == ()
    assert parse_node_output("5", {"images": [{"subfolder": "x"}, {"filename": ""}]}).files == ()


# -- ImageItem ------------------------------------------------------------------------------


def png(size: tuple[int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (10, 120, 250)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_image_item_from_download() -> None:
    ref = image("2", "batch_00001_.png", "sdk_multi")
    data = png((7, 5))
    item = ImageItem.from_download(ref, data)
    assert (item.filename, item.subfolder, item.type, item.node_id) == (
        "batch_00001_.png",
        "sdk_multi",
        "output",
        "2",
    )
    assert item.format == "png"
    assert item.data == data
    decoded = item.image
    assert decoded.format == "PNG"
    assert decoded.size == (7, 5)
    assert decoded.getpixel((3, 2)) == (10, 120, 250)
    assert item.image is decoded  # decoded once


def test_image_item_format_is_sniffed_not_taken_from_the_name() -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (2, 2)).save(buffer, format="JPEG")
    item = ImageItem.from_download(image("1", "looks_like.png"), buffer.getvalue())
    assert item.format == "jpeg"
    assert item.image.format == "JPEG"
    unknown = ImageItem.from_download(image("1", "anim.webp"), b"not an image")
    assert unknown.format == "webp"
