"""The core's flows driven by hand, with no transport: each step is checked, each answer typed in.

The answers are the real ones from the recorded ComfyUI 0.3.75 sessions
(tests/recordings/, read through ``tests.recorded``), except where ComfyUI never
sends such a thing (a 429, a redirect): those are built by hand in the same shape.
A transport error is what a transport throws into the flow at its ``yield``.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from typing import Any

import pytest
from comfy_plugins.retry import RetryPlugin

from comfy_core import api
from comfy_core.errors import (
    BodyTooLarge,
    HTTPStatusError,
    NetworkError,
    NodeExecutionError,
    PromptLostError,
    PromptNotFinishedError,
    TransportError,
    WorkflowValidationError,
)
from comfy_core.flows import Flow, RetryPolicy, Sleep, download_flow, fetch_result_flow, submit_flow
from comfy_core.http import Request, Response
from comfy_core.models import PromptResponse
from comfy_core.outputs import OutputFile
from comfy_core.tracker import PromptTracker
from tests.recorded import as_exchange, http_records

_DONE = object()


class Drive:
    """One flow stepped by hand: ``step`` is what it yielded last, ``result`` what it returned."""

    def __init__(self, flow: Flow[Any]) -> None:
        self.flow = flow
        self.result: Any = _DONE
        self.step: Request | Sleep | None = next(flow)
        self.steps: list[Request | Sleep] = [self.step]

    def send(self, value: Response | None) -> None:
        self._advance(lambda: self.flow.send(value))

    def throw(self, error: BaseException) -> None:
        self._advance(lambda: self.flow.throw(error))

    def _advance(self, resume: Callable[[], Request | Sleep]) -> None:
        try:
            self.step = resume()
        except StopIteration as stop:
            self.step = None
            self.result = stop.value
            return
        self.steps.append(self.step)

    @property
    def done(self) -> bool:
        return self.step is None

    def request(self, method: str, path: str) -> Request:
        """The current step, checked to be that request."""
        step = self.step
        assert isinstance(step, Request), step
        assert (step.method, step.path) == (method, path), step
        return step


def recorded(name: str, method: str, path: str, index: int = 0) -> tuple[dict[str, Any], Response]:
    """The ``index``-th recorded exchange of ``method path`` in ``name``: (record, its Response)."""
    record = [r for r in http_records(name, method) if r["path"] == path][index]
    return record, as_exchange(record)[1]


def recorded_submit(name: str, index: int = 0) -> tuple[dict[str, Any], str, Response]:
    """A recorded accepted POST /prompt: its workflow, its prompt id, the server's answer."""
    accepted = [r for r in http_records(name, "POST", "/prompt") if r["status"] == 200]
    record = accepted[index]
    return record["request_json"]["prompt"], record["json"]["prompt_id"], as_exchange(record)[1]


def fixed(*delays: float | None) -> tuple[RetryPolicy, list[tuple[int, Response | None, Any]]]:
    """A retry policy answering ``delays`` in turn (None: give up), and the calls it saw."""
    calls: list[tuple[int, Response | None, Any]] = []
    answers = iter(delays)

    def policy(attempt: int, response: Response | None, error: Exception | None) -> float | None:
        calls.append((attempt, response, error))
        return next(answers)

    return policy, calls


EMPTY_QUEUE = recorded("success", "GET", "/queue")[1]  # {"queue_running": [], "queue_pending": []}
NO_HISTORY = recorded("queue_ops", "GET", "/history/d467af04-4e17-4734-a1ad-13d59e24f3a9")[1]  # {}
RESET = NetworkError("connection reset by peer")


# -- submit ----------------------------------------------------------------------------


def test_submit_posts_once_and_returns_the_servers_receipt() -> None:
    workflow, prompt_id, answer = recorded_submit("success")
    tracker = PromptTracker()
    drive = Drive(submit_flow(workflow, prompt_id=prompt_id, client_id="c1", tracker=tracker))

    post = drive.request("POST", "/api/prompt")
    sent = json.loads(post.body)
    assert sent == {"prompt": workflow, "client_id": "c1", "prompt_id": prompt_id}
    assert prompt_id in tracker.tracked  # registered before the request leaves
    drive.send(answer)

    assert drive.done
    assert drive.result == PromptResponse(prompt_id=prompt_id, number=0, node_errors={})
    assert drive.steps == [post]
    assert prompt_id in tracker.tracked


