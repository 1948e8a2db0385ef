"""Every snippet of docs/pool.md runs against the three real servers, the shell one too."""

from __future__ import annotations

import asyncio
import csv
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from comfy_api_client.ledger import Ledger
from comfy_api_client.pooling import server_name

pytestmark = pytest.mark.server

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "pool.md").read_text()
SNIPPETS = re.findall(r"```python\n(.*?)```", DOC, re.S)
(SHELL,) = re.findall(r"```bash\n(.*?)```", DOC, re.S)


@pytest.fixture(scope="module")
def namespace() -> dict[str, Any]:
    found: dict[str, Any] = {}
    for snippet in SNIPPETS:
        exec(compile(snippet, "docs/pool.md", "exec"), found)
    return found


def test_there_are_snippets() -> None:
    assert len(SNIPPETS) == 3


def test_render_everywhere(namespace: dict[str, Any], pool_urls: list[str]) -> None:
    servers = asyncio.run(namespace["render_everywhere"](pool_urls))
    assert len(servers) == 6 and set(servers) == {server_name(url) for url in pool_urls}


def test_watch(namespace: dict[str, Any], pool_urls: list[str]) -> None:
    seen = asyncio.run(namespace["watch"](pool_urls))
    assert seen[0].endswith(": PromptQueued") and seen[-1].endswith(": PromptSucceeded")


def test_overnight(namespace: dict[str, Any], pool_urls: list[str], tmp_path: Path) -> None:
    counts = namespace["overnight"](pool_urls, str(tmp_path / "out"))
    assert counts == {"pending": 0, "queued": 0, "done": 4, "failed": 0}
    assert len(list((tmp_path / "out").glob("*.png"))) == 4


def test_the_shell_snippet(
    namespace: dict[str, Any], pool_urls: list[str], tmp_path: Path, fresh_colors
) -> None:
    (tmp_path / "portrait.json").write_text(json.dumps(namespace["CANVAS"]))
    with (tmp_path / "rows.csv").open("w", newline="") as rows:
        writer = csv.writer(rows)
        writer.writerow(["Canvas.color", "Save.filename_prefix"])
        for i in range(3):
            writer.writerow([fresh_colors(), f"shell{i}"])
    words = shlex.split(SHELL.strip())
    assert words[:2] == ["comfy-api-client", "batch"]
    urls = iter(pool_urls)
    words = [next(urls) if w.startswith("http://gpu") else w for w in words[1:]]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "120"}
    done = subprocess.run([sys.executable, "-m", "comfy_api_client", *words], cwd=tmp_path,
                          capture_output=True, text=True, env=env, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "3 done, 0 failed, 0 queued, 0 pending" in done.stdout
    with Ledger.open(tmp_path / "out") as ledger:
        assert {item.server for item in ledger.items()} <= {server_name(u) for u in pool_urls}
        assert ledger.counts()["done"] == 3
