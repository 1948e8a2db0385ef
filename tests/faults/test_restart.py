"""The server is killed and restarted mid-queue, 20 times for each client: the prompts it
held fail with PromptLostError (none hangs), and prompts submitted after the restart succeed."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from comfy_api_client import PromptLostError, create_client
from comfy_api_client.local_server import LocalServer, provision
from comfy_api_client.sync import create_client as create_sync_client
from tests.faults.test_faults import FAST_RECONNECT, REPEAT, small_job
from tests.waiting import until_started, until_started_async
from tests.workflows import rgb, save_image, slow

pytestmark = pytest.mark.server  # starts a LocalServer of its own, not comfy_server


class Restartable:
    """A server of this module's own (the session's is shared), killed and restarted on demand."""

    def __init__(self) -> None:
        self.server = LocalServer(provision())

    @property
    def url(self) -> str:
        return self.server.url

    def crash_and_restart(self) -> None:
        process = self.server.process
        assert process is not None
        process.kill()  # a crash: no clean shutdown
        process.wait(10)
        self.server.process = None
        self.server.start()  # same port, same folders


@pytest.fixture(scope="module")
def restartable() -> Iterator[Restartable]:
    server = Restartable()
    server.server.start()
    try:
        yield server
    finally:
        server.server.stop()


@pytest.mark.parametrize("rep", range(REPEAT))
async def test_restart_mid_queue_async(
    restartable: Restartable, fresh_color: int, rep: int
) -> None:
    color = fresh_color + 7000 + rep
    async with create_client(
        restartable.url, state_tracker_kwargs=FAST_RECONNECT, timeout=90
    ) as client:
        held = [await client.submit_workflow(slow(color, blurs=3, size=1024))]
        held += [await client.submit_workflow(small_job(color + i)) for i in (1, 2, 3)]
        await until_started_async(client, held[0])
        await asyncio.to_thread(restartable.crash_and_restart)
        outcomes = await asyncio.gather(*(client.wait(p) for p in held), return_exceptions=True)
        assert [type(o).__name__ for o in outcomes] == ["PromptLostError"] * 4, outcomes
        assert all(
            isinstance(o, PromptLostError) and o.prompt_id == p.prompt_id
            for o, p in zip(outcomes, held, strict=True)
        )
        after = await client.run(save_image(color, size=8, prefix="sdk_restart"))
    assert after.output_images[0].image.convert("RGB").getpixel((0, 0)) == rgb(color)


@pytest.mark.parametrize("rep", range(REPEAT))
def test_restart_mid_queue_sync(restartable: Restartable, fresh_color: int, rep: int) -> None:
    color = fresh_color + 8000 + rep
    with create_sync_client(
        restartable.url, state_tracker_kwargs=FAST_RECONNECT, timeout=90
    ) as client:
        held = [client.submit_workflow(slow(color, blurs=3, size=1024))]
        held += [client.submit_workflow(small_job(color + i)) for i in (1, 2, 3)]
        until_started(client, held[0])
        restartable.crash_and_restart()
        for prompt in held:
            with pytest.raises(PromptLostError) as lost:
                client.wait(prompt)
            assert lost.value.prompt_id == prompt.prompt_id
        after = client.run(save_image(color, size=8, prefix="sdk_restart"))
    assert after.output_images[0].image.convert("RGB").getpixel((0, 0)) == rgb(color)
