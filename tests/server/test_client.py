"""The async client against the real server: outcomes, errors, concurrency and closing."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from comfy_api_client import (
    ClientClosedError,
    ComfyExecutionError,
    NodeExecutionError,
    PromptLostError,
    PromptNotFinishedError,
    WaitTimeout,
    WebsocketStateTracker,
    WorkflowValidationError,
    create_client,
)
from comfy_core.errors import ConnectError
from comfy_core.http import json_request
from tests.workflows import execution_error, multi_output, rgb, save_image, slow

TRACKERS = ["websocket", "http"]


@pytest.mark.parametrize("tracker", TRACKERS)
async def test_execution_error_names_node_type_and_exception(comfy_url: str, tracker: Any) -> None:
    async with create_client(comfy_url, start_state_tracker=tracker) as client:
        prompt = await client.submit_workflow(execution_error())
        with pytest.raises(NodeExecutionError) as caught:
            await client.wait(prompt, timeout=30)
        # fetch_results reads the same failure from the history.
        with pytest.raises(NodeExecutionError) as fetched:
            await client.fetch_results(prompt)
    for error in (caught.value, fetched.value):
        assert isinstance(error, ComfyExecutionError)  # the original package's name
        assert (error.node_id, error.node_type, error.exception_type) == (
            "2",
            "ImageScaleBy",
            "RuntimeError",
        )
        assert "Input and output sizes should be greater than 0" in error.exception_message
        assert error.traceback
        assert error.prompt_id == prompt.prompt_id
        assert "node 2 (ImageScaleBy)" in str(error)


async def test_unknown_class_is_refused_before_any_waiting(comfy_url: str) -> None:
    workflow = save_image(1)
    workflow["1"]["class_type"] = "NoSuchNode"
    async with create_client(comfy_url) as client:
        with pytest.raises(WorkflowValidationError) as caught:
            await client.submit_workflow(workflow)
        assert client._session.pending == []
        assert client.tracker.tracked == frozenset()
    error = caught.value
    assert error.status == 400
    assert error.error_type == "invalid_prompt"
    assert [n.node_id for n in error.node_errors] == ["1"]
    assert "NoSuchNode" in str(error)


async def test_missing_required_input_names_node_and_input(comfy_url: str) -> None:
    workflow = save_image(1)
    del workflow["1"]["inputs"]["color"]
    async with create_client(comfy_url) as client:
        with pytest.raises(WorkflowValidationError) as caught:
            await client.submit_workflow(workflow)
    (node,) = caught.value.node_errors
    assert (node.node_id, node.class_type) == ("1", "EmptyImage")
    assert [(e.type, e.input_name) for e in node.errors] == [("required_input_missing", "color")]
    assert "node 1 (EmptyImage) input 'color'" in str(caught.value)


async def test_not_api_format_is_refused_without_a_request(comfy_url: str) -> None:
    async with create_client(comfy_url) as client:
        # A UI workflow is converted first; one without nodes converts to nothing.
        with pytest.raises(WorkflowValidationError) as caught:
            await client.submit_workflow({"nodes": [], "links": []})
        with pytest.raises(WorkflowValidationError) as missing:
            await client.submit_workflow({"1": {"inputs": {}}})
    assert caught.value.status is None and missing.value.status is None
    assert "no nodes" in str(caught.value)
    assert "class_type" in str(missing.value)


async def test_hundred_concurrent_prompts_get_their_own_images(
    comfy_url: str, fresh_color: int
) -> None:
    colors = [(fresh_color * 7 + i * 2654435) % 0xFFFFFF for i in range(100)]
    async with create_client(comfy_url, timeout=120) as client:
        prompts = await asyncio.gather(
            *(client.submit_workflow(save_image(c, size=8, prefix="sdk_many")) for c in colors)
        )
        results = await asyncio.gather(*(client.wait(p) for p in prompts))
        assert client._session.pending == []
        assert client.tracker.tracked == frozenset()
    assert len({p.prompt_id for p in prompts}) == 100
    for color, prompt, result in zip(colors, prompts, results, strict=True):
        assert result.prompt_id == prompt.prompt_id
        (item,) = result.output_images
        assert item.image.convert("RGB").getpixel((0, 0)) == rgb(color)


async def test_cached_rerun_resolves_with_the_earlier_files(
    comfy_url: str, fresh_color: int
) -> None:
    workflow = save_image(fresh_color, prefix="sdk_cache")
    async with create_client(comfy_url) as client:
        first = await client.run(workflow, timeout=30)
        second = await client.run(workflow, timeout=30)
    assert [i.filename for i in first.output_images] == [i.filename for i in second.output_images]
    assert first.output_images[0].data == second.output_images[0].data


async def test_every_output_kind_is_typed(comfy_url: str, fresh_color: int) -> None:
    workflow = multi_output(fresh_color, "sdk_kinds")
    async with create_client(comfy_url) as client:
        result = await client.run(workflow, timeout=30)
        latent = await client.download(result.outputs["5"].latents[0])
    assert [(f.subfolder, f.type) for f in result.outputs["2"].images] == [
        ("sdk_kinds", "output")
    ] * 2
    assert [f.type for f in result.outputs["3"].images] == ["temp"] * 2
    assert result.outputs["5"].latents[0].filename.endswith(".latent")
    assert len(latent) > 100  # a safetensors file with the latent tensor
    assert len(result.output_images) == 4  # two saved, two previews: every "images" item


async def test_prompt_without_future_does_not_disturb_the_tracker(
    comfy_url: str, fresh_color: int
) -> None:
    async with create_client(comfy_url) as client:
        untracked = await client.submit_workflow(save_image(fresh_color), return_future=False)
        tracked = await client.submit_workflow(save_image(fresh_color + 1))
        result = await client.wait(tracked, timeout=30)
        later = await client.fetch_results(untracked)
    assert result.output_images and later.output_images


async def test_fetch_results_says_when_a_prompt_is_not_finished_or_unknown(
    comfy_url: str, fresh_color: int
) -> None:
    async with create_client(comfy_url, start_state_tracker=None) as client:
        running = await client.submit_workflow(slow(fresh_color, blurs=2), return_future=False)
        with pytest.raises(PromptNotFinishedError):
            await client.fetch_results(running)
        with pytest.raises(PromptLostError):
            await client.fetch_results(str(uuid.uuid4()))
        # Stop it so that it does not hold up the other tests.
        await client.send(json_request("POST", "/api/interrupt", {"prompt_id": running.prompt_id}))


async def test_wait_times_out_and_the_prompt_goes_on(comfy_url: str, fresh_color: int) -> None:
    async with create_client(comfy_url) as client:
        prompt = await client.submit_workflow(slow(fresh_color, blurs=1, size=1024))
        with pytest.raises(WaitTimeout):
            await client.wait(prompt, timeout=0.05)
        result = await client.wait(prompt, timeout=60)
    assert result.output_images[0].type == "temp"


async def test_closing_fails_pending_futures_and_does_not_hang(
    comfy_url: str, fresh_color: int
) -> None:
    async def session() -> asyncio.Future[Any]:
        async with create_client(comfy_url) as client:
            prompt = await client.submit_workflow(slow(fresh_color, blurs=2))
            future: asyncio.Future[Any] = prompt.future
            assert future is not None
            return future

    # A hang guard, not a timing claim: closing is bounded, so this returns.
    future = await asyncio.wait_for(session(), timeout=20)
    with pytest.raises(ClientClosedError):
        await future


async def test_websocket_is_greeted_before_create_client_yields(comfy_url: str) -> None:
    async with create_client(comfy_url) as client:
        (tracker,) = client.state_trackers
        assert isinstance(tracker, WebsocketStateTracker)
        assert tracker.is_running and tracker.websocket is not None
        assert len(client.client_id) == 32


async def test_a_wrong_url_fails_clearly() -> None:
    with pytest.raises(ConnectError, match=r"cannot connect to 127\.0\.0\.1:9"):
        async with create_client("http://127.0.0.1:9", http_timeout=5):
            pass
