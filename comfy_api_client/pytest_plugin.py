"""pytest plugin: run tests against recorded ComfyUI transcripts, and re-record them.

Registered through the ``pytest11`` entry point, so it is active wherever
comfy-api-client is installed. Mark a test with the transcript it uses (a path
relative to the test file) and take the ``comfy_transcript`` fixture::

    @pytest.mark.comfy_transcript("transcripts/thumbnail.jsonl")
    async def test_thumbnail(comfy_transcript):
        async with create_client(comfy_transcript.url, **comfy_transcript.options()) as client:
            ...

Normally the test runs against the transcript, with no server. With
``--comfy-record=URL`` it runs against the live server at URL and rewrites the
transcript. The sync client takes ``comfy_transcript.options("sync")``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

__all__ = ["TranscriptSession"]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("comfy", "comfy-api-client transcripts")
    group.addoption(
        "--comfy-record",
        metavar="URL",
        default=None,
        help="re-record the comfy_transcript tests' transcripts against the ComfyUI server at URL",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "comfy_transcript(path): the recorded ComfyUI session this test replays "
        "(path relative to the test file); see the comfy_transcript fixture",
    )


@dataclass(frozen=True)
class TranscriptSession:
    """Where a transcript test connects: ``url`` and the client ``options()`` to use."""

    path: Path
    recording: bool
    url: str

    def options(self, client: str = "async") -> dict[str, Any]:
        """Keyword arguments for ``create_client``: a replay transport, or the recorder."""
        if self.recording:
            return {"record": str(self.path)}
        from comfy_transports.replay import ReplayTransport, SyncReplayTransport

        if client == "sync":
            return {"transport": SyncReplayTransport(self.path)}
        return {"transport": ReplayTransport(self.path)}


@pytest.fixture
def comfy_transcript(request: pytest.FixtureRequest) -> TranscriptSession:
    """The transcript named by the test's ``comfy_transcript`` marker, replayed or recorded."""
    marker = request.node.get_closest_marker("comfy_transcript")
    if marker is None or not marker.args:
        raise pytest.UsageError("comfy_transcript needs @pytest.mark.comfy_transcript(path)")
    path = Path(marker.args[0])
    if not path.is_absolute():
        path = Path(request.path).parent / path
    url = request.config.getoption("--comfy-record")
    if url:
        return TranscriptSession(path=path, recording=True, url=url)
    if not path.exists():
        raise pytest.UsageError(f"no transcript at {path}: record it with --comfy-record=URL")
    return TranscriptSession(path=path, recording=False, url="http://comfy-replay.invalid")
