"""Record the main scenarios from the real server, replay them through both clients:
the replays must observe exactly what the live run did."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from comfy_api_client.sync import create_client as create_sync_client
from comfy_transports.replay import ReplayMismatch, ReplayTransport, SyncReplayTransport
from tests.conformance.conftest import async_client
from tests.replay.scenarios import SCENARIOS, success
from tests.workflows import save_image

REPLAY_URL = "http://comfy-replay.invalid"


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_live_run_and_both_replays_agree(name: str, comfy_url: str, tmp_path: Path) -> None:
    scenario = SCENARIOS[name]
    path = tmp_path / f"{name}.jsonl"
    with async_client(comfy_url, record=str(path)) as client:
        live = scenario(client)
    with async_client(REPLAY_URL, transport=ReplayTransport(path)) as client:
        replayed_async = scenario(client)
    with create_sync_client(REPLAY_URL, transport=SyncReplayTransport(path)) as client:
        replayed_sync = scenario(client)
    assert replayed_async == live
    assert replayed_sync == live


def test_the_sync_client_records_too(comfy_url: str, tmp_path: Path) -> None:
    path = tmp_path / "sync.jsonl"
    secret = "rec0rd-secret"
    with create_sync_client(
        comfy_url, token=secret, headers={"X-API-Key": secret}, record=str(path)
    ) as client:
        live = success(client)
    with async_client(REPLAY_URL, transport=ReplayTransport(path)) as client:
        assert success(client) == live
    text = path.read_text()
    assert secret not in text  # credentials are redacted when recorded
    header = json.loads(text.splitlines()[0])
    assert (header["format"], header["version"], header["server_version"]) == (
        "comfy-transcript",
        1,
        "0.3.75",
    )
    kinds = {json.loads(line)["kind"] for line in text.splitlines()[1:]}
    assert {"http", "ws_open", "ws_send", "ws_recv", "ws_close"} <= kinds


def test_an_unexpected_request_fails_at_once_with_a_diff(comfy_url: str, tmp_path: Path) -> None:
    path = tmp_path / "success.jsonl"
    with async_client(comfy_url, record=str(path)) as client:
        success(client)
    transport = SyncReplayTransport(path)
    client_cm = create_sync_client(REPLAY_URL, transport=transport)
    with client_cm as client, pytest.raises(ReplayMismatch) as caught:
        client.submit_workflow(save_image(0x010203, prefix="rr_other"))
    message = str(caught.value)
    assert "does not expect POST /api/prompt" in message
    lines = message.splitlines()
    assert any(line.startswith("-") and '"color": 2771820' in line for line in lines)
    assert any(line.startswith("+") and '"color": 66051' in line for line in lines)
    assert transport.mismatches == [message]


def test_timing_can_be_kept(comfy_url: str, tmp_path: Path) -> None:
    path = tmp_path / "timed.jsonl"
    with async_client(comfy_url, record=str(path)) as client:
        live = success(client)
    with create_sync_client(
        REPLAY_URL, transport=SyncReplayTransport(path, keep_timing=True)
    ) as client:
        assert success(client) == live
