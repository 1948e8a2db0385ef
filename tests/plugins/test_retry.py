"""The retry plugin against a fault-injecting proxy in front of the real server."""

from __future__ import annotations

import random
from collections.abc import Generator
from typing import Any
from urllib.parse import urlsplit

import pytest
from comfy_plugins.retry import RetryPlugin, retry_after

from comfy_api_client import HTTPStatusError, create_client, hookimpl
from comfy_core.errors import NetworkError
from comfy_core.http import Request, Response
from tests.fault_proxy import Fault, FaultProxy
from tests.workflows import rgb, save_image


class RetrySpy:
    """Sees every retry decision the plugins make (a pluggy wrapper around the hook)."""

    def __init__(self) -> None:
        self.decisions: list[tuple[str, str, int | None, float | None]] = []

    @hookimpl(wrapper=True)
    def comfy_retry_delay(
        self, request: Request, response: Response | None
    ) -> Generator[None, float | None, float | None]:
        delay = yield
        status = response.status if response is not None else None
        self.decisions.append((request.method, request.path, status, delay))
        return delay


def proxy_for(comfy_url: str, *faults: Fault) -> FaultProxy:
    upstream = urlsplit(comfy_url)
    assert upstream.hostname and upstream.port
    return FaultProxy((upstream.hostname, upstream.port), list(faults))


@pytest.mark.parametrize("tracker", ["websocket", "http"])
async def test_retry_after_on_submit_is_honoured(
    comfy_url: str, fresh_color: int, tracker: Any
) -> None:
    spy = RetrySpy()
    fault = Fault("POST", "/api/prompt", "status", status=503, retry_after="1")
    async with (
        proxy_for(comfy_url, fault) as proxy,
        create_client(proxy.url, start_state_tracker=tracker, plugins=[spy]) as client,
    ):
        result = await client.run(save_image(fresh_color, prefix="sdk_retry"), timeout=60)
    assert result.output_images[0].image.convert("RGB").getpixel((0, 0)) == rgb(fresh_color)
    assert spy.decisions[0] == ("POST", "/api/prompt", 503, 1.0)
    assert list(proxy.upstream_prompts().values()) == [1]


async def test_reset_after_the_server_queued_it_does_not_queue_twice(
    comfy_url: str, fresh_color: int
) -> None:
    proxy = proxy_for(comfy_url, Fault("POST", "/api/prompt", "reset_after"))
    async with proxy, create_client(proxy.url) as client:
        prompt = await client.submit_workflow(save_image(fresh_color, prefix="sdk_reset"))
        result = await client.wait(prompt, timeout=60)
    assert result.prompt_id == prompt.prompt_id
    # The server accepted the first POST; the client found it and did not send another.
    assert proxy.upstream_prompts() == {prompt.prompt_id: 1}
    assert [s.fault for s in proxy.log if s.path == "/api/prompt"] == ["reset_after"]


async def test_reset_before_the_server_saw_it_is_resubmitted_once(
    comfy_url: str, fresh_color: int
) -> None:
    proxy = proxy_for(comfy_url, Fault("POST", "/api/prompt", "reset_before", times=2))
    async with proxy, create_client(proxy.url) as client:
        prompt = await client.submit_workflow(save_image(fresh_color, prefix="sdk_reset"))
        await client.wait(prompt, timeout=60)
    assert proxy.upstream_prompts() == {prompt.prompt_id: 1}
    posts = [s.fault for s in proxy.log if s.path == "/api/prompt"]
    assert posts == ["reset_before", "reset_before", None]


async def test_5xx_on_history_and_view_are_retried(comfy_url: str, fresh_color: int) -> None:
    faults = [
        Fault("GET", "/api/history/", "status", status=500, times=3),
        Fault("GET", "/api/view", "status", status=502, times=2),
    ]
    async with (
        proxy_for(comfy_url, *faults) as proxy,
        create_client(proxy.url, start_state_tracker="http") as client,
    ):
        result = await client.run(save_image(fresh_color, prefix="sdk_5xx"), timeout=60)
    assert result.output_images[0].image.convert("RGB").getpixel((1, 1)) == rgb(fresh_color)
    injected = [s.fault for s in proxy.log if s.fault]
    assert injected.count("status") == 5


