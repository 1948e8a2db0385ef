"""The main scenarios, written once for any client: each returns what it observed.

A scenario takes a client (sync, or the async one behind a blocking proxy) and
returns plain data: outcomes, error fields, file names, pixels, but never the
ids a client mints, so a live run and its replay can be compared field by field.
Inputs are constants: a replay must send what the recording sent.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable
from typing import Any

from PIL import Image

from comfy_api_client import NodeExecutionError, PromptInterruptedError, WorkflowValidationError
from comfy_core.events import PreviewReceived
from tests.waiting import until_started
from tests.workflows import execution_error, save_image, slow

Observed = dict[str, Any]


def _image(result: Any) -> list[Any]:
    return [
        [i.filename, i.subfolder, i.type, i.format, list(i.image.convert("RGB").getpixel((0, 0)))]
        for i in result.output_images
    ]


def success(client: Any) -> Observed:
    result = client.run(save_image(0x2A4B6C, prefix="rr_success"), timeout=30)
    return {"images": _image(result), "nodes": sorted(result.outputs)}


def cached(client: Any) -> Observed:
    workflow = save_image(0x3B5C7D, prefix="rr_cached")
    first, second = client.run(workflow, timeout=30), client.run(workflow, timeout=30)
    return {"first": _image(first), "second": _image(second)}


def validation_error(client: Any) -> Observed:
    workflow = save_image(1)
    del workflow["1"]["inputs"]["color"]
    try:
        client.submit_workflow(workflow)
    except WorkflowValidationError as error:
        errors = [
            [n.node_id, n.class_type, [[e.type, e.input_name] for e in n.errors]]
            for n in error.node_errors
        ]
        return {"type": error.error_type, "status": error.status, "nodes": errors}
    raise AssertionError("no validation error")


def execution_failure(client: Any) -> Observed:
    try:
        client.run(execution_error(), timeout=30)
    except NodeExecutionError as error:
        return {
            "node": [error.node_id, error.node_type, error.exception_type],
            "message": error.exception_message,
        }
    raise AssertionError("no execution error")


def interrupt(client: Any) -> Observed:
    prompt = client.submit_workflow(slow(0x4C6D8E, blurs=3))
    until_started(client, prompt)
    outcome = client.cancel(prompt)
    try:
        client.wait(prompt, timeout=60)
    except PromptInterruptedError as error:
        return {"cancel": outcome.value, "error": [type(error).__name__, error.node_type]}
    raise AssertionError("not interrupted")


def _png(color: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (10, 6), color).save(buffer, format="PNG")
    return buffer.getvalue()


def upload_then_load(client: Any) -> Observed:
    uploaded = client.upload_image("rr_upload.png", _png((200, 100, 50)), subfolder="rr")
    workflow = {
        "1": {"class_type": "LoadImage", "inputs": {"image": uploaded.load_name}},
        "2": {"class_type": "ImageInvert", "inputs": {"image": ["1", 0]}},
        "3": {
            "class_type": "SaveImage",
            "inputs": {"images": ["2", 0], "filename_prefix": "rr_up"},
        },
    }
    result = client.run(workflow, timeout=30)
    return {
        "uploaded": [uploaded.name, uploaded.subfolder, uploaded.type],
        "images": _image(result),
    }


def binary_frames(client: Any) -> Observed:
    workflow = {
        "1": {
            "class_type": "EmptyImage",
            "inputs": {"width": 20, "height": 12, "batch_size": 2, "color": 0x5D7E9F},
        },
        "2": {"class_type": "SaveImageWebsocket", "inputs": {"images": ["1", 0]}},
    }
    # Previews of a settled prompt are not kept for a late events() call: collect them live.
    previews: list[PreviewReceived] = []
    prompt = client.submit_workflow(workflow, on_preview=previews.append)
    client.wait(prompt, timeout=30)
    return {
        "previews": [
            [
                p.frame_type,
                p.node,
                p.mime,
                p.prompt_id == prompt.prompt_id,
                list(Image.open(io.BytesIO(p.image)).size),
            ]
            for p in previews
        ]
    }


def queue_operations(client: Any) -> Observed:
    running = client.submit_workflow(slow(0x6E8FA0, blurs=3))
    until_started(client, running)
    later = [
        client.submit_workflow(slow(0x7FA0B1 + i, blurs=1), return_future=False) for i in range(3)
    ]
    label = {
        running.prompt_id: "running",
        **{p.prompt_id: f"later{i}" for i, p in enumerate(later)},
    }
    queue = client.get_queue()
    pending = [label.get(e.prompt_id, "other") for e in queue.pending]
    client.delete_from_queue([later[0].prompt_id])
    deleted = client.cancel(later[1]).value
    after = [label.get(e.prompt_id, "other") for e in client.get_queue().pending]
    interrupted = client.cancel(running).value
    with contextlib.suppress(PromptInterruptedError):
        client.wait(running, timeout=60)
    cleanup = client.cancel(later[2]).value
    return {
        "pending": pending,
        "deleted": deleted,
        "after": after,
        "interrupted": interrupted,
        "cleanup": cleanup,
    }


SCENARIOS: dict[str, Callable[[Any], Observed]] = {
    "success": success,
    "cached": cached,
    "validation_error": validation_error,
    "execution_error": execution_failure,
    "interrupt": interrupt,
    "upload_then_load": upload_then_load,
    "binary_frames": binary_frames,
    "queue_operations": queue_operations,
}
