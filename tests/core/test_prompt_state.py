"""The prompt state machine, every (state, trigger) pair against a table written out here.

The expected table is typed by hand from the protocol (see the diagram in
comfy_core/prompt_state.py), not derived from ``TRANSITIONS``: a change to the
machine has to change this table too.
"""

from __future__ import annotations

import pytest

from comfy_core.prompt_state import TRANSITIONS, PromptState, Trigger, next_state

S = PromptState
T = Trigger

# Columns, in this order, for every row below.
COLUMNS = (
    T.ACCEPTED,
    T.STARTED,
    T.SUCCESS_HINT,
    T.FAILURE_HINT,
    T.DONE,
    T.DONE_UNSURE,
    T.LEFT_QUEUE,
    T.HISTORY_SUCCESS,
    T.HISTORY_FAILURE,
    T.LOST,
)
# The cells, by state: "__" where the trigger changes nothing (next_state gives None).
SUB, QUE, RUN, SNG, FNG, FET, OK, KO = (
    S.SUBMITTED, S.QUEUED, S.RUNNING, S.SUCCEEDING, S.FAILING, S.FETCHING, S.SUCCEEDED, S.FAILED
)  # fmt: skip
__: PromptState | None = None

# fmt: off
EXPECTED: dict[PromptState, tuple[PromptState | None, ...]] = {
    #      ACCEPTED STARTED SUCCESS_H FAILURE_H DONE DONE_UNSURE LEFT_Q HIST_OK HIST_KO LOST
    SUB: (QUE,     RUN,    SNG,      FNG,      FET, FET,        __,    __,     __,     __),
    QUE: (__,      RUN,    SNG,      FNG,      FET, FET,        FET,   OK,     KO,     __),
    RUN: (__,      __,     SNG,      FNG,      FET, FET,        FET,   OK,     KO,     __),
    SNG: (__,      __,     __,       __,       OK,  FET,        FET,   OK,     KO,     __),
    FNG: (__,      __,     __,       __,       KO,  KO,         FET,   OK,     KO,     __),
    FET: (__,      __,     __,       __,       __,  __,         __,    OK,     KO,     KO),
    OK:  (__,      __,     __,       __,       __,  __,         __,    __,     __,     __),
    KO:  (__,      __,     __,       __,       __,  __,         __,    __,     __,     __),
}
# fmt: on

CASES = [
    pytest.param(state, trigger, row[i], id=f"{state.name}-{trigger.name}")
    for state, row in EXPECTED.items()
    for i, trigger in enumerate(COLUMNS)
]


def test_the_table_covers_every_state_and_every_trigger() -> None:
    assert set(EXPECTED) == set(PromptState)
    assert set(COLUMNS) == set(Trigger) and len(COLUMNS) == len(Trigger)
    assert all(len(row) == len(COLUMNS) for row in EXPECTED.values())
    assert len(CASES) == len(PromptState) * len(Trigger) == 80


@pytest.mark.parametrize(("state", "trigger", "expected"), CASES)
def test_transition(state: PromptState, trigger: Trigger, expected: PromptState | None) -> None:
    assert next_state(state, trigger) is expected


def test_the_machine_has_no_pair_the_table_does_not_list() -> None:
    listed = {
        (state, trigger): row[i]
        for state, row in EXPECTED.items()
        for i, trigger in enumerate(COLUMNS)
        if row[i] is not None
    }
    assert listed == TRANSITIONS


@pytest.mark.parametrize("state", [S.SUCCEEDED, S.FAILED])
def test_final_states_accept_nothing(state: PromptState) -> None:
    assert state.is_final
    assert [next_state(state, trigger) for trigger in Trigger] == [None] * len(Trigger)
    assert not [pair for pair in TRANSITIONS if pair[0] is state]


def test_only_succeeded_and_failed_are_final() -> None:
    assert {state for state in PromptState if state.is_final} == {S.SUCCEEDED, S.FAILED}


def test_no_transition_stays_in_place() -> None:
    # A trigger that changes nothing is absent (None), never a pair that maps a state to itself.
    assert [pair for pair, target in TRANSITIONS.items() if pair[0] is target] == []


def test_every_state_can_reach_a_final_state() -> None:
    reachable = {S.SUCCEEDED, S.FAILED}
    changed = True
    while changed:
        changed = False
        for state, row in EXPECTED.items():
            if state not in reachable and any(target in reachable for target in row):
                reachable.add(state)
                changed = True
    assert reachable == set(PromptState)