def test_a_rejected_submit_is_a_validation_error_and_not_retried() -> None:
    record, answer = recorded("validation_error", "POST", "/prompt", index=1)  # missing color
    policy, calls = fixed(0.1)
    tracker = PromptTracker()
    prompt_id = "2f0c4a51-0000-4000-8000-00000000000a"
    drive = Drive(
        submit_flow(
            record["request_json"]["prompt"],
            prompt_id=prompt_id,
            client_id="c1",
            tracker=tracker,
            retry=policy,
        )
    )
    drive.request("POST", "/api/prompt")
    with pytest.raises(WorkflowValidationError) as caught:
        drive.send(answer)
    assert [(e.node_id, e.class_type) for e in caught.value.node_errors] == [("1", "EmptyImage")]
    assert calls == []  # a 400 is an answer, never retried
    assert tracker.tracked == frozenset()


@pytest.mark.parametrize(
    ("name", "index", "number"),
    [("queue_ops", 0, 21), ("queue_ops", 3, -24)],
    ids=["running", "pending"],
)
def test_reset_after_the_server_queued_it_is_not_submitted_again(
    name: str, index: int, number: int
) -> None:
    # The recorded queue lists the first prompt as running and the front one as pending.
    workflow, prompt_id, _ = recorded_submit(name, index)
    _, queue = recorded(name, "GET", "/queue")
    policy, calls = fixed(0.25)
    tracker = PromptTracker()
    drive = Drive(
        submit_flow(workflow, prompt_id=prompt_id, client_id="c1", tracker=tracker, retry=policy)
    )

    drive.request("POST", "/api/prompt")
    drive.throw(RESET)  # the POST went out; its answer never came back
    assert calls == [(0, None, RESET)]
    assert drive.step == Sleep(0.25)
    drive.send(None)
    drive.request("GET", "/api/queue")
    drive.send(queue)

    assert drive.done
    assert drive.result == PromptResponse(prompt_id=prompt_id, number=number)
    posts = [s for s in drive.steps if isinstance(s, Request) and s.method == "POST"]
    assert len(posts) == 1  # never queued twice
    assert prompt_id in tracker.tracked


def test_reset_after_it_already_ran_finds_it_in_the_history() -> None:
    workflow, prompt_id, _ = recorded_submit("interrupted")
    _, history = recorded("interrupted", "GET", f"/history/{prompt_id}")
    policy, _ = fixed(0.5)
    drive = Drive(submit_flow(workflow, prompt_id=prompt_id, client_id="c1", retry=policy))

    drive.request("POST", "/api/prompt")
    drive.throw(RESET)
    assert drive.step == Sleep(0.5)
    drive.send(None)
    drive.request("GET", "/api/queue")
    drive.send(EMPTY_QUEUE)
    drive.request("GET", f"/api/history/{prompt_id}")
    drive.send(history)

    assert drive.done
    assert drive.result == PromptResponse(prompt_id=prompt_id, number=19)
    assert sum(isinstance(s, Request) and s.method == "POST" for s in drive.steps) == 1


def test_reset_before_the_server_saw_it_submits_the_same_request_once_more() -> None:
    workflow, prompt_id, answer = recorded_submit("success")
    policy, calls = fixed(0.5)
    drive = Drive(submit_flow(workflow, prompt_id=prompt_id, client_id="c1", retry=policy))

    first = drive.request("POST", "/api/prompt")
    drive.throw(RESET)
    drive.send(None)  # the Sleep
    drive.request("GET", "/api/queue")
    drive.send(EMPTY_QUEUE)
    drive.request("GET", f"/api/history/{prompt_id}")
    drive.send(NO_HISTORY)
    second = drive.request("POST", "/api/prompt")
    assert second == first  # same body, same client-minted prompt id
    drive.send(answer)

    assert drive.result == PromptResponse(prompt_id=prompt_id, number=0)
    assert [type(s).__name__ for s in drive.steps] == [
        "Request", "Sleep", "Request", "Request", "Request"
    ]  # fmt: skip
    assert len(calls) == 1


