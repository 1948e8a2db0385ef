"""The sync client inside a running event loop, and shared by a pool of threads."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from comfy_api_client import ClientClosedError
from comfy_api_client.sync import create_client
from comfy_core.events import NodeStarted
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
        assert client._session.pending == []
    assert [pixel for _, pixel in outcomes] == [rgb(color) for color in colors]


def test_close_fails_pending_futures_and_stops_the_thread(comfy_url: str, fresh_color: int) -> None:
    with create_client(comfy_url) as client:
        prompt = client.submit_workflow(slow(fresh_color, blurs=2))
        (feed,) = client.state_trackers
        assert feed.is_alive()
    assert not feed.is_alive()  # its thread really ended
    with pytest.raises(ClientClosedError):
        prompt.future.result(5)
    with create_client(comfy_url, start_state_tracker=None) as cleanup:
        cleanup.cancel(prompt)


def test_a_blocked_callback_blocks_no_other_thread(comfy_url: str, fresh_colors: Any) -> None:
    # on_node of the first prompt blocks whichever thread runs it (the feed's, or the
    # submitter's if the events beat the POST answer). The client's lock must be free:
    # another thread still submits and reads the queue meanwhile.
    entered, release = threading.Event(), threading.Event()

    def stuck(node: NodeStarted) -> None:
        entered.set()
        release.wait(60)

    first_workflow = save_image(fresh_colors(), prefix="sdk_stuck")
    with create_client(comfy_url, timeout=60) as client, ThreadPoolExecutor(2) as threads:
        submitting = threads.submit(client.submit_workflow, first_workflow, on_node=stuck)
        assert entered.wait(30), "the callback never ran"
        other = threads.submit(
            client.submit_workflow, save_image(fresh_colors(), prefix="sdk_free")
        )
        second = other.result(10)
        assert threads.submit(client.get_queue).result(10) is not None
        release.set()
        first = submitting.result(10)
        assert first.future is not None and second.future is not None
        assert client.wait(first).prompt_id == first.prompt_id
        assert client.wait(second).prompt_id == second.prompt_id
