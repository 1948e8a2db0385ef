"""One suite, every (client, transport) pair, the real server: the clients must agree."""

from __future__ import annotations

import inspect
import io
import uuid
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from comfy_api_client import (
    HTTPStatusError,
    NodeExecutionError,
    OutputFile,
    PromptInterruptedError,
    WorkflowValidationError,
)
from comfy_api_client.endpoints import AsyncEndpoints
from comfy_core.api import CancelOutcome
from comfy_core.conclusions import PromptSucceeded
from comfy_core.events import PreviewReceived
from tests.conformance.conftest import Open
from tests.waiting import until_started
from tests.workflows import execution_error, rgb, save_image, slow


@pytest.mark.parametrize("tracker", ["websocket", "http"])
def test_success(open_client: Open, fresh_color: int, tracker: str) -> None:
    with open_client(start_state_tracker=tracker) as client:
        result = client.run(save_image(fresh_color, prefix="sdk_conf"), timeout=30)
    (item,) = result.output_images
    assert item.image.convert("RGB").getpixel((5, 5)) == rgb(fresh_color)
    assert item.format == "png"


def test_cached_rerun(open_client: Open, fresh_color: int) -> None:
    workflow = save_image(fresh_color, prefix="sdk_conf_cache")
    with open_client() as client:
        first = client.run(workflow, timeout=30)
        second = client.run(workflow, timeout=30)
    assert [i.filename for i in first.output_images] == [i.filename for i in second.output_images]


def test_validation_error(open_client: Open) -> None:
    workflow = save_image(1)
    del workflow["1"]["inputs"]["color"]
    with open_client() as client, pytest.raises(WorkflowValidationError) as caught:
        client.submit_workflow(workflow)
    (node,) = caught.value.node_errors
    assert (node.node_id, node.class_type, node.errors[0].input_name) == (
        "1",
        "EmptyImage",
        "color",
    )


def test_execution_error(open_client: Open) -> None:
    with open_client() as client, pytest.raises(NodeExecutionError) as caught:
        client.run(execution_error(), timeout=30)
    assert (caught.value.node_id, caught.value.node_type) == ("2", "ImageScaleBy")
    assert caught.value.exception_type == "RuntimeError"


def test_interrupt(open_client: Open, fresh_color: int) -> None:
    with open_client() as client:
        prompt = client.submit_workflow(slow(fresh_color, blurs=3))
        until_started(client, prompt)
        assert client.cancel(prompt) is CancelOutcome.INTERRUPTED
        with pytest.raises(PromptInterruptedError):
            client.wait(prompt, timeout=60)


def png(color: tuple[int, int, int], size: tuple[int, int] = (12, 8)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format="PNG")
    return buffer.getvalue()


def test_upload_then_load(open_client: Open) -> None:
    data = png((10, 200, 30))
    with open_client() as client:
        uploaded = client.upload_image(f"conf_{uuid.uuid4().hex[:8]}.png", data, subfolder="conf")
        assert (
            client.download(
                OutputFile(
                    node_id="",
                    kind="images",
                    filename=uploaded.name,
                    subfolder="conf",
                    type="input",
                )
            )
            == data
        )
        workflow = {
            "1": {"class_type": "LoadImage", "inputs": {"image": uploaded.load_name}},
            "2": {"class_type": "ImageInvert", "inputs": {"image": ["1", 0]}},
            "3": {
                "class_type": "SaveImage",
                "inputs": {"images": ["2", 0], "filename_prefix": "sdk_conf_up"},
            },
        }
        result = client.run(workflow, timeout=30)
    inverted = result.output_images[0].image.convert("RGB").getpixel((0, 0))
    # ComfyUI inverts in float and truncates on save: 255 - 200 may come back as 54.
    assert all(abs(a - b) <= 1 for a, b in zip(inverted, (245, 55, 225), strict=True))


def test_binary_frames_of_save_image_websocket(open_client: Open, fresh_color: int) -> None:
    workflow = {
        "1": {
            "class_type": "EmptyImage",
            "inputs": {"width": 24, "height": 16, "batch_size": 2, "color": fresh_color},
        },
        "2": {"class_type": "SaveImageWebsocket", "inputs": {"images": ["1", 0]}},
    }
    with open_client() as client:
        prompt = client.submit_workflow(workflow)
        events = list(client.events(prompt))
    previews = [e for e in events if isinstance(e, PreviewReceived)]
    assert isinstance(events[-1], PromptSucceeded)
    assert [(p.frame_type, p.prompt_id, p.node) for p in previews] == [
        (4, prompt.prompt_id, "2")
    ] * 2
    for preview in previews:
        image = Image.open(io.BytesIO(preview.image)).convert("RGB")
        assert image.size == (24, 16) and image.getpixel((0, 0)) == rgb(fresh_color)


