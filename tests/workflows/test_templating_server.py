"""Templating against the real server: what it received is what the templates said.

The workflow is model-free: EmptyImage, then four ImageAddNoise nodes in a row
whose seeds have the four control modes, then SaveImage. Each test reads the
prompt the server stored in its history, so the seeds checked are the ones
the server ran with. Anything left queued is deleted.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

from comfy_api_client import Template, Workflow, WorkflowValidationError, create_client
from comfy_api_client.client import ComfyAPIClient
from comfy_api_client.sync import create_client as create_sync_client

pytestmark = pytest.mark.server

MODES = ("fixed", "increment", "decrement", "randomize")


def _node(node_id: int, kind: str, values: list[Any], title: str | None = None) -> dict[str, Any]:
    node: dict[str, Any] = {
        "id": node_id,
        "type": kind,
        "pos": [0, 0],
        "size": [200, 100],
        "flags": {},
        "order": node_id - 1,
        "mode": 0,
        "inputs": [],
        "outputs": [],
        "properties": {},
        "widgets_values": values,
    }
    if title:
        node["title"] = title
    if node_id > 1:
        node["inputs"] = [{"name": "image" if kind != "SaveImage" else "images",
                           "type": "IMAGE", "link": node_id - 1}]  # fmt: skip
    if kind != "SaveImage":
        node["outputs"] = [{"name": "IMAGE", "type": "IMAGE", "links": [node_id]}]
    return node


def noise_ui(color: int, prefix: str = "templating/{{run}}") -> dict[str, Any]:
    """EmptyImage -> 4 x ImageAddNoise (one per control mode) -> SaveImage, as the UI saves it."""
    nodes = [_node(1, "EmptyImage", [32, 24, 1, color], "Canvas")]
    for i, mode in enumerate(MODES):
        nodes.append(_node(2 + i, "ImageAddNoise", [1000 * (i + 1), mode, 0.2], f"Noise {mode}"))
    nodes.append(_node(6, "SaveImage", [prefix]))
    links = [[i, i, 0, i + 1, 0, "IMAGE"] for i in range(1, 6)]
    return {"last_node_id": 6, "last_link_id": 5, "nodes": nodes, "links": links, "version": 0.4}


PARAMETERS = {
    "seed": "Noise fixed.seed",
    "size": ["Canvas.width", "Canvas.height"],
    "color": "Canvas.color",
    "strength": "Noise randomize.strength",
}


@pytest.fixture
async def client(comfy_url: str) -> AsyncIterator[ComfyAPIClient]:
    async with create_client(comfy_url) as client:
        try:
            yield client
        finally:
            await client.clear_queue()


async def received(client: ComfyAPIClient, workflows: Iterator[Workflow]) -> list[dict[str, Any]]:
    """Run each workflow; the prompt the server stored for it, from its history."""
    prompts = []
    for wf in workflows:
        prompt = await client.submit_workflow(wf)
        await client.wait(prompt, timeout=60)
        entry = (await client.get_history(prompt.prompt_id))[prompt.prompt_id]
        stored: dict[str, Any] = entry["prompt"][2]
        assert stored == wf.to_api()
        prompts.append(stored)
    return prompts


def seeds_of(prompts: list[dict[str, Any]], node: str) -> list[int]:
    return [p[node]["inputs"]["seed"] for p in prompts]


async def test_render_runs_with_the_values_given(client: ComfyAPIClient, fresh_color: int) -> None:
    info = await client.get_object_info()
    t = Template.from_ui(noise_ui(fresh_color), info, PARAMETERS)
    assert t.names == ("seed", "size", "color", "strength", "run")
    wf = t.render(seed=7, size=(40, 16), color=fresh_color, strength=0.5, run="render")
    result = await client.run(wf, timeout=60)
    image = result.output_images[0]
    assert image.image.size == (40, 16)
    assert image.filename.startswith("render")
    entry = (await client.get_history(result.prompt_id))[result.prompt_id]
    stored = entry["prompt"][2]
    assert stored["2"]["inputs"]["seed"] == 7 and stored["5"]["inputs"]["strength"] == 0.5
    assert stored["1"]["inputs"]["color"] == fresh_color
    assert stored["6"]["inputs"]["filename_prefix"] == "templating/render"


async def test_batch_follows_the_ui_control_modes(client: ComfyAPIClient, fresh_color: int) -> None:
    info = await client.get_object_info()
    wf = await client.load_workflow(noise_ui(fresh_color, "templating/ui_modes"))
    assert [dict(wf.nodes[k].controls) for k in "2345"] == [{"seed": m} for m in MODES]
    prompts = await received(client, wf.batch(3, object_info=info, rng=2026))
    assert seeds_of(prompts, "2") == [1000, 1000, 1000]
    assert seeds_of(prompts, "3") == [2000, 2001, 2002]
    assert seeds_of(prompts, "4") == [3000, 2999, 2998]
    drawn = seeds_of(prompts, "5")
    assert len(set(drawn)) == 3 and all(0 <= s < 2**50 for s in drawn)
    again = [w.to_api()["5"]["inputs"]["seed"] for w in wf.batch(3, object_info=info, rng=2026)]
    assert again == drawn  # reproducible


@pytest.mark.parametrize("mode", MODES)
async def test_template_batch_with_a_policy(
    client: ComfyAPIClient, fresh_color: int, mode: str
) -> None:
    info = await client.get_object_info()
    t = Template.from_ui(noise_ui(fresh_color), info, PARAMETERS)
    values = {"seed": 50, "size": 16, "color": fresh_color, "strength": 0.1, "run": mode}
    prompts = await received(client, t.batch(3, values, rng=5, policy=mode))
    expected = {
        "fixed": ([50] * 3, [2000] * 3),
        "increment": ([50, 51, 52], [2000, 2001, 2002]),
        "decrement": ([50, 49, 48], [2000, 1999, 1998]),
    }
    if mode == "randomize":
        assert len(set(seeds_of(prompts, "2"))) == 3 and len(set(seeds_of(prompts, "3"))) == 3
    else:
        assert (seeds_of(prompts, "2"), seeds_of(prompts, "3")) == expected[mode]


async def test_per_parameter_policy_and_varying_a_plain_int(
    client: ComfyAPIClient, fresh_colors: Callable[[], int]
) -> None:
    info = await client.get_object_info()
    t = Template.from_ui(noise_ui(fresh_colors()), info, PARAMETERS)
    color = fresh_colors()
    values = {"seed": 9, "size": 16, "color": color, "strength": 0.1, "run": "mixed"}
    policy = {"seed": "decrement", "Noise randomize.seed": "fixed", "color": "increment"}
    prompts = await received(client, t.batch(2, values, policy=policy))
    assert seeds_of(prompts, "2") == [9, 8] and seeds_of(prompts, "5") == [4000, 4000]
    assert [p["1"]["inputs"]["color"] for p in prompts] == [color, color + 1]


async def test_submit_with_validate_refuses_before_sending(
    client: ComfyAPIClient, fresh_color: int
) -> None:
    info = await client.get_object_info()
    t = Template.from_ui(noise_ui(fresh_color), info, PARAMETERS)
    good = t.render(seed=1, size=16, color=fresh_color, strength=0.3, run="validated")
    assert good.validate(info) == ()
    bad = good.set("Canvas.width", 0)  # below EmptyImage's minimum
    with pytest.raises(WorkflowValidationError) as local:
        bad.validate(info)
    with pytest.raises(WorkflowValidationError) as server:
        await client.submit_workflow(bad)  # the server's own verdict
    assert local.value.error_type == server.value.error_type
    assert [n.node_id for n in local.value.node_errors] == ["1"]
    assert [n.node_id for n in server.value.node_errors] == ["1"]
    sent: list[str] = []
    send = client.send

    async def counting(request: Any, **kwargs: Any) -> Any:
        sent.append(f"{request.method} {request.path}")
        return await send(request, **kwargs)

    client.send = counting  # type: ignore[method-assign]
    with pytest.raises(WorkflowValidationError):
        await client.submit_workflow(bad, validate=True)
    assert "POST /api/prompt" not in sent
    receipt = await client.submit_workflow(good, validate=True)
    assert "POST /api/prompt" in sent
    assert (await client.wait(receipt, timeout=60)).output_images


def test_sync_client_validates_and_runs_a_render(comfy_url: str, fresh_color: int) -> None:
    with create_sync_client(comfy_url) as client:
        try:
            info = client.get_object_info()
            t = Template.from_ui(noise_ui(fresh_color), info, PARAMETERS)
            values = {"seed": 3, "size": 20, "color": fresh_color, "strength": 0.2, "run": "sync"}
            with pytest.raises(WorkflowValidationError):
                client.submit_workflow(t.render(values).set("2.strength", 2.0), validate=True)
            for wf in t.batch(2, values, policy="increment"):
                receipt = client.submit_workflow(wf, validate=True)
                client.wait(receipt, timeout=60)
                stored = client.get_history(receipt.prompt_id)[receipt.prompt_id]["prompt"][2]
                assert stored["2"]["inputs"]["seed"] == wf.to_api()["2"]["inputs"]["seed"]
        finally:
            client.clear_queue()
