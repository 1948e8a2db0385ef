"""The baselines: what a person writes by hand to run a prompt and get its image.

Minimal and obviously correct, nothing more: ``POST /prompt`` with our client id,
read the WebSocket until ``executing`` with ``node: null`` for our prompt (taking
the images of its ``executed`` messages on the way), ``GET /view`` each image and
decode it with Pillow. No retries, no reconnects, no history: what the SDK does
beyond this is what its cost is compared with.
"""

from __future__ import annotations

import io
import json
import uuid
from typing import Any

import httpx
import requests
import websockets
import websockets.sync.client
from PIL import Image

__all__ = ["HttpxBaseline", "RequestsBaseline"]


def _ws_url(url: str, client_id: str) -> str:
    return url.replace("http", "ws", 1) + f"/ws?clientId={client_id}"


def _images(message: Any, prompt_id: str, images: list[dict[str, Any]]) -> bool:
    """Collect our images from one text message; True when our prompt is done."""
    data = message.get("data") or {}
    if data.get("prompt_id") != prompt_id:
        return False
    if message["type"] == "executed":
        images.extend((data.get("output") or {}).get("images", []))
    return message["type"] == "executing" and data.get("node") is None


class HttpxBaseline:
    """httpx + websockets, async: ``async with HttpxBaseline(url) as b: await b.run(wf)``."""

    def __init__(self, url: str) -> None:
        self.url, self.client_id = url, str(uuid.uuid4())

    async def __aenter__(self) -> HttpxBaseline:
        self.http = httpx.AsyncClient(base_url=self.url, timeout=60)
        self.ws = await websockets.connect(_ws_url(self.url, self.client_id), max_size=None)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.ws.close()
        await self.http.aclose()

    async def run(self, workflow: dict[str, Any]) -> list[Image.Image]:
        body = {"prompt": workflow, "client_id": self.client_id}
        prompt_id = (await self.http.post("/prompt", json=body)).json()["prompt_id"]
        images: list[dict[str, Any]] = []
        while True:
            message = await self.ws.recv()
            if isinstance(message, str) and _images(json.loads(message), prompt_id, images):
                break
        decoded: list[Image.Image] = []
        for image in images:
            answer = await self.http.get("/view", params=image)
            decoded.append(Image.open(io.BytesIO(answer.content)))
            decoded[-1].load()
        return decoded


class RequestsBaseline:
    """requests + websockets' sync client: ``with RequestsBaseline(url) as b: b.run(wf)``."""

    def __init__(self, url: str) -> None:
        self.url, self.client_id = url, str(uuid.uuid4())

    def __enter__(self) -> RequestsBaseline:
        self.http = requests.Session()
        self.ws = websockets.sync.client.connect(_ws_url(self.url, self.client_id), max_size=None)
        return self

    def __exit__(self, *exc: object) -> None:
        self.ws.close()
        self.http.close()

    def run(self, workflow: dict[str, Any]) -> list[Image.Image]:
        body = {"prompt": workflow, "client_id": self.client_id}
        prompt_id = self.http.post(f"{self.url}/prompt", json=body, timeout=60).json()["prompt_id"]
        images: list[dict[str, Any]] = []
        while True:
            message = self.ws.recv()
            if isinstance(message, str) and _images(json.loads(message), prompt_id, images):
                break
        decoded: list[Image.Image] = []
        for image in images:
            answer = self.http.get(f"{self.url}/view", params=image, timeout=60)
            decoded.append(Image.open(io.BytesIO(answer.content)))
            decoded[-1].load()
        return decoded
