"""The three flows of the original package's README, verbatim, against the real server."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from comfy_api_client import PromptNotFinishedError, create_client, utils
from tests.workflows import rgb, save_image


def write_workflow(tmp_path: Path, color: int) -> Path:
    path = tmp_path / "workflow.json"
    path.write_text(json.dumps(save_image(color, prefix="sdk_readme")))
    return path


async def test_default_websocket_tracker(comfy_url: str, tmp_path: Path, fresh_color: int) -> None:
    comfyui_server = comfy_url.removeprefix("http://")  # the README omits the scheme
    workflow = utils.read_json(write_workflow(tmp_path, fresh_color))

    async with create_client(comfyui_server) as client:
        prompt = await client.submit_workflow(workflow)

        result = await prompt.future
        image_items = result.output_images
        image = image_items[0].image

    assert image.size == (64, 64)
    assert image.convert("RGB").getpixel((3, 3)) == rgb(fresh_color)
    assert image_items[0].format == "png"
    assert image_items[0].filename.startswith("sdk_readme_")


async def test_http_polling_tracker(comfy_url: str, tmp_path: Path, fresh_color: int) -> None:
    workflow = utils.read_json(write_workflow(tmp_path, fresh_color))

    async with create_client(comfy_url, start_state_tracker="http") as client:
        # Submit and await results as before
        prompt = await client.submit_workflow(workflow)
        result = await prompt.future

    image = result.output_images[0].image
    assert image.convert("RGB").getpixel((0, 0)) == rgb(fresh_color)


async def test_manual_polling(comfy_url: str, tmp_path: Path, fresh_color: int) -> None:
    workflow = utils.read_json(write_workflow(tmp_path, fresh_color))

    async with create_client(comfy_url, start_state_tracker=None) as client:
        prompt = await client.submit_workflow(workflow, return_future=False)

        # Will be None; the status needs to be checked manually
        assert prompt.future is None

        # Wait for the prompt to finish (the README sleeps; we ask until it is done)
        for _ in range(100):
            try:
                result = await client.fetch_results(prompt)
                break
            except PromptNotFinishedError:
                await asyncio.sleep(0.1)

        image_items = result.output_images
        image = image_items[0].image

    assert image.convert("RGB").getpixel((10, 10)) == rgb(fresh_color)
    assert result.prompt_id == prompt.prompt_id
