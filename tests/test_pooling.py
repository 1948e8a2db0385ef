"""The pool's decisions, with no server: which attempt settles a job, what is a loss,
how often a job is sent again. (tests/pool runs the same on three real servers.)"""

from __future__ import annotations

import concurrent.futures
import threading
from typing import Any

import pytest

from comfy_api_client.pooling import PoolBase, PoolJob, server_name
from comfy_core.errors import (
    ClientClosedError,
    InvalidArgument,
    NetworkError,
    NodeExecutionError,
    PromptLostError,
)

A, B = "http://a:1", "http://b:2"
NODE_ERROR = NodeExecutionError(
    prompt_id="p",
    node_id="2",
    node_type="ImageScaleBy",
    exception_type="RuntimeError",
    exception_message="too small",
)


class Decisions(PoolBase):
    def __init__(self, **options: Any) -> None:
        super().__init__([A, B], lock=threading.RLock(), **options)
        for name in self.servers:
            self._came_back(name, object(), {})

    def _new_future(self) -> concurrent.futures.Future[Any]:
        return concurrent.futures.Future()

    def _notify(self) -> None:
        pass


def job_of(pool: Decisions) -> PoolJob:
    return pool._new_job({"1": {"class_type": "X", "inputs": {}}}, None, {}, None, None)


def failed(error: BaseException) -> concurrent.futures.Future[Any]:
    future: concurrent.futures.Future[Any] = concurrent.futures.Future()
    future.set_exception(error)
    return future


def lost() -> concurrent.futures.Future[Any]:
    return failed(PromptLostError(prompt_id="p", reason="restarted"))


def test_a_loss_is_sent_again_once_then_the_job_fails_naming_the_losses() -> None:
    pool = Decisions(max_requeues=1)
    job = job_of(pool)
    first = pool._attempt(job, A)
    assert pool._settled(job, first, lost()) is True  # the caller sends it again
    second = pool._attempt(job, B)
    assert pool._settled(job, first, lost()) is False  # an old attempt decides nothing
    assert not job.future.done()
    assert pool._settled(job, second, lost()) is False
    with pytest.raises(PromptLostError, match=r"lost 2 times, last by http://b:2"):
        job.future.result(0)
    assert [s.in_flight for s in pool.router.servers.values()] == [0, 0]


def test_what_counts_as_a_loss() -> None:
    pool = Decisions()
    cases = {
        "lost": (lost(), True),
        "network": (failed(NetworkError("reset")), True),
        "node": (failed(NODE_ERROR), False),
        "closed, not by the pool": (failed(ClientClosedError("closed")), False),
    }
    for name, (future, resend) in cases.items():
        job = job_of(pool)
        attempt = pool._attempt(job, A)
        assert pool._settled(job, attempt, future) is resend, name
    job = job_of(pool)
    attempt = pool._attempt(job, A)
    assert pool._went_down(A, pool._clients[A])  # the pool closes A's client as down
    assert pool._settled(job, attempt, failed(ClientClosedError("closed"))) is True


def test_a_finished_or_cancelled_prompt_is_never_sent_again() -> None:
    pool = Decisions()
    job = job_of(pool)
    attempt = pool._attempt(job, A)
    job.finished.add(attempt.prompt_id)  # execution_success was seen
    assert pool._settled(job, attempt, failed(NetworkError("reset while downloading"))) is False
    assert isinstance(job.future.exception(0), NetworkError)
    job = job_of(pool)
    attempt = pool._attempt(job, B)
    job.cancelled = True
    assert pool._settled(job, attempt, lost()) is False


def test_success_settles_and_counts_the_time() -> None:
    pool = Decisions()
    job = job_of(pool)
    attempt = pool._attempt(job, B)
    done: concurrent.futures.Future[Any] = concurrent.futures.Future()
    done.set_result("result")
    assert pool._settled(job, attempt, done) is False
    assert job.future.result(0) == "result"
    status = {s.server: s for s in pool.status()}
    assert status[B].done == 1 and status[B].mean_seconds is not None
    assert pool._job_of(attempt.prompt_id) is job


def test_names_and_arguments() -> None:
    assert server_name("https://user:secret@gpu.example.com:8443/comfy/") == (
        "https://gpu.example.com:8443/comfy"
    )
    with pytest.raises(InvalidArgument, match="twice"):
        Decisions.__mro__[1]([A, A + "/"], lock=threading.RLock())
    with pytest.raises(InvalidArgument):
        Decisions(down_after=0)
    with pytest.raises(InvalidArgument):
        Decisions()._job_of("not-ours")


def test_files_follow_the_prompt() -> None:
    pool = Decisions()
    pool._record_file("shared.png", b"recorded")
    prompt = {"1": {"class_type": "LoadImage", "inputs": {"image": "shared.png"}},
              "2": {"class_type": "LoadImage", "inputs": {"image": "own.png"}}}  # fmt: skip
    job = pool._new_job(prompt, None, {}, {"own.png": b"first"}, None)
    assert pool._files_for(job, A) == {"shared.png": b"recorded", "own.png": b"first"}
    for name in ("shared.png", "own.png"):
        pool._mark_uploaded(job, A, name)
    other = pool._new_job(prompt, None, {}, {"own.png": b"second"}, None)
    # A recorded file goes once per server; a job's own file always (its bytes may differ).
    assert pool._files_for(other, A) == {"own.png": b"second"}
    assert pool._files_for(other, B) == {"shared.png": b"recorded", "own.png": b"second"}
    pool._went_down(A, pool._clients[A])  # a server that comes back may have lost them
    assert "shared.png" in pool._files_for(other, A)
    unused = pool._new_job({"1": {"class_type": "X", "inputs": {}}}, None, {}, None, None)
    assert pool._files_for(unused, B) == {}
