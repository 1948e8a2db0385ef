"""Queue, cancel, interrupt, history, jobs and progress events against the real server."""

from __future__ import annotations

import asyncio
import io
import uuid
from typing import Any

from PIL import Image

from comfy_api_client import (
    PromptInterruptedError,
    create_client,
)
from comfy_core.api import CancelOutcome
from comfy_core.conclusions import PromptQueued, PromptSucceeded
from comfy_core.events import (
    Event,
    ExecutionFinished,
    ExecutionStarted,
    NodeStarted,
    PreviewReceived,
)
from comfy_core.progress import Progress
from tests.waiting import until_started_async
from tests.workflows import save_image, slow


async def test_queue_is_listed_in_run_order_and_prompts_are_cancelled(
    comfy_url: str, fresh_color: int
) -> None:
    async with create_client(comfy_url) as client:
        running = await client.submit_workflow(slow(fresh_color, blurs=3))
        await until_started_async(client, running)
        later = [
            await client.submit_workflow(slow(fresh_color + i, blurs=1), return_future=False)
            for i in (1, 2, 3)
        ]
        first = await client.submit_workflow(
            slow(fresh_color + 4, blurs=1), return_future=False, front=True
        )
        queue = await client.get_queue()
        assert [e.prompt_id for e in queue.running] == [running.prompt_id]
        assert [e.prompt_id for e in queue.pending] == [p.prompt_id for p in (first, *later)]
        assert queue.pending[0].number < 0  # front: a negated priority
        assert await client.get_queue_remaining() == 5

        await client.delete_from_queue([later[0].prompt_id])
        assert await client.cancel(later[1]) is CancelOutcome.DELETED
        assert await client.cancel_prompts([first.prompt_id]) == [CancelOutcome.DELETED]
        pending = [e.prompt_id for e in (await client.get_queue()).pending]
        assert pending == [later[2].prompt_id]

        assert await client.cancel(running) is CancelOutcome.INTERRUPTED
        try:
            await client.wait(running, timeout=60)
        except PromptInterruptedError as error:
            assert error.prompt_id == running.prompt_id
        else:
            raise AssertionError("the running prompt was not interrupted")
        assert await client.cancel(running) is CancelOutcome.FINISHED
        assert await client.cancel(str(uuid.uuid4())) is CancelOutcome.UNKNOWN
        job = await client.get_job(running)
        assert (job.status, job.source) == ("failed", "queue+history")  # 0.3.75: no jobs API
        await client.cancel(later[2])


async def test_interrupt_processing_and_clear_queue(comfy_url: str, fresh_color: int) -> None:
    async with create_client(comfy_url) as client:
        running = await client.submit_workflow(slow(fresh_color, blurs=3))
        waiting = await client.submit_workflow(slow(fresh_color + 1, blurs=1))
        await until_started_async(client, running)
        assert (await client.get_job(waiting)).status == "pending"
        assert (await client.get_job(running)).status == "in_progress"
        await client.clear_queue()
        assert (await client.get_queue()).pending == []
        await client.interrupt_processing()
        # The cleared one is found lost once the queue drains, that is after the running
        # one stops (at its next node): wait for them in that order, each with room to spare.
        outcomes = await asyncio.gather(
            client.wait(running, timeout=60),
            client.wait(waiting, timeout=90),
            return_exceptions=True,
        )
    assert isinstance(outcomes[0], PromptInterruptedError)
    # A cleared prompt never reaches the history: the tracker reports it lost.
    assert type(outcomes[1]).__name__ == "PromptLostError"


async def test_history_pages_and_deletion(comfy_url: str, fresh_color: int) -> None:
    async with create_client(comfy_url) as client:
        one = await client.run(save_image(fresh_color, prefix="sdk_hist"), timeout=30)
        two = await client.run(save_image(fresh_color + 1, prefix="sdk_hist"), timeout=30)
        newest = await client.get_history(max_items=1)
        assert list(newest) == [two.prompt_id]
        everything = await client.get_history()
        assert list(everything)[-2:] == [one.prompt_id, two.prompt_id]
        page = await client.get_history(max_items=1, offset=len(everything) - 2)
        assert list(page) == [one.prompt_id]
        assert one.prompt_id in await client.get_completed_prompts()
        assert (await client.get_job(one.prompt_id)).status == "completed"
        await client.remove_from_history([one.prompt_id])
        assert await client.get_history(one.prompt_id) == {}
        assert (await client.get_job(one.prompt_id)).status == "unknown"
        await client.free_memory(unload_models=True, free_memory=True)
        await client.clear_history()
        assert await client.get_history() == {}


def websocket_frames(color: int) -> dict[str, Any]:
    return {
        "1": {
            "class_type": "EmptyImage",
            "inputs": {"width": 32, "height": 16, "batch_size": 2, "color": color},
        },
        "2": {"class_type": "SaveImageWebsocket", "inputs": {"images": ["1", 0]}},
    }


async def test_events_progress_nodes_and_binary_previews(comfy_url: str, fresh_color: int) -> None:
    progress: list[Progress] = []
    nodes: list[NodeStarted] = []
    previews: list[PreviewReceived] = []
    async with create_client(comfy_url) as client:
        prompt = await client.submit_workflow(
            websocket_frames(fresh_color),
            on_progress=progress.append,
            on_node=nodes.append,
            on_preview=previews.append,
        )
        events: list[Event] = [event async for event in client.events(prompt)]
        result = await client.wait(prompt, timeout=30)

    assert all(e.prompt_id == prompt.prompt_id for e in events)
    kinds = [type(e) for e in events]
    assert kinds[-1] is PromptSucceeded
    assert {ExecutionStarted, NodeStarted, ExecutionFinished, PromptQueued} <= set(kinds)
    assert [n.node for n in nodes] == ["1", "2"]
    # Negotiated previews (type 4) carry their prompt and node; each is a real PNG.
    assert len(previews) == 2
    for preview in previews:
        assert (preview.frame_type, preview.prompt_id, preview.node) == (4, prompt.prompt_id, "2")
        assert Image.open(io.BytesIO(preview.image)).size == (32, 16)
    assert progress and progress[-1].fraction == 1.0
    assert any(p.node == "2" and p.max == 2 for p in progress)
    assert [p.fraction for p in progress] == sorted(p.fraction for p in progress)
    # SaveImageWebsocket has no history output: its images exist only as frames.
    assert result.outputs == {} and result.output_images == []


async def test_events_of_a_prompt_that_finished_before_iterating(
    comfy_url: str, fresh_color: int
) -> None:
    async with create_client(comfy_url) as client:
        prompt = await client.submit_workflow(save_image(fresh_color, prefix="sdk_late"))
        await client.wait(prompt, timeout=30)
        events = [type(e) async for e in client.events(prompt)]
        again = [e async for e in client.events(prompt)]
    # The server may start a fast prompt before our POST is answered, so its first event is
    # PromptQueued or ExecutionStarted (prompt_state.py); both are there all the same.
    assert PromptQueued in events and ExecutionStarted in events
    assert events[-1] is PromptSucceeded
    assert again == []  # consumed