async def test_a_400_is_not_retried_and_retries_are_bounded(comfy_url: str) -> None:
    spy = RetrySpy()
    bad = save_image(1)
    del bad["1"]["inputs"]["color"]
    fault = Fault("GET", "/api/queue", "status", status=503, times=100)
    plugin = RetryPlugin(max_attempts=3, base_delay=0.01)
    async with (
        proxy_for(comfy_url, fault) as proxy,
        create_client(proxy.url, start_state_tracker=None, plugins=[spy, plugin]) as client,
    ):
        with pytest.raises(Exception, match="required_input_missing"):
            await client.submit_workflow(bad, return_future=False)
        with pytest.raises(HTTPStatusError) as caught:
            await client.get_queue()
    assert caught.value.status == 503
    assert [s.path for s in proxy.log].count("/api/prompt") == 1
    assert [s.path for s in proxy.log].count("/api/queue") == 3
    assert [d[3] is None for d in spy.decisions] == [False, False, True]


async def test_transport_error_is_raised_when_retries_run_out(comfy_url: str) -> None:
    fault = Fault("GET", "/api/queue", "reset_before", times=100)
    async with (
        proxy_for(comfy_url, fault) as proxy,
        create_client(
            proxy.url,
            start_state_tracker=None,
            plugins=[RetryPlugin(max_attempts=2, base_delay=0.01)],
        ) as client,
    ):
        with pytest.raises(NetworkError):
            await client.get_queue()
    assert [s.path for s in proxy.log].count("/api/queue") == 2


# -- the policy itself -----------------------------------------------------------

GET = Request(method="GET", path="/api/queue")


def decide(plugin: RetryPlugin, **kwargs: Any) -> float | None:
    args: dict[str, Any] = {
        "request": GET,
        "attempt": 0,
        "elapsed": 0.0,
        "response": None,
        "error": None,
        "idempotent": True,
    }
    args.update(kwargs)
    return plugin.comfy_retry_delay(**args)


def test_backoff_is_full_jitter_below_an_exponential_cap() -> None:
    plugin = RetryPlugin(base_delay=0.5, max_delay=3.0, max_attempts=10, rng=random.Random(7))
    for attempt, cap in [(0, 0.5), (1, 1.0), (2, 2.0), (3, 3.0), (6, 3.0)]:
        delays = [decide(plugin, attempt=attempt) for _ in range(200)]
        assert all(d is not None and 0 <= d <= cap for d in delays)
        assert max(d for d in delays if d is not None) > cap * 0.8  # jitter spans the range


def test_limits_non_idempotent_and_non_retryable() -> None:
    plugin = RetryPlugin(max_attempts=3, max_elapsed=10.0)
    assert decide(plugin, attempt=2) is None
    assert decide(plugin, idempotent=False) is None
    assert decide(plugin, response=Response(status=404)) is None
    assert decide(plugin, response=Response(status=400)) is None
    assert (
        decide(plugin, elapsed=9.99, response=Response(status=503, headers=(("retry-after", "5"),)))
        is None
    )
    assert decide(plugin, response=Response(status=429, headers=(("retry-after", "2"),))) == 2.0


def test_retry_after_reads_seconds_and_http_dates() -> None:
    assert retry_after(Response(status=503, headers=(("Retry-After", "7"),))) == 7.0
    date = Response(status=503, headers=(("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT"),))
    assert retry_after(date) == 0.0  # in the past
    assert retry_after(Response(status=503, headers=(("retry-after", "soon"),))) is None
    assert retry_after(Response(status=503)) is None
