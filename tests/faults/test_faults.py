"""Fault tests against the real server, each repeated 20 times, for both clients:
drops, 500s, blackholes and cancelled waits lose no result and hang nothing."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from typing import Any
from urllib.parse import urlsplit

import pytest

from comfy_api_client import create_client
from comfy_api_client.sync import create_client as create_sync_client
from comfy_transports import HttpxTransport, RequestsTransport
from tests.fault_proxy import Fault, FaultProxy, ThreadedProxy
from tests.workflows import rgb, save_image, slow

REPEAT = 20
FAST_RECONNECT = {"reconnect_delay": 0.05, "max_reconnect_delay": 0.5, "poll_interval": 0.1}


def upstream(comfy_url: str) -> tuple[str, int]:
    parts = urlsplit(comfy_url)
    assert parts.hostname and parts.port
    return parts.hostname, parts.port


def colors(seed: int, n: int) -> list[int]:
    return [(seed * 31 + i * 2_654_435) % 0xFFFFFF for i in range(n)]


def small_job(color: int) -> dict[str, Any]:
    """A prompt that takes a few tens of milliseconds, so a queue of 20 is still running."""
    return slow(color, blurs=1, size=128)


# -- the WebSocket is cut while 20 prompts are queued ---------------------------------


@pytest.mark.parametrize("rep", range(REPEAT))
async def test_ws_cut_mid_run_async(comfy_url: str, fresh_color: int, rep: int) -> None:
    wanted = colors(fresh_color + rep, 20)
    async with FaultProxy(upstream(comfy_url), raw=True) as proxy:
        transport = HttpxTransport(proxy.url, ping_interval=1, ping_timeout=2)
        async with create_client(
            proxy.url, transport=transport, state_tracker_kwargs=FAST_RECONNECT, timeout=60
        ) as client:
            prompts = [await client.submit_workflow(small_job(c)) for c in wanted]
            proxy.cut()
            results = await asyncio.gather(*(client.wait(p) for p in prompts))
            (tracker,) = client.state_trackers
            assert tracker.reconnects >= 1
    assert [r.prompt_id for r in results] == [p.prompt_id for p in prompts]
    assert all(r.output_images and r.output_images[0].type == "temp" for r in results)


@pytest.mark.parametrize("rep", range(REPEAT))
def test_ws_cut_mid_run_sync(comfy_url: str, fresh_color: int, rep: int) -> None:
    wanted = colors(fresh_color + rep, 20)
    proxy = ThreadedProxy(FaultProxy(upstream(comfy_url), raw=True))
    try:
        transport = RequestsTransport(proxy.url, ping_interval=1, ping_timeout=2)
        with create_sync_client(
            proxy.url, transport=transport, state_tracker_kwargs=FAST_RECONNECT, timeout=60
        ) as client:
            prompts = [client.submit_workflow(small_job(c)) for c in wanted]
            proxy.cut()
            results = [client.wait(p) for p in prompts]
            (tracker,) = client.state_trackers
            assert tracker.reconnects >= 1
    finally:
        proxy.close()
    assert [r.prompt_id for r in results] == [p.prompt_id for p in prompts]


# -- /history answers 500 for a while, then recovers ----------------------------------


def history_faults() -> list[Fault]:
    return [Fault("GET", "/api/history/", "status", status=500, times=6)]


@pytest.mark.parametrize("rep", range(REPEAT))
async def test_history_500_then_recovers_async(comfy_url: str, fresh_color: int, rep: int) -> None:
    color = fresh_color + 1000 + rep
    async with (
        FaultProxy(upstream(comfy_url), history_faults()) as proxy,
        create_client(
            proxy.url, start_state_tracker="http", state_tracker_kwargs={"update_interval": 0.05}
        ) as client,
    ):
        result = await client.run(save_image(color, size=8, prefix="sdk_h500"), timeout=60)
    assert result.output_images[0].image.convert("RGB").getpixel((0, 0)) == rgb(color)
    assert sum(1 for s in proxy.log if s.fault == "status") == 6


@pytest.mark.parametrize("rep", range(REPEAT))
def test_history_500_then_recovers_sync(comfy_url: str, fresh_color: int, rep: int) -> None:
    color = fresh_color + 2000 + rep
    background = ThreadedProxy(FaultProxy(upstream(comfy_url), history_faults()))
    proxy = background.proxy
    try:
        with create_sync_client(
            proxy.url, start_state_tracker="http", state_tracker_kwargs={"update_interval": 0.05}
        ) as client:
            result = client.run(save_image(color, size=8, prefix="sdk_h500"), timeout=60)
    finally:
        background.close()
    assert result.output_images[0].image.convert("RGB").getpixel((0, 0)) == rgb(color)
    assert sum(1 for s in proxy.log if s.fault == "status") == 6


# -- a blackholed connection (no FIN) is detected by pings and replaced ------------------

PING_INTERVAL, PING_TIMEOUT = 0.3, 0.6
RECOVERY = 15.0  # pings notice within ~1 s; reconnect, reconcile and results well inside this


@pytest.mark.parametrize("rep", range(REPEAT))
async def test_blackhole_detected_and_recovered_async(
    comfy_url: str, fresh_color: int, rep: int
) -> None:
    color = fresh_color + 3000 + rep
    async with FaultProxy(upstream(comfy_url), raw=True) as proxy:
        transport = HttpxTransport(
            proxy.url, timeout=2, ping_interval=PING_INTERVAL, ping_timeout=PING_TIMEOUT
        )
        async with create_client(
            proxy.url, transport=transport, state_tracker_kwargs=FAST_RECONNECT
        ) as client:
            prompt = await client.submit_workflow(slow(color, blurs=1, size=512))
            proxy.blackhole()  # every open connection goes silent, with no FIN
            proxy.heal()  # new connections work again
            result = await client.wait(prompt, timeout=RECOVERY)
            (tracker,) = client.state_trackers
            assert tracker.reconnects >= 1
    assert result.prompt_id == prompt.prompt_id


@pytest.mark.parametrize("rep", range(REPEAT))
def test_blackhole_detected_and_recovered_sync(comfy_url: str, fresh_color: int, rep: int) -> None:
    color = fresh_color + 4000 + rep
    proxy = ThreadedProxy(FaultProxy(upstream(comfy_url), raw=True))
    try:
        transport = RequestsTransport(
            proxy.url, timeout=2, ping_interval=PING_INTERVAL, ping_timeout=PING_TIMEOUT
        )
        with create_sync_client(
            proxy.url, transport=transport, state_tracker_kwargs=FAST_RECONNECT
        ) as client:
            prompt = client.submit_workflow(slow(color, blurs=1, size=512))
            proxy.blackhole()
            proxy.heal()
            result = client.wait(prompt, timeout=RECOVERY)
            (tracker,) = client.state_trackers
            assert tracker.reconnects >= 1
    finally:
        proxy.close()
    assert result.prompt_id == prompt.prompt_id


# -- a client cancelled mid-wait leaves nothing behind -----------------------------------


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def settle(check: Any, seconds: float = 3.0) -> Any:
    """Poll ``check`` until it is true or ``seconds`` pass (threads and sockets wind down)."""
    deadline = time.monotonic() + seconds
    while not check() and time.monotonic() < deadline:
        time.sleep(0.02)
    return check()


@pytest.mark.parametrize("rep", range(REPEAT))
async def test_cancelled_wait_leaks_nothing_async(
    comfy_url: str, fresh_color: int, rep: int
) -> None:
    color = fresh_color + 5000 + rep
    tasks, threads, fds = len(asyncio.all_tasks()), threading.active_count(), open_fds()

    async def session() -> None:
        async with create_client(comfy_url) as client:
            prompt = await client.submit_workflow(slow(color, blurs=2, size=768))
            await client.wait(prompt, timeout=60)

    task = asyncio.create_task(session())
    await asyncio.sleep(0.3)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.sleep(0.05)
    assert len(asyncio.all_tasks()) == tasks
    assert settle(lambda: threading.active_count() <= threads)
    assert settle(lambda: open_fds() <= fds), f"{open_fds()} fds open, {fds} before"
    async with create_client(comfy_url, start_state_tracker=None) as cleanup:
        queue = await cleanup.get_queue()
        for entry in (*queue.running, *queue.pending):
            await cleanup.cancel(entry.prompt_id)


@pytest.mark.parametrize("rep", range(REPEAT))
def test_cancelled_wait_leaks_nothing_sync(comfy_url: str, fresh_color: int, rep: int) -> None:
    from comfy_api_client import WaitTimeout

    color = fresh_color + 6000 + rep
    threads, fds = threading.active_count(), open_fds()
    with create_sync_client(comfy_url) as client:
        prompt = client.submit_workflow(slow(color, blurs=2, size=768))
        with pytest.raises(WaitTimeout):
            client.wait(prompt, timeout=0.2)  # the caller gives up
        client.cancel(prompt)
    assert settle(lambda: threading.active_count() <= threads), threading.enumerate()
    assert settle(lambda: open_fds() <= fds), f"{open_fds()} fds open, {fds} before"


# -- how soon a vanished prompt is declared lost is configurable -------------------------


@pytest.mark.parametrize("attempts", [2, 4])
async def test_lost_bound_is_configurable(comfy_url: str, fresh_color: int, attempts: int) -> None:
    from comfy_api_client import PromptLostError
    from comfy_core import PromptTracker

    tracker = PromptTracker(history_attempts=attempts, history_retry_delay=0.01)
    async with (
        FaultProxy(upstream(comfy_url)) as proxy,
        create_client(proxy.url, tracker=tracker, timeout=60) as client,
    ):
        running = await client.submit_workflow(slow(fresh_color + attempts, blurs=2, size=768))
        cleared = await client.submit_workflow(small_job(fresh_color + attempts + 1))
        await client.delete_from_queue([cleared.prompt_id])  # gone: it never runs
        with pytest.raises(PromptLostError):
            await client.wait(cleared)
        await client.cancel(running)
    reads = [s for s in proxy.log if s.path == f"/api/history/{cleared.prompt_id}"]
    assert len(reads) == attempts  # each empty answer counted, then the prompt is lost
