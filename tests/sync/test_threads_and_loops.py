"""The sync client inside a running event loop, and shared by a pool of threads."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import pytest

from comfy_api_client import ClientClosedError
from comfy_api_client.sync import create_client
from tests.workflows import rgb, save_image, slow


async def test_works_inside_a_running_event_loop(comfy_url: str, fresh_color: int) -> None:
    # As in a FastAPI handler or a Jupyter cell: a loop is running on this thread.
    assert asyncio.get_running_loop().is_running()
    with create_client(comfy_url) as client:
        result = client.run(save_image(fresh_color, prefix="sdk_inloop"), timeout=30)
    assert result.output_images[0].image.convert("RGB").getpixel((0, 0)) == rgb(fresh_color)


@pytest.mark.parametrize("transport", ["requests", "httpx", "sockets"])
def test_eight_threads_share_one_client(comfy_url: str, fresh_color: int, transport: str) -> None:
    colors = [(fresh_color * 13 + i * 977_131) % 0xFFFFFF for i in range(32)]
    with create_client(comfy_url, transport=transport, timeout=60) as client:

        def work(color: int) -> tuple[int, object]:
            result = client.run(save_image(color, size=8, prefix="sdk_threads"))
            return color, result.output_images[0].image.convert("RGB").getpixel((0, 0))

        with ThreadPoolExecutor(8) as pool:
            outcomes = list(pool.map(work, colors))
        assert client.futures == {}
    assert [pixel for _, pixel in outcomes] == [rgb(color) for color in colors]


def test_close_fails_pending_futures_and_stops_the_thread(comfy_url: str, fresh_color: int) -> None:
    with create_client(comfy_url) as client:
        prompt = client.submit_workflow(slow(fresh_color, blurs=2))
        (tracker,) = client.state_trackers
        thread = tracker._thread  # the test checks the thread really ends
    assert thread is not None and not thread.is_alive()
    with pytest.raises(ClientClosedError):
        prompt.future.result(5)
    with create_client(comfy_url, start_state_tracker=None) as cleanup:
        cleanup.cancel(prompt)
