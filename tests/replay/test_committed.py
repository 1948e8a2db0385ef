"""The transcripts committed under tests/transcripts replay with no server at all,
through both clients and straight into the core, and give what was recorded."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from comfy_api_client.sync import create_client as create_sync_client
from comfy_core import ExecutionFinished, PromptResponse, PromptSucceeded, PromptTracker
from comfy_core.transcript import load, replay_frames
from comfy_transports.replay import ReplayTransport, SyncReplayTransport
from tests.conformance.conftest import async_client
from tests.replay.scenarios import SCENARIOS

ROOT = Path(__file__).resolve().parents[2]
TRANSCRIPTS = ROOT / "tests" / "transcripts"
REPLAY_URL = "http://comfy-replay.invalid"


def test_every_scenario_has_a_committed_transcript() -> None:
    assert sorted(p.stem for p in TRANSCRIPTS.glob("*.jsonl")) == sorted(SCENARIOS)


@pytest.mark.parametrize("name", sorted(SCENARIOS))
@pytest.mark.parametrize("client", ["async", "sync"])
def test_committed_transcript_replays(name: str, client: str) -> None:
    path = TRANSCRIPTS / f"{name}.jsonl"
    expected = json.loads((TRANSCRIPTS / f"{name}.json").read_text())
    if client == "async":
        with async_client(REPLAY_URL, transport=ReplayTransport(path)) as replaying:
            observed = SCENARIOS[name](replaying)
    else:
        with create_sync_client(REPLAY_URL, transport=SyncReplayTransport(path)) as replaying:
            observed = SCENARIOS[name](replaying)
    assert json.loads(json.dumps(observed)) == expected


def test_core_replays_frames_without_a_transport() -> None:
    _, records = load(TRANSCRIPTS / "success.jsonl")
    posts = [r for r in records if r.kind == "http" and r.data["request"]["path"] == "/api/prompt"]
    (prompt_id,) = [r.data["request"]["json"]["prompt_id"] for r in posts]
    tracker = PromptTracker()
    tracker.register(prompt_id)
    tracker.accepted(PromptResponse(prompt_id=prompt_id, number=0))
    events = replay_frames(records, tracker)
    kinds = [type(e) for e in events if e.prompt_id == prompt_id]
    assert ExecutionFinished in kinds and kinds[-1] is PromptSucceeded
    (done,) = [e for e in events if isinstance(e, PromptSucceeded)]
    expected = json.loads((TRANSCRIPTS / "success.json").read_text())
    assert [f.filename for f in done.result.image_files] == [i[0] for i in expected["images"]]


def test_the_user_style_example_passes_against_its_transcript(tmp_path: Path) -> None:
    env = {
        k: v for k, v in os.environ.items() if k not in ("COMFYUI_URL", "COMFY_API_CLIENT_RECORD")
    }
    done = subprocess.run(
        [sys.executable, "-m", "pytest", str(ROOT / "examples" / "replay_test"), "-q",
         "-p", "no:cacheprovider", "--rootdir", str(ROOT)],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "1 passed" in done.stdout