# The route tour: every route method the clients have, with what each must give.
GLOBAL = {"clear_queue", "clear_history", "interrupt_processing"}  # harmless when idle


def test_every_route(open_client: Open, fresh_color: int, tmp_path: Path) -> None:
    called: set[str] = set()

    def call(name: str, *args: Any, **kwargs: Any) -> Any:
        called.add(name)
        return getattr(client, name)(*args, **kwargs)

    with open_client() as client:
        assert "ComfyUI" in call("get_index")
        assert call("get_system_stats").system.comfyui_version == "0.3.75"
        assert call("get_features")["supports_preview_metadata"] is True
        assert "EmptyImage" in call("get_object_info")
        assert call("get_node_info", "EmptyImage").input("width").max == 16384
        assert call("get_embeddings") == []
        assert all(e.startswith("/extensions/") for e in call("get_extensions"))
        assert "checkpoints" in call("get_models")
        assert call("get_users")["storage"] == "server"
        user = f"sdk tour {uuid.uuid4().hex[:6]}"
        user_id = call("create_user", user)
        assert user_id.startswith(user.replace(" ", "-") + "_")
        with pytest.raises(HTTPStatusError) as duplicate:
            call("create_user", user)
        assert (duplicate.value.status, duplicate.value.message) == (400, "Duplicate username.")
        key = f"sdk.conf.{uuid.uuid4().hex[:8]}"
        call("set_setting", key, 7)
        assert call("get_setting", key) == 7
        call("set_settings", {key: 8})
        assert call("get_settings")[key] == 8

        result = client.run(save_image(fresh_color, prefix="sdk_tour"), timeout=30)
        ref = result.image_files[0]
        assert call("fetch_results", result.prompt_id).image_files == result.image_files
        assert call("download", ref) == result.output_images[0].data
        assert (
            call("download_to", ref, tmp_path / "x" / "out.png").read_bytes()
            == result.output_images[0].data
        )
        assert call("download_image", ref).size == (64, 64)
        assert (
            call("retrieve_image", ref.filename, ref.subfolder, ref.type).filename == ref.filename
        )
        assert call("retrieve_image", "no_such_file.png") is None
        assert call("view_metadata", "checkpoints", "none.safetensors") is None
        assert call("retrieve_metadata", "checkpoints", "none.safetensors") is None
        assert call("get_job", result.prompt_id).status == "completed"
        assert call("has_jobs_api") is False  # 0.3.75
        assert call("get_workflow_templates") == {}  # no custom node ships any here
        assert isinstance(call("get_global_subgraphs"), dict)
        assert call("get_global_subgraph", "no-such-blueprint") is None
        assert call("load_workflow", save_image(1)).to_api()["1"]["class_type"] == "EmptyImage"
        assert result.prompt_id in [j.id for j in call("list_jobs", status="completed")]
        assert result.prompt_id in call("get_history", max_items=5)
        assert result.prompt_id in call("get_completed_prompts")
        assert call("cancel", result.prompt_id) is CancelOutcome.FINISHED
        assert call("cancel_prompts", [str(uuid.uuid4())]) == [CancelOutcome.UNKNOWN]
        call("remove_from_history", [result.prompt_id])
        assert call("get_history", result.prompt_id) == {}

        assert call("get_queue").running == []
        assert call("get_queue_remaining") == 0
        call("delete_from_queue", [str(uuid.uuid4())])
        call("interrupt", str(uuid.uuid4()))  # not running: a no-op
        call("free_memory", unload_models=False, free_memory=False)

        up = call("upload_image", f"tour_{uuid.uuid4().hex[:8]}.png", png((1, 2, 3)))
        mask = call("upload_mask", f"tour_mask_{uuid.uuid4().hex[:8]}.png", png((0, 0, 0)), up)
        assert mask.type == "input"
        name = f"sdk_tour/{uuid.uuid4().hex[:8]}.txt"
        assert call("put_userdata", name, b"hello") == name
        assert name.split("/")[1] in call("list_userdata", "sdk_tour")
        assert call("get_userdata", name) == b"hello"
        moved = call("move_userdata", name, name + ".moved")
        assert moved == name + ".moved"
        call("delete_userdata", moved)

        call("interrupt_processing")
        call("clear_queue")
        call("clear_history")
        assert call("get_history") == {}
        with pytest.raises(Exception, match="404"):
            call("get_models", "no_such_folder")

    routes = {
        name
        for name, member in inspect.getmembers(AsyncEndpoints, predicate=inspect.isfunction)
        if not name.startswith("_") and name not in NOT_ROUTES
    }
    assert routes <= called, f"the tour misses {sorted(routes - called)}"


# Plumbing, and the prompt API (which the other scenarios here exercise): no route each.
NOT_ROUTES = {"run_flow", "send", "submit_workflow", "events", "wait", "run", "download_images"}
