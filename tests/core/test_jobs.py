"""The jobs API (ComfyUI 0.6+) on a real 0.8.0 session: listing, one job, and the tracker
settling prompts from ``/api/jobs/{id}``."""

from __future__ import annotations

import json
from collections.abc import Generator
from typing import Any

import pytest

from comfy_core import jobs, routes
from comfy_core.conclusions import PromptFailed, PromptSucceeded
from comfy_core.errors import (
    LocalProtocolError,
    NodeExecutionError,
    PromptInterruptedError,
)
from comfy_core.http import Request, Response
from comfy_core.models import PromptResponse
from comfy_core.tracker import Outgoing, PromptTracker
from tests.recorded import as_exchange, load

RECORDS = [r for r in load("jobs", "0.8.0") if r["kind"] == "http"]
OK, FAILED, SLOW, PENDING = [
    r["json"]["prompt_id"] for r in RECORDS if r["method"] == "POST" and r["path"] == "/api/prompt"
][:4]
INTERRUPTED = next(r for r in RECORDS if r["path"] == "/api/interrupt")["request_json"]["prompt_id"]
MIDWAY = 64  # the jobs before this record's seq are read while SLOW runs and PENDING waits


def _answer(request: Request, before: int | None, after: int = 0) -> Response:
    """The recorded answer to ``request`` (same method, path and query) in that part of
    the session; a request the session never made fails the test."""
    for record in RECORDS:
        if record["seq"] < after or (before is not None and record["seq"] >= before):
            continue
        recorded, response = as_exchange(record)
        same = (recorded.method, recorded.path) == (request.method, request.path)
        if same and dict(recorded.params) == dict(request.params):
            return response
    raise AssertionError(f"not in the recording: {request.method} {request.path} {request.params}")


def run(flow: Generator[Any, Any, Any], before: int | None = MIDWAY, after: int = 0) -> Any:
    try:
        step = next(flow)
        while True:
            step = flow.send(_answer(step, before, after))
    except StopIteration as stop:
        return stop.value


def test_list_jobs_unfiltered_gives_typed_items_newest_first() -> None:
    listed = run(jobs.list_jobs())
    assert [j.id for j in listed] == [PENDING, SLOW, FAILED, OK]
    assert [j.status for j in listed] == ["pending", "in_progress", "failed", "completed"]
    assert all(j.source == "jobs" for j in listed)
    ok = listed[-1]
    assert ok.priority == 0 and ok.outputs_count == 1
    assert ok.execution_duration == 22.0  # 1796119081241 - 1796119081219 ms


def test_list_jobs_filters_pages_and_sorts_as_recorded() -> None:
    assert [j.id for j in run(jobs.list_jobs(status="pending,in_progress"))] == [PENDING, SLOW]
    assert [j.id for j in run(jobs.list_jobs(status=["pending", "in_progress"]))] == [
        PENDING,
        SLOW,
    ]
    assert [j.id for j in run(jobs.list_jobs(status="completed", limit=1))] == [OK]
    assert [j.id for j in run(jobs.list_jobs(status="failed"))] == [FAILED]
    paged = run(jobs.list_jobs(limit=2, offset=1, sort_order="asc"))
    assert [j.id for j in paged] == [FAILED, SLOW]
    by_duration = run(jobs.list_jobs(sort_by="execution_duration"))
    assert by_duration[0].id == FAILED


@pytest.mark.parametrize(
    "arguments",
    [
        {"status": "bogus"},
        {"status": ["pending", "done"]},
        {"limit": 0},
        {"limit": True},
        {"offset": -1},
        {"sort_by": "name"},
        {"sort_order": "up"},
    ],
)
def test_bad_list_arguments_fail_before_any_request(arguments: dict[str, Any]) -> None:
    # The recording holds the server's own 400s for three of them: we refuse the same.
    flow = jobs.list_jobs(**arguments)
    with pytest.raises(LocalProtocolError):
        next(flow)


