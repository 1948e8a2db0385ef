"""UI workflows, Workflow values and saved PNGs run on the real server, both clients."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from comfy_api_client import Workflow, create_client
from comfy_api_client.sync import create_client as create_sync_client
from comfy_core.errors import MissingNodeTypesError
from comfy_core.workflows import read_text_metadata
from tests.workflow_corpus import read

pytestmark = pytest.mark.server


def ui_workflow(color: int) -> dict[str, Any]:
    """A model-free UI workflow (PrimitiveInt → EmptyImage → SaveImage) of one colour."""
    data: dict[str, Any] = copy.deepcopy(read("cases/compressed_export", "ui"))
    empty = next(n for n in data["nodes"] if n["type"] == "EmptyImage")
    empty["widgets_values"][3] = color
    return data


async def test_async_client_runs_ui_workflow_and_saved_png(
    comfy_url: str, fresh_color: int
) -> None:
    async with create_client(comfy_url) as client:
        result = await client.run(ui_workflow(fresh_color), timeout=60)
        image = result.output_images[0]
        assert image.image.size == (64, 72)  # height came from the PrimitiveInt
        # The server embedded our prompt and the UI workflow (extra_pnginfo) in the PNG.
        texts = read_text_metadata(image.data)
        assert json.loads(texts["workflow"])["nodes"]
        loaded = await client.load_workflow(image.data)
        assert loaded.ui is not None
        again = await client.run(image.data, timeout=60)
        assert again.output_images[0].image.size == (64, 72)
        wf = await client.load_workflow(ui_workflow(fresh_color + 1))
        prompt = await client.submit_workflow(wf)
        assert (await client.wait(prompt, timeout=60)).output_images
        templates = await client.get_workflow_templates()
        subgraphs = await client.get_global_subgraphs()
        assert isinstance(templates, dict) and isinstance(subgraphs, dict)
        assert await client.get_global_subgraph("no-such-subgraph") is None


def test_sync_client_runs_ui_workflow_and_saved_png(comfy_url: str, fresh_color: int) -> None:
    with create_sync_client(comfy_url) as client:
        result = client.run(ui_workflow(fresh_color), timeout=60)
        png = result.output_images[0].data
        assert client.run(png, timeout=60).output_images[0].image.size == (64, 72)
        wf = client.load_workflow(ui_workflow(fresh_color + 1))
        assert isinstance(wf, Workflow)
        assert client.run(wf, timeout=60).output_images


async def test_object_info_is_fetched_once_and_again_on_unknown_type(
    comfy_url: str, fresh_color: int
) -> None:
    async with create_client(comfy_url) as client:
        seen: list[str] = []
        send = client.send

        async def counting(request: Any, **kwargs: Any) -> Any:
            seen.append(request.path)
            return await send(request, **kwargs)

        client.send = counting  # type: ignore[method-assign]
        await client.load_workflow(ui_workflow(fresh_color))
        await client.load_workflow(ui_workflow(fresh_color))
        assert seen.count("/api/object_info") == 1
        with pytest.raises(MissingNodeTypesError):
            await client.load_workflow(read("cases/kjnodes_set_get", "ui"))
        assert seen.count("/api/object_info") == 2  # refreshed once, then the error
        dropped = await client.load_workflow(
            read("cases/kjnodes_set_get", "ui"), missing_nodes="drop"
        )
        assert "2" not in dropped.to_api()