def test_429_sleeps_the_retry_after_the_server_asked_for() -> None:
    workflow, prompt_id, answer = recorded_submit("success")
    plugin = RetryPlugin(rng=random.Random(0))
    seen: list[tuple[int, int | None]] = []

    def policy(attempt: int, response: Response | None, error: Exception | None) -> float | None:
        seen.append((attempt, response.status if response is not None else None))
        return plugin.comfy_retry_delay(
            request=Request(method="POST", path="/api/prompt"),
            attempt=attempt,
            elapsed=0.0,
            response=response,
            error=error,
            idempotent=True,
        )

    busy = Response(
        status=429,
        headers=(("content-type", "text/plain; charset=utf-8"), ("retry-after", "7")),
        body=b"429: Too Many Requests",
    )
    drive = Drive(submit_flow(workflow, prompt_id=prompt_id, client_id="c1", retry=policy))
    drive.request("POST", "/api/prompt")
    drive.send(busy)

    assert drive.step == Sleep(7.0)  # the server's delay, not the jittered backoff
    drive.send(None)
    # A 429 may come from a proxy that passed the POST on: look before sending it again.
    drive.request("GET", "/api/queue")
    drive.send(EMPTY_QUEUE)
    drive.request("GET", f"/api/history/{prompt_id}")
    drive.send(NO_HISTORY)
    drive.request("POST", "/api/prompt")
    drive.send(answer)

    assert drive.result == PromptResponse(prompt_id=prompt_id, number=0)
    assert seen == [(0, 429)]


def test_a_failing_check_counts_as_one_more_attempt() -> None:
    workflow, prompt_id, answer = recorded_submit("success")
    policy, calls = fixed(0.1, 0.2)
    drive = Drive(submit_flow(workflow, prompt_id=prompt_id, client_id="c1", retry=policy))

    drive.request("POST", "/api/prompt")
    drive.throw(RESET)
    assert drive.step == Sleep(0.1)
    drive.send(None)
    drive.request("GET", "/api/queue")
    drive.throw(RESET)  # the check itself fails: it cannot say, so wait and check again
    assert drive.step == Sleep(0.2)
    attempt, response, error = calls[1]
    assert (attempt, response) == (1, None)
    assert isinstance(error, TransportError)
    assert str(error) == f"cannot check for prompt {prompt_id}: connection reset by peer"
    drive.send(None)
    drive.request("GET", "/api/queue")
    drive.send(EMPTY_QUEUE)
    drive.request("GET", f"/api/history/{prompt_id}")
    drive.send(NO_HISTORY)
    drive.request("POST", "/api/prompt")
    drive.send(answer)
    assert drive.result.prompt_id == prompt_id


def test_giving_up_after_a_reset_raises_the_transport_error_and_unregisters() -> None:
    workflow, prompt_id, _ = recorded_submit("success")
    policy, calls = fixed(0.1, None)
    tracker = PromptTracker()
    drive = Drive(
        submit_flow(workflow, prompt_id=prompt_id, client_id="c1", tracker=tracker, retry=policy)
    )

    drive.request("POST", "/api/prompt")
    drive.throw(RESET)
    drive.send(None)
    drive.request("GET", "/api/queue")
    drive.send(EMPTY_QUEUE)
    drive.request("GET", f"/api/history/{prompt_id}")
    drive.send(NO_HISTORY)
    drive.request("POST", "/api/prompt")
    with pytest.raises(NetworkError) as caught:
        drive.throw(RESET)
    assert caught.value is RESET
    assert [attempt for attempt, _, _ in calls] == [0, 1]
    assert tracker.tracked == frozenset()


def test_giving_up_on_a_5xx_raises_its_status() -> None:
    # The server's real answer to a prompt it cannot read (a list): plain-text 500.
    _, server_error = recorded("validation_error", "POST", "/prompt", index=12)
    assert server_error.status == 500
    workflow, prompt_id, _ = recorded_submit("success")
    policy, calls = fixed(0.1, 0.1, None)
    tracker = PromptTracker()
    drive = Drive(
        submit_flow(workflow, prompt_id=prompt_id, client_id="c1", tracker=tracker, retry=policy)
    )
    for _ in range(2):
        drive.request("POST", "/api/prompt")
        drive.send(server_error)
        assert isinstance(drive.step, Sleep)
        drive.send(None)
        drive.request("GET", "/api/queue")
        drive.send(EMPTY_QUEUE)
        drive.request("GET", f"/api/history/{prompt_id}")
        drive.send(NO_HISTORY)
    drive.request("POST", "/api/prompt")
    with pytest.raises(HTTPStatusError) as caught:
        drive.send(server_error)
    assert caught.value.status == 500
    assert [(a, r.status if r else None) for a, r, _ in calls] == [(0, 500), (1, 500), (2, 500)]
    assert tracker.tracked == frozenset()


