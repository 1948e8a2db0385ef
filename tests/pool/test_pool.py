"""The pool on three real servers: routing, capability, inputs, events, cancel, status."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections import Counter
from pathlib import Path

import pytest
from PIL import Image

from comfy_api_client import (
    ConnectError,
    NoCapableServer,
    PromptInterruptedError,
    PromptRequeued,
    create_pool,
)
from comfy_api_client.local_server import LocalServer, free_port
from comfy_api_client.pooling import server_name
from comfy_core.conclusions import PromptSucceeded
from comfy_core.events import ExecutionStarted
from tests.pool.harness import FAST, KINDS, histories, prefixes_run, run_map
from tests.workflows import sleepy

pytestmark = pytest.mark.server


def tag(name: str) -> str:
    return f"pool_{name}_{uuid.uuid4().hex[:6]}"


@pytest.mark.parametrize("kind", KINDS)
def test_slow_prompts_spread_over_all_three(kind, pool_urls, fresh_colors) -> None:
    prefix = tag("spread")
    items = [sleepy(fresh_colors(), 0.5, f"{prefix}/{i:03d}") for i in range(9)]
    done, status = run_map(kind, pool_urls, items)
    assert sorted(item.index for item in done) == list(range(9))
    assert all(item.ok for item in done)
    names = [server_name(url) for url in pool_urls]
    assert set(Counter(item.server for item in done)) == set(names)
    ran = {url: [p for p in prefixes_run(h) if p.startswith(prefix)]
           for url, h in histories(pool_urls).items()}  # fmt: skip
    everything = sorted(p for runs in ran.values() for p in runs)
    assert everything == [f"{prefix}/{i:03d}" for i in range(9)]
    assert all(ran[url] for url in pool_urls)  # every server ran some
    assert sum(s.done for s in status) == 9 and {s.state for s in status} == {"up"}


async def test_a_class_on_one_server_runs_there_only(pool_urls, fresh_colors) -> None:
    prefix = tag("only")
    third = server_name(pool_urls[2])
    async with create_pool(pool_urls, timeout=60) as pool:
        receipts = [
            await pool.submit_workflow(sleepy(fresh_colors(), 0.2, f"{prefix}/{i}", only_here=True))
            for i in range(3)
        ]
        assert {r.server for r in receipts} == {third}
        for receipt in receipts:
            result = await pool.wait(receipt)
            assert result.output_images[0].image.size == (8, 8)
        nowhere = sleepy(fresh_colors(), 0.1, prefix)
        nowhere["2"]["class_type"] = "NoSuchNodeAnywhere"
        with pytest.raises(NoCapableServer) as caught:
            await pool.submit_workflow(nowhere)
    message = str(caught.value)
    assert all(server_name(url) in message for url in pool_urls)
    assert "node class NoSuchNodeAnywhere (node 2)" in message
    ran = {url: [p for p in prefixes_run(h) if p.startswith(prefix)]
           for url, h in histories(pool_urls).items()}  # fmt: skip
    third_only = [f"{prefix}/{i}" for i in range(3)]
    assert ran == {pool_urls[0]: [], pool_urls[1]: [], pool_urls[2]: third_only}


async def test_inputs_are_uploaded_where_the_prompt_goes(
    pool_urls, pool_servers: list[LocalServer], fresh_colors
) -> None:
    name = f"{tag('in')}.png"
    own = f"{tag('own')}.png"
    workflow = {
        "1": {"class_type": "LoadImage", "inputs": {"image": name}},
        "2": {"class_type": "SdkSleep", "inputs": {"image": ["1", 0], "seconds": 1.0}},
        "3": {"class_type": "PreviewImage", "inputs": {"images": ["2", 0]}},
    }
    async with create_pool(pool_urls, timeout=60) as pool:
        await pool.upload_image(name, Image.new("RGB", (4, 4), "red"))
        first = await pool.submit_workflow(workflow)
        second_workflow = {**workflow, "1": {"class_type": "LoadImage", "inputs": {"image": own}}}
        second = await pool.submit_workflow(
            second_workflow, files={own: Image.new("RGB", (4, 4), "blue")}
        )
        assert first.server != second.server  # the first is in flight: the second goes elsewhere
        results = [await pool.wait(first), await pool.wait(second)]
    pixels = [r.output_images[0].image.getpixel((0, 0)) for r in results]
    assert pixels == [(255, 0, 0), (0, 0, 255)]
    by_name = {server_name(s.url): s for s in pool_servers}
    holders = {n for n, s in by_name.items() if (s.input_dir / name).exists()}
    assert holders == {first.server}  # recorded, and sent only where it was needed
    assert {n for n, s in by_name.items() if (s.input_dir / own).exists()} == {second.server}


async def test_events_carry_the_server_and_follow_a_failover(
    pool_urls, pool_servers: list[LocalServer], fresh_colors
) -> None:
    """The server running a prompt is killed: the pool sends it to the other, once, and
    the prompt's events go on there after a PromptRequeued."""
    two = pool_urls[:2]
    async with create_pool(two, timeout=60, **FAST) as pool:
        receipt = await pool.submit_workflow(sleepy(fresh_colors(), 3.0, tag("moved")))
        first = receipt.server
        victim = next(s for s in pool_servers if server_name(s.url) == first)
        seen = []
        async for event in pool.events(receipt):
            seen.append(event)
            if isinstance(event.event, ExecutionStarted) and event.server == first:
                await asyncio.to_thread(victim.kill)
        result = await pool.wait(receipt)
        status = {s.server: s.state for s in pool.status()}
    other = server_name(two[1] if first == server_name(two[0]) else two[0])
    assert receipt.server == other and len(receipt.attempts) == 2
    moved = [e for e in seen if isinstance(e.event, PromptRequeued)]
    assert len(moved) == 1 and moved[0].server == first
    requeued = moved[0].event
    assert isinstance(requeued, PromptRequeued) and requeued.server == other
    assert isinstance(seen[-1].event, PromptSucceeded) and seen[-1].server == other
    assert result.prompt_id == receipt.prompt_id
    assert status[first] == "down" and status[other] == "up"


