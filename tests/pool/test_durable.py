"""Durable batches on three real servers: a server killed mid-batch, the client killed
mid-batch and run again. Nothing lost, nothing run twice, counted on disk and in the
servers' own histories."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from comfy_api_client.batch import BatchItem
from comfy_api_client.ledger import Ledger
from comfy_api_client.local_server import LocalServer
from comfy_api_client.pooling import server_name
from tests.pool.harness import KINDS, histories, prefixes_run, run_map
from tests.workflows import sleepy

pytestmark = pytest.mark.server

ROOT = Path(__file__).resolve().parents[2]


def runs_of(prefix: str, urls: list[str]) -> dict[str, Counter[str]]:
    """{url: how often each of our prefixes ran there}, from the servers' histories."""
    return {
        url: Counter(p for p in prefixes_run(history) if p.startswith(prefix))
        for url, history in histories(urls).items()
    }


def wait_up(pool: Any, name: str) -> bool:
    return any(s.server == name and s.state == "up" for s in pool.status())


@pytest.mark.parametrize("kind", KINDS)
def test_a_server_killed_mid_batch_loses_nothing_and_runs_nothing_twice(
    kind: str, pool_servers: list[LocalServer], pool_urls: list[str], fresh_colors, tmp_path: Path
) -> None:
    prefix = f"pool_kill_{kind}_{uuid.uuid4().hex[:6]}"
    items = [sleepy(fresh_colors(), 0.4, f"{prefix}/{i:03d}") for i in range(60)]
    victim = pool_servers[1]
    name = server_name(victim.url)
    restart = threading.Thread(target=victim.start)
    seen: list[BatchItem] = []
    back: list[int] = []  # how many items were done when the pool had the victim back

    def on_item(item: BatchItem, pool: Any) -> Any:
        seen.append(item)
        if len(seen) == 12:
            victim.kill()  # SIGKILL: its queue and history die with it
            restart.start()
        if len(seen) == 40 and not back:  # hold the batch until the pool has it back
            return hold(pool)
        return None

    def wait_back(pool: Any) -> None:
        deadline = time.monotonic() + 90
        while not wait_up(pool, name) and time.monotonic() < deadline:
            time.sleep(0.1)
        back.append(len(seen))

    async def wait_back_async(pool: Any) -> None:
        deadline = time.monotonic() + 90
        while not wait_up(pool, name) and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.1)  # the pool's status has no event to wait for
        back.append(len(seen))

    hold = wait_back if kind == "sync" else wait_back_async
    done, status = run_map(kind, pool_urls, items, on_item=on_item, out=tmp_path)
    restart.join()

    assert sorted(item.index for item in done) == list(range(60)), "every item came back once"
    assert [item for item in done if not item.ok] == []
    assert sorted(p.name[:5] for p in tmp_path.glob("*.png")) == [f"{i:05d}" for i in range(60)]
    assert not list(tmp_path.glob(".*.tmp"))
    with Ledger.open(tmp_path) as ledger:
        assert ledger.counts() == {"pending": 0, "queued": 0, "done": 60, "failed": 0}
        moved = [item for item in ledger.items() if item.attempts > 1]
    assert moved, "the killed server had prompts in flight; they were sent again"
    assert all(item.attempts == 2 for item in moved)  # once per loss

    runs = runs_of(prefix, pool_urls)
    everywhere = sum(runs.values(), Counter())
    assert max(everywhere.values()) == 1, "no item ran twice on the servers we can read"
    for item in done:  # each result is in the history of the server that gave it
        url = next(u for u in pool_urls if server_name(u) == item.server)
        if item.server != name or item.index >= back[0]:
            assert runs[url][f"{prefix}/{item.index:03d}"] == 1
    again = runs[victim.url]
    after_restart = [i for i in done if i.server == name and again[f"{prefix}/{i.index:03d}"]]
    assert after_restart, "the restarted server received work again"
    assert {s.server: s.state for s in status}[name] == "up"


def write_batch(folder: Path, prefix: str, colors: list[int]) -> tuple[Path, Path]:
    workflow = folder / "sleepy.json"
    workflow.write_text(json.dumps(sleepy(0, 0.5, "unset")))
    rows = folder / "rows.jsonl"
    lines = [json.dumps({"1.color": c, "9.filename_prefix": f"{prefix}/{i:03d}"})
             for i, c in enumerate(colors)]  # fmt: skip
    rows.write_text("\n".join(lines) + "\n")
    return workflow, rows


def test_the_client_killed_mid_batch_and_run_again_redoes_nothing(
    pool_urls: list[str], fresh_colors, tmp_path: Path
) -> None:
    prefix = f"pool_crash_{uuid.uuid4().hex[:6]}"
    workflow, rows = write_batch(tmp_path, prefix, [fresh_colors() for _ in range(30)])
    out = tmp_path / "out"
    command = [sys.executable, "-m", "comfy_api_client", "batch", str(workflow),
               "--params", str(rows), "--out", str(out), "--json"]  # fmt: skip
    for url in pool_urls:
        command += ["--url", url]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("COMFYUI_URL", None)
    first = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and first.poll() is None:
            if (out / Ledger.FILENAME).exists():
                with Ledger.open(out) as ledger:
                    if ledger.counts()["done"] >= 8:
                        break
            time.sleep(0.05)
        assert first.poll() is None, first.communicate()
        first.send_signal(signal.SIGKILL)  # no cleanup of any kind
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()
    with Ledger.open(out) as ledger:
        before = ledger.counts()
    assert before["done"] >= 8 and before["done"] < 30
    assert before["queued"] > 0, "prompts were on the servers when the client died"

    again = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert again.returncode == 0, again.stderr
    lines = [json.loads(line) for line in again.stdout.splitlines()]
    assert len(lines) + before["done"] == 30  # done items were skipped, not redone
    assert all(line["state"] == "done" for line in lines)

    assert sorted(p.name[:5] for p in out.glob("*.png")) == [f"{i:05d}" for i in range(30)]
    with Ledger.open(out) as ledger:
        assert ledger.counts()["done"] == 30
    everywhere = sum(runs_of(prefix, pool_urls).values(), Counter())
    assert everywhere == Counter({f"{prefix}/{i:03d}": 1 for i in range(30)})
