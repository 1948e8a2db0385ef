"""Deployment shapes: a ComfyUI served under a path prefix behind a reverse proxy."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest

from comfy_api_client import create_client
from tests.proxy import PrefixProxy
from tests.workflows import rgb, save_image


@pytest.mark.parametrize("tracker", ["websocket", "http"])
async def test_path_prefix_is_kept_for_http_view_and_ws(
    comfy_url: str, fresh_color: int, tracker: Any
) -> None:
    upstream = urlsplit(comfy_url)
    assert upstream.hostname and upstream.port
    proxy = PrefixProxy(upstream.hostname, upstream.port, "/comfy")
    async with proxy, create_client(proxy.url, start_state_tracker=tracker) as client:
        result = await client.run(save_image(fresh_color, prefix="sdk_prefix"), timeout=30)
    assert result.output_images[0].image.convert("RGB").getpixel((0, 0)) == rgb(fresh_color)
    assert proxy.seen, "nothing went through the proxy"
    assert all(target.startswith("/comfy/") for target in proxy.seen), proxy.seen
    assert any(t.startswith("/comfy/api/view?") for t in proxy.seen)
    assert any(t.startswith("/comfy/api/prompt") for t in proxy.seen)
    if tracker == "websocket":
        assert any(t.startswith("/comfy/ws?clientId=") for t in proxy.seen)
