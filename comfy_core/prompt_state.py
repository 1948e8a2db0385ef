"""The life of one tracked prompt: its states and the one table that moves between them.

::

    SUBMITTED --accepted--> QUEUED --started--> RUNNING
        |                      |                   |
        +------ success hint / failure hint -------+--> SUCCEEDING / FAILING
                                                            |  done marker
                                                            v
                                                   SUCCEEDED / FAILED

A done marker without a hint (events were missed), a done marker after a
message of the prompt that could not be read (an output may be missing), or a
queue check that no longer lists the prompt, sends it to FETCHING: its history
decides the outcome.
Pairs missing from the table are ignored on purpose: the server's order varies
(a fast prompt finishes before our POST is answered; a cached node sends
``executed`` without ``executing``), and a stray message must never break a
prompt. SUCCEEDED and FAILED are final.
"""

from __future__ import annotations

from enum import Enum

__all__ = ["TRANSITIONS", "PromptState", "Trigger", "next_state"]


class PromptState(Enum):
    SUBMITTED = "submitted"  # registered; POST /prompt not answered yet
    QUEUED = "queued"  # the server accepted it
    RUNNING = "running"  # execution_start seen
    SUCCEEDING = "succeeding"  # execution_success seen; waiting for the done marker
    FAILING = "failing"  # execution_error or _interrupted seen; waiting for the done marker
    FETCHING = "fetching"  # its history will decide
    SUCCEEDED = "succeeded"
    FAILED = "failed"

    @property
    def is_final(self) -> bool:
        return self in (PromptState.SUCCEEDED, PromptState.FAILED)


class Trigger(Enum):
    ACCEPTED = "accepted"  # 200 from POST /prompt
    STARTED = "started"  # execution_start
    SUCCESS_HINT = "success_hint"  # execution_success
    FAILURE_HINT = "failure_hint"  # execution_error / execution_interrupted
    DONE = "done"  # executing {node: null}: history is written
    DONE_UNSURE = "done_unsure"  # the same, after a message of the prompt we could not read
    LEFT_QUEUE = "left_queue"  # a queue check no longer lists it
    HISTORY_SUCCESS = "history_success"
    HISTORY_FAILURE = "history_failure"
    LOST = "lost"  # no history after every retry


_S = PromptState
_T = Trigger
_ACTIVE = (_S.SUBMITTED, _S.QUEUED, _S.RUNNING)
_WAITING = (_S.QUEUED, _S.RUNNING, _S.SUCCEEDING, _S.FAILING)

TRANSITIONS: dict[tuple[PromptState, Trigger], PromptState] = {
    (_S.SUBMITTED, _T.ACCEPTED): _S.QUEUED,
    (_S.SUBMITTED, _T.STARTED): _S.RUNNING,
    (_S.QUEUED, _T.STARTED): _S.RUNNING,
    **{(s, _T.SUCCESS_HINT): _S.SUCCEEDING for s in _ACTIVE},
    **{(s, _T.FAILURE_HINT): _S.FAILING for s in _ACTIVE},
    (_S.SUCCEEDING, _T.DONE): _S.SUCCEEDED,
    (_S.FAILING, _T.DONE): _S.FAILED,
    **{(s, _T.DONE): _S.FETCHING for s in _ACTIVE},
    **{(s, _T.DONE_UNSURE): _S.FETCHING for s in (*_ACTIVE, _S.SUCCEEDING)},
    (_S.FAILING, _T.DONE_UNSURE): _S.FAILED,
    **{(s, _T.LEFT_QUEUE): _S.FETCHING for s in _WAITING},
    **{(s, _T.HISTORY_SUCCESS): _S.SUCCEEDED for s in (*_WAITING, _S.FETCHING)},
    **{(s, _T.HISTORY_FAILURE): _S.FAILED for s in (*_WAITING, _S.FETCHING)},
    (_S.FETCHING, _T.LOST): _S.FAILED,
}


def next_state(state: PromptState, trigger: Trigger) -> PromptState | None:
    """The state ``trigger`` leads to from ``state``, or None when it changes nothing."""
    return TRANSITIONS.get((state, trigger))