async def test_cancel_is_not_sent_again(pool_urls, fresh_colors) -> None:
    async with create_pool(pool_urls, timeout=60) as pool:
        receipt = await pool.submit_workflow(sleepy(fresh_colors(), 5.0, tag("cancel")))
        async for event in pool.events(receipt):
            if isinstance(event.event, ExecutionStarted):
                break
        await pool.cancel(receipt)
        with pytest.raises(PromptInterruptedError):
            await pool.wait(receipt)
        assert len(receipt.attempts) == 1


async def test_a_server_that_never_answers_is_down_and_skipped(pool_urls, fresh_colors) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    async with create_pool([dead, pool_urls[0]], timeout=60) as pool:
        status = {s.server: s.state for s in pool.status()}
        assert status == {server_name(dead): "down", server_name(pool_urls[0]): "up"}
        results = [await pool.run(sleepy(fresh_colors(), 0.1, tag("alive"))) for _ in range(2)]
        assert all(r.output_images for r in results)
    with pytest.raises(ConnectError) as caught:
        async with create_pool([dead]):
            pass
    assert server_name(dead) in str(caught.value)


def test_status_and_ledger_paths(pool_urls, fresh_colors, tmp_path: Path) -> None:
    prefix = tag("files")
    items = [sleepy(fresh_colors(), 0.1, f"{prefix}/{i}") for i in range(3)]
    done, status = run_map("sync", pool_urls, items, out=tmp_path)
    assert sorted(p.name for item in done for p in item.files) == sorted(
        f"{i:05d}_9_{Path(item.result.files[0].filename).name}"  # type: ignore[union-attr]
        for item in done
        for i in [item.index]
    )
    assert all(path.exists() for item in done for path in item.files)
    assert (tmp_path / "ledger.sqlite").exists()
    assert not list(tmp_path.glob(".*.tmp"))
    assert [s.server for s in status] == [server_name(url) for url in pool_urls]


def test_closing_with_jobs_pending_fails_them_quietly(pool_urls, fresh_colors) -> None:
    """Jobs still pending when the pool closes fail with ClientClosedError; nobody looks at
    that error, and asyncio must not complain of it (it does when the process ends)."""
    script = f"""
import asyncio, logging
from comfy_api_client import create_pool
from tests.workflows import sleepy
logging.basicConfig()

async def main():
    async with create_pool([{pool_urls[0]!r}], timeout=60) as pool:
        await pool.submit_workflow(sleepy({fresh_colors()}, 1.0, "pool_closing"))
        items = [sleepy({fresh_colors()} + i, 1.0, "pool_closing") for i in range(4)]
        async for item in pool.map(items):
            break  # three still in flight

asyncio.run(main())
"""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env=env, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "never retrieved" not in done.stderr