def test_get_job_in_every_state() -> None:
    assert [run(jobs.get_job(p)).status for p in (OK, FAILED, SLOW, PENDING)] == [
        "completed",
        "failed",
        "in_progress",
        "pending",
    ]
    unknown = "716ffadd-9057-4907-91a2-5e3b43d1f3fd"
    assert run(jobs.get_job(unknown)).status == "unknown"
    assert run(jobs.get_job(INTERRUPTED), before=None, after=MIDWAY).status == "failed"


def test_has_jobs_api_on_a_new_and_an_old_server() -> None:
    flow = jobs.has_jobs_api()
    request = next(flow)
    assert isinstance(request, Request)
    assert (request.path, request.params) == ("/api/jobs", (("limit", "1"),))
    body = json.dumps({"jobs": [], "pagination": {"total": 0}}).encode()
    with pytest.raises(StopIteration) as new:
        flow.send(Response(status=200, headers=(), body=body))
    assert new.value.value is True
    flow = jobs.has_jobs_api()
    next(flow)
    with pytest.raises(StopIteration) as old:  # 0.3.75: aiohttp's bare 404
        flow.send(Response(status=404, headers=(), body=b""))
    assert old.value.value is False


def _left_the_queue(prompt_id: str, **options: Any) -> tuple[PromptTracker, Outgoing]:
    """A jobs-API tracker whose queue check no longer lists ``prompt_id``, and the
    ``/api/jobs/{id}`` read it asks for next."""
    tracker = PromptTracker(use_jobs_api=True, **options)
    tracker.register(prompt_id)
    tracker.accepted(PromptResponse(prompt_id=prompt_id, number=0, node_errors={}))
    while tracker.next_event() is not None:  # the transition applies when pulled
        pass
    check = tracker.reconcile()
    assert check is not None
    empty = json.dumps({"queue_running": [], "queue_pending": []}).encode()
    tracker.receive_response(check, Response(status=200, headers=(), body=empty))
    (read,) = tracker.requests_to_send()
    assert read.request.path == f"/api/jobs/{prompt_id}"
    return tracker, read


def _settle_over_jobs(prompt_id: str, after: int) -> list[Any]:
    """Settle ``prompt_id`` from its recorded ``/api/jobs/{id}`` answer."""
    tracker, read = _left_the_queue(prompt_id, history_attempts=2)
    tracker.receive_response(read, _answer(read.request, None, after))
    events = []
    while (event := tracker.next_event()) is not None:
        events.append(event)
    return events


def test_the_tracker_settles_from_the_jobs_api() -> None:
    (done,) = [e for e in _settle_over_jobs(SLOW, MIDWAY) if isinstance(e, PromptSucceeded)]
    (item,) = done.result.outputs["4"].files
    assert item.filename == "ComfyUI_temp_jmqsg_00001_.png" and item.type == "temp"
    (failed,) = [e for e in _settle_over_jobs(FAILED, 0) if isinstance(e, PromptFailed)]
    assert isinstance(failed.error, NodeExecutionError)
    assert failed.error.node_id == "2" and failed.error.exception_type == "RuntimeError"
    (stopped,) = [e for e in _settle_over_jobs(INTERRUPTED, MIDWAY) if isinstance(e, PromptFailed)]
    assert isinstance(stopped.error, PromptInterruptedError)


def test_a_job_still_running_is_read_again_not_settled() -> None:
    request = routes.get_job(SLOW)
    assert routes.read_job_entry(request, _answer(request, MIDWAY), SLOW) is None
    tracker, read = _left_the_queue(SLOW)
    tracker.receive_response(read, _answer(read.request, MIDWAY))
    (again,) = tracker.requests_to_send()
    assert again.request.path == read.request.path and again.empty_reads == 1
    while (event := tracker.next_event()) is not None:
        assert not isinstance(event, (PromptSucceeded, PromptFailed))
    assert SLOW in tracker.tracked