def test_without_a_retry_policy_a_reset_is_raised_at_once() -> None:
    workflow, prompt_id, _ = recorded_submit("success")
    drive = Drive(submit_flow(workflow, prompt_id=prompt_id, client_id="c1"))
    drive.request("POST", "/api/prompt")
    with pytest.raises(NetworkError):
        drive.throw(RESET)
    assert len(drive.steps) == 1


# -- result ----------------------------------------------------------------------------


def test_fetch_result_reads_the_history_once() -> None:
    _, prompt_id, _ = recorded_submit("success")
    _, history = recorded("success", "GET", f"/history/{prompt_id}")
    drive = Drive(fetch_result_flow(prompt_id))
    drive.request("GET", f"/api/history/{prompt_id}")
    drive.send(history)
    assert drive.done
    assert drive.result.prompt_id == prompt_id
    assert [(f.node_id, f.filename) for f in drive.result.files] == [
        ("2", "sdk_success_00001_.png")
    ]


def test_fetch_result_of_a_failed_prompt_raises_its_error() -> None:
    _, prompt_id, _ = recorded_submit("execution_error")
    _, history = recorded("execution_error", "GET", f"/history/{prompt_id}")
    drive = Drive(fetch_result_flow(prompt_id))
    with pytest.raises(NodeExecutionError) as caught:
        drive.send(history)
    assert caught.value.prompt_id == prompt_id


def test_fetch_result_of_a_running_prompt_says_so() -> None:
    _, prompt_id, _ = recorded_submit("queue_ops", 0)
    _, queue = recorded("queue_ops", "GET", "/queue")
    drive = Drive(fetch_result_flow(prompt_id))
    drive.send(NO_HISTORY)
    drive.request("GET", "/api/queue")
    with pytest.raises(PromptNotFinishedError) as caught:
        drive.send(queue)
    assert caught.value.state == "running"


def test_fetch_result_gives_up_with_doubling_waits() -> None:
    prompt_id = "d467af04-4e17-4734-a1ad-13d59e24f3a9"  # deleted from the queue: never ran
    drive = Drive(fetch_result_flow(prompt_id, attempts=3, retry_delay=0.1))
    drive.send(NO_HISTORY)
    drive.send(EMPTY_QUEUE)
    sleeps = []
    for _ in range(2):
        assert isinstance(drive.step, Sleep)
        sleeps.append(drive.step.seconds)
        drive.send(None)
        drive.request("GET", f"/api/history/{prompt_id}")
        drive.send(NO_HISTORY)
    assert isinstance(drive.step, Sleep)
    sleeps.append(drive.step.seconds)
    with pytest.raises(PromptLostError):
        drive.send(None)
    assert sleeps == pytest.approx([0.1, 0.2, 0.4])
    assert sum(s.path == "/api/queue" for s in drive.steps if isinstance(s, Request)) == 1


# -- cancel ----------------------------------------------------------------------------


def test_cancel_a_running_prompt_interrupts_it_by_id() -> None:
    _, prompt_id, _ = recorded_submit("queue_ops", 0)
    _, queue = recorded("queue_ops", "GET", "/queue")
    _, interrupted = recorded("queue_ops", "POST", "/interrupt")
    drive = Drive(api.cancel(prompt_id))
    drive.request("GET", "/api/queue")
    drive.send(queue)
    interrupt = drive.request("POST", "/api/interrupt")
    assert json.loads(interrupt.body) == {"prompt_id": prompt_id}
    drive.send(interrupted)
    assert drive.result is api.CancelOutcome.INTERRUPTED


def test_cancel_a_pending_prompt_deletes_it_and_checks_it_is_gone() -> None:
    prompt_id = "121e763e-33d2-43db-97a4-78270340a819"  # the one the recording deleted
    _, before = recorded("queue_ops", "GET", "/queue", index=0)
    _, deleted = recorded("queue_ops", "POST", "/queue", index=0)
    _, after = recorded("queue_ops", "GET", "/queue", index=1)
    drive = Drive(api.cancel(prompt_id))
    drive.send(before)
    delete = drive.request("POST", "/api/queue")
    assert json.loads(delete.body) == {"delete": [prompt_id]}
    drive.send(deleted)
    drive.request("GET", "/api/queue")
    drive.send(after)
    assert drive.result is api.CancelOutcome.DELETED
    assert not any(isinstance(s, Request) and s.path == "/api/interrupt" for s in drive.steps)


