"""How a user tests their ComfyUI code against a recorded session: no server, no GPU.

pytest examples/replay_test                                 # replay the transcript
pytest examples/replay_test --comfy-record=http://host:8188 # refresh it from a server
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from swatch import make_swatch

from comfy_api_client import create_client
from comfy_api_client.pytest_plugin import TranscriptSession


@pytest.mark.comfy_transcript("transcripts/swatch.jsonl")
async def test_swatch_has_the_colour_asked_for(comfy_transcript: TranscriptSession) -> None:
    async with create_client(comfy_transcript.url, **comfy_transcript.options()) as client:
        assert await make_swatch(client, 0x336699) == (0x33, 0x66, 0x99)
