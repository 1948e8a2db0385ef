"""list_jobs and get_job on ComfyUI 0.3.75, which has no jobs API: the same answers,
built from the queue and the history, on every client and transport."""

from __future__ import annotations

from collections.abc import Callable

from tests.conformance.conftest import Open
from tests.workflows import save_image, slow


def test_list_jobs_falls_back_to_queue_and_history(
    open_client: Open, fresh_colors: Callable[[], int]
) -> None:
    with open_client() as client:
        assert client.has_jobs_api() is False
        done = client.run(save_image(fresh_colors(), size=8, prefix="sdk_jobs"), timeout=30)
        running = client.submit_workflow(slow(fresh_colors(), blurs=3))
        waiting = client.submit_workflow(slow(fresh_colors(), blurs=3))
        try:
            ours = {done.prompt_id, running.prompt_id, waiting.prompt_id}
            listed = {j.id: j for j in client.list_jobs() if j.id in ours}
            assert {j.source for j in listed.values()} == {"queue+history"}
            assert listed[done.prompt_id].status == "completed"
            assert listed[done.prompt_id].outputs_count == 1
            assert listed[waiting.prompt_id].status == "pending"
            assert listed[running.prompt_id].status in ("pending", "in_progress")
            pending = [j.id for j in client.list_jobs(status="pending")]
            assert waiting.prompt_id in pending and done.prompt_id not in pending
            completed = [j.id for j in client.list_jobs(status=["completed"])]
            assert done.prompt_id in completed and waiting.prompt_id not in completed
            newest = client.list_jobs(limit=2)
            assert [j.id for j in newest] == [waiting.prompt_id, running.prompt_id]
            oldest_first = client.list_jobs(sort_order="asc")
            order = [j.id for j in oldest_first if j.id in ours]
            assert order == [done.prompt_id, running.prompt_id, waiting.prompt_id]
            assert client.get_job(waiting).status == "pending"
        finally:
            client.cancel(waiting)
            client.cancel(running)


def test_the_http_feed_settles_from_history_without_a_jobs_api(
    open_client: Open, fresh_color: int
) -> None:
    with open_client(start_state_tracker="http") as client:
        assert client.tracker.use_jobs_api is False
        result = client.run(save_image(fresh_color, size=8, prefix="sdk_jobs"), timeout=30)
    assert result.output_images