def test_cancel_a_pending_prompt_that_started_meanwhile_interrupts_it() -> None:
    prompt_id = "0af2f90e-15a4-4f01-b98a-efd324dba357"
    _, running = recorded("queue_ops", "GET", "/queue", index=0)
    body = json.loads(running.body)
    # The same queue a moment earlier: the prompt still pending, another one running.
    body["queue_pending"].append(body["queue_running"].pop())
    pending = Response(status=200, headers=running.headers, body=json.dumps(body).encode())
    _, empty_answer = recorded("queue_ops", "POST", "/queue", index=0)
    drive = Drive(api.cancel(prompt_id))
    drive.send(pending)
    drive.request("POST", "/api/queue")
    drive.send(empty_answer)
    drive.request("GET", "/api/queue")
    drive.send(running)  # the delete came too late: it is running now
    drive.request("GET", "/api/queue")
    drive.send(running)
    drive.request("POST", "/api/interrupt")
    drive.send(empty_answer)
    assert drive.result is api.CancelOutcome.INTERRUPTED


@pytest.mark.parametrize(
    ("history_of", "outcome"),
    [
        ("f0d23cef-2e4f-4a24-944a-b9d9bf4896c9", api.CancelOutcome.FINISHED),
        ("d467af04-4e17-4734-a1ad-13d59e24f3a9", api.CancelOutcome.UNKNOWN),
    ],
)
def test_cancel_a_prompt_not_in_the_queue_reports_whether_it_finished(
    history_of: str, outcome: api.CancelOutcome
) -> None:
    name = "interrupted" if outcome is api.CancelOutcome.FINISHED else "queue_ops"
    _, history = recorded(name, "GET", f"/history/{history_of}")
    drive = Drive(api.cancel(history_of))
    drive.send(EMPTY_QUEUE)
    drive.request("GET", f"/api/history/{history_of}")
    drive.send(history)
    assert drive.result is outcome
    assert not any(isinstance(s, Request) and s.method == "POST" for s in drive.steps)


def test_interrupt_without_an_id_sends_an_empty_object() -> None:
    _, answer = recorded("interrupted", "POST", "/interrupt")
    drive = Drive(api.interrupt())
    request = drive.request("POST", "/api/interrupt")
    assert json.loads(request.body) == {}
    drive.send(answer)
    assert drive.done and drive.result is None


# -- download --------------------------------------------------------------------------

PNG = OutputFile(node_id="2", kind="images", filename="sdk_success_00001_.png")


def test_download_asks_for_the_file_as_it_is_and_returns_its_bytes() -> None:
    record, answer = recorded("success", "GET", "/view")
    body = b"\x89PNG\r\n\x1a\n" + bytes(record["bytes_len"] - 8)  # bytes are not recorded
    drive = Drive(download_flow(PNG, max_size=1 << 20))
    request = drive.request("GET", "/api/view")
    assert request.params == (("filename", "sdk_success_00001_.png"), ("type", "output"))
    assert request.headers == (("accept-encoding", "identity"),)
    assert request.max_body == 1 << 20
    drive.send(Response(status=200, headers=answer.headers, body=body))
    assert drive.result == body


def test_download_refuses_a_redirect_and_redacts_where_it_pointed() -> None:
    drive = Drive(download_flow(PNG))
    drive.request("GET", "/api/view")
    moved = Response(
        status=302,
        headers=(("location", "http://user:secret@elsewhere/x.png?token=abc"),),
        body=b"302: Found",
    )
    with pytest.raises(HTTPStatusError) as caught:
        drive.send(moved)
    assert caught.value.status == 302
    assert "not followed" in str(caught.value)
    assert "elsewhere" in str(caught.value)
    assert "secret" not in str(caught.value) and "abc" not in str(caught.value)


def test_download_of_a_missing_file_is_its_404() -> None:
    _, missing = recorded("upload_then_load", "GET", "/view", index=2)  # nope.png
    drive = Drive(download_flow(OutputFile(node_id="9", kind="images", filename="nope.png")))
    with pytest.raises(HTTPStatusError) as caught:
        drive.send(missing)
    assert caught.value.status == 404


def test_download_past_its_bound_raises_what_the_transport_raised() -> None:
    drive = Drive(download_flow(PNG, max_size=100))
    assert drive.request("GET", "/api/view").max_body == 100
    too_large = BodyTooLarge("the body passed 100 bytes", limit=100)
    with pytest.raises(BodyTooLarge) as caught:
        drive.throw(too_large)
    assert caught.value is too_large and caught.value.limit == 100
    assert len(drive.steps) == 1  # not asked again: the file is as large next time
