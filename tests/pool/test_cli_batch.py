"""``comfy-api-client batch`` as a person meets it: the live display on a terminal, a
failed row, a bad row, and CSV rows, against the three real servers."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from comfy_api_client.ledger import Ledger
from comfy_api_client.pooling import server_name
from tests.terminal import on_terminal
from tests.workflows import sleepy

pytestmark = pytest.mark.server

ROOT = Path(__file__).resolve().parents[2]


def environ() -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "150", "LINES": "30",
           "TERM": "xterm-256color"}  # fmt: skip
    env.pop("COMFYUI_URL", None)
    return env


def batch_files(folder: Path, rows: list[dict[str, object]]) -> tuple[Path, Path]:
    workflow = folder / "sleepy.json"
    workflow.write_text(json.dumps(sleepy(0, 0.3, "unset")))
    params = folder / "rows.csv"
    with params.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return workflow, params


def command(workflow: Path, params: Path, out: Path, urls: list[str]) -> list[str]:
    words = [sys.executable, "-m", "comfy_api_client", "batch", str(workflow),
             "--params", str(params), "--out", str(out)]  # fmt: skip
    for url in urls:
        words += ["--url", url]
    return words


def test_the_live_display_on_a_terminal(pool_urls: list[str], tmp_path: Path, fresh_colors) -> None:
    rows = [{"1.color": fresh_colors(), "9.filename_prefix": f"cli_tty/{i}"} for i in range(6)]
    workflow, params = batch_files(tmp_path, rows)
    argv = command(workflow, params, tmp_path / "out", pool_urls)
    code, text = on_terminal(argv, environ(), size=(150, 30))
    assert code == 0
    assert "6/6" in text and "━" in text  # the batch's bar
    lanes = [line for line in text.splitlines() if any(server_name(u) in line for u in pool_urls)]
    assert sum(" up " in line and "in flight" in line for line in lanes) == 3  # one per server
    assert "mean s/item" in text  # the summary's table
    assert "6 done, 0 failed, 0 queued, 0 pending" in text


def test_a_refused_row_fails_alone_and_a_bad_row_stops_before_anything_runs(
    pool_urls: list[str], tmp_path: Path, fresh_colors
) -> None:
    rows: list[dict[str, object]] = [
        {"1.color": fresh_colors(), "2.seconds": 0.1, "9.filename_prefix": f"cli_fail/{i}"}
        for i in range(3)
    ]
    rows[1]["2.seconds"] = -5  # a FLOAT below SdkSleep's minimum: the server refuses it
    workflow, params = batch_files(tmp_path, rows)
    out = tmp_path / "out"
    done = subprocess.run([*command(workflow, params, out, pool_urls), "--json"],
                          capture_output=True, text=True, env=environ(), timeout=120)  # fmt: skip
    assert done.returncode == 1, done.stderr
    states = {line["index"]: line for line in map(json.loads, done.stdout.splitlines())}
    assert {i: s["state"] for i, s in states.items()} == {0: "done", 1: "failed", 2: "done"}
    assert "WorkflowValidationError" in states[1]["error"] and "seconds" in states[1]["error"]
    with Ledger.open(out) as ledger:
        assert ledger.counts() == {"pending": 0, "queued": 0, "done": 2, "failed": 1}

    rows[1]["2.seconds"] = "soon"  # not a FLOAT at all: no prompt is sent
    workflow, params = batch_files(tmp_path, rows)
    bad = subprocess.run(command(workflow, params, tmp_path / "out2", pool_urls),
                         capture_output=True, text=True, env=environ(), timeout=120)  # fmt: skip
    assert bad.returncode == 2
    assert "soon" in bad.stderr and "seconds" in bad.stderr
    assert not (tmp_path / "out2" / Ledger.FILENAME).exists()


def test_a_template_manifest_with_json_rows(
    pool_urls: list[str], tmp_path: Path, fresh_colors
) -> None:
    (tmp_path / "sleepy.json").write_text(json.dumps(sleepy(0, 0.2, "unset")))
    manifest = tmp_path / "sleepy.template.json"
    manifest.write_text(json.dumps({
        "format": "comfy-template", "version": 1, "workflow": "sleepy.json",
        "parameters": {"color": "1.color", "name": "9.filename_prefix"},
    }))  # fmt: skip
    rows = tmp_path / "rows.jsonl"
    rows.write_text("".join(json.dumps({"color": fresh_colors(), "name": f"cli_tpl/{i}"}) + "\n"
                            for i in range(3)))  # fmt: skip
    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, "-m", "comfy_api_client", "batch", str(manifest), "--params", str(rows),
         "--out", str(out), "--url", pool_urls[0], "--url", pool_urls[1], "--json"],
        capture_output=True, text=True, env=environ(), timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    with Ledger.open(out) as ledger:
        prefixes = [item.prompt["9"]["inputs"]["filename_prefix"] for item in ledger.items()]
        assert ledger.counts()["done"] == 3
    assert prefixes == [f"cli_tpl/{i}" for i in range(3)]
