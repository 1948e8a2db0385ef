"""The sync and the async pool behave the same: one scenario through both, compared."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import pytest

from comfy_api_client import NoCapableServer, WorkflowValidationError, create_pool
from comfy_api_client.ledger import Ledger
from comfy_api_client.sync import create_pool as create_sync_pool
from comfy_core.workflows import Workflow
from tests.pool.harness import KINDS, run_map
from tests.workflows import sleepy

pytestmark = pytest.mark.server


def scenario_sync(urls: list[str], workflow: dict[str, Any]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    with create_sync_pool(urls, timeout=60) as pool:
        receipt = pool.submit_workflow(workflow)
        seen["events"] = [type(e.event).__name__ for e in pool.events(receipt)]
        seen["servers"] = {e.server for e in pool.events(receipt)} == {receipt.server}
        seen["result"] = pool.wait(receipt).output_images[0].image.size
        bad = {**workflow, "2": {**workflow["2"], "inputs": {**workflow["2"]["inputs"],
                                                              "seconds": -1}}}  # fmt: skip
        for broken in (bad, {**workflow, "2": {"class_type": "Nowhere", "inputs": {}}}):
            try:
                pool.submit_workflow(broken)
            except (WorkflowValidationError, NoCapableServer) as exc:
                seen.setdefault("errors", []).append(type(exc).__name__)
        seen["status"] = [(s.server, s.state, s.done) for s in pool.status()]
    return seen


async def scenario_async(urls: list[str], workflow: dict[str, Any]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    async with create_pool(urls, timeout=60) as pool:
        receipt = await pool.submit_workflow(workflow)
        seen["events"] = [type(e.event).__name__ async for e in pool.events(receipt)]
        seen["servers"] = {e.server async for e in pool.events(receipt)} == {receipt.server}
        seen["result"] = (await pool.wait(receipt)).output_images[0].image.size
        bad = {**workflow, "2": {**workflow["2"], "inputs": {**workflow["2"]["inputs"],
                                                              "seconds": -1}}}  # fmt: skip
        for broken in (bad, {**workflow, "2": {"class_type": "Nowhere", "inputs": {}}}):
            try:
                await pool.submit_workflow(broken)
            except (WorkflowValidationError, NoCapableServer) as exc:
                seen.setdefault("errors", []).append(type(exc).__name__)
        seen["status"] = [(s.server, s.state, s.done) for s in pool.status()]
    return seen


def test_prompts_events_errors_and_status_agree(pool_urls: list[str], fresh_colors) -> None:
    prefix = f"pool_parity_{uuid.uuid4().hex[:6]}"
    from_sync = scenario_sync(pool_urls, sleepy(fresh_colors(), 0.2, prefix))
    from_async = asyncio.run(scenario_async(pool_urls, sleepy(fresh_colors(), 0.2, prefix)))
    assert from_sync == from_async
    assert from_sync["events"][0] == "PromptQueued" and from_sync["events"][-1] == "PromptSucceeded"
    assert from_sync["errors"] == ["WorkflowValidationError", "NoCapableServer"]


def test_batches_agree(pool_urls: list[str], fresh_colors, tmp_path: Path) -> None:
    template = Workflow.from_api(sleepy(0, 0.3, "unset"))
    tag = uuid.uuid4().hex[:6]
    colors = [fresh_colors() for _ in range(12)]
    outcomes = {}
    for kind in KINDS:
        rows = [{"1.color": str(c), "9.filename_prefix": f"parity_{tag}_{kind}/{i:03d}"}
                for i, c in enumerate(colors[:6] if kind == "sync" else colors[6:])]  # fmt: skip
        out = tmp_path / kind
        done, status = run_map(kind, pool_urls, rows, template=template, out=out)
        with Ledger.open(out) as ledger:
            states = [(item.index, item.state, item.attempts) for item in ledger.items()]
        outcomes[kind] = {
            "items": sorted((item.index, item.state) for item in done),
            "files": sorted(p.name for p in out.glob("*.png")),
            "ledger": states,
            "spread": len({item.server for item in done}) > 1,
            "done": sum(s.done for s in status),
        }
    assert outcomes["sync"] == outcomes["async"]
    assert outcomes["sync"]["items"] == [(i, "done") for i in range(6)]
    assert outcomes["sync"]["spread"]
