"""The batch ledger on real SQLite files: lifecycle, persistence, batch identity, threads."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any

import pytest

from comfy_api_client.ledger import (
    ITEM_STATES,
    Ledger,
    LedgerItem,
    LedgerMismatch,
    fingerprint,
)
from comfy_core.errors import (
    ComfyError,
    InvalidArgument,
    InvalidArgumentType,
    LocalProtocolError,
    NameNotFound,
    StorageError,
)

ROOT = Path(__file__).resolve().parents[1]
SERVER = "http://127.0.0.1:8188"


def prompt(seed: int, text: str = "a cat") -> dict[str, Any]:
    return {
        "3": {"class_type": "KSampler", "inputs": {"seed": seed, "model": ["4", 0]}},
        "6": {"class_type": "CLIPTextEncode", "inputs": {"text": text}},
    }


PROMPTS = [prompt(i) for i in range(5)]


@pytest.fixture
def ledger(tmp_path: Path) -> Any:
    with Ledger.open(tmp_path / "batch") as opened:
        opened.prepare(PROMPTS)
        yield opened


# -- fingerprints ----------------------------------------------------------------------


def test_fingerprint_is_canonical_json_sha256() -> None:
    import hashlib

    one = {"b": 1, "a": {"y": "é", "x": [1, 2]}}
    other = {"a": {"x": [1, 2], "y": "é"}, "b": 1}
    text = '{"a":{"x":[1,2],"y":"é"},"b":1}'
    assert fingerprint(one) == fingerprint(other)
    assert fingerprint(one) == hashlib.sha256(text.encode("utf-8")).hexdigest()
    assert fingerprint(prompt(1)) != fingerprint(prompt(2))
    with pytest.raises(InvalidArgumentType, match="JSON"):
        fingerprint({"x": object()})


# -- lifecycle -----------------------------------------------------------------------------


def test_a_new_ledger_holds_one_pending_item_per_prompt(tmp_path: Path) -> None:
    folder = tmp_path / "not" / "yet" / "there"
    with Ledger.open(folder) as ledger:
        assert ledger.folder == folder and ledger.path == folder / Ledger.FILENAME
        assert ledger.path.is_file() and Ledger.FILENAME == "ledger.sqlite"
        assert ledger.items() == [] and ledger.counts() == dict.fromkeys(ITEM_STATES, 0)
        ledger.prepare(PROMPTS)
        items = ledger.items()
    assert [i.index for i in items] == [0, 1, 2, 3, 4]
    first = items[0]
    assert first == LedgerItem(
        index=0,
        key=fingerprint(PROMPTS[0]),
        prompt=PROMPTS[0],
        state="pending",
        server=None,
        prompt_id=None,
        files=(),
        error=None,
        attempts=0,
        seconds=None,
    )


def test_full_lifecycle(ledger: Ledger) -> None:
    ledger.queued(0, SERVER, "p-0")
    queued = ledger.item(0)
    assert (queued.state, queued.server, queued.prompt_id, queued.attempts) == (
        "queued",
        SERVER,
        "p-0",
        1,
    )
    ledger.done(0, ["images/0_00001_.png", "images/0_00002_.png"])
    done = ledger.item(0)
    assert done.state == "done" and done.files == ("images/0_00001_.png", "images/0_00002_.png")
    assert done.seconds is not None and done.seconds >= 0 and done.error is None
    assert done.prompt_id == "p-0" and done.attempts == 1

    # A failure, a rerun that retries it, then success on another server.
    ledger.queued(1, SERVER, "p-1")
    ledger.failed(1, "KSampler: CUDA out of memory")
    failed = ledger.item(1)
    assert failed.state == "failed" and failed.error == "KSampler: CUDA out of memory"
    ledger.requeue(1)
    again = ledger.item(1)
    assert again.state == "pending" and again.attempts == 1 and again.seconds is None
    assert again.error == "KSampler: CUDA out of memory"  # why it is pending again
    ledger.queued(1, "http://127.0.0.1:8189", "p-1b")
    ledger.done(1, [])
    retried = ledger.item(1)
    assert (retried.state, retried.server, retried.attempts, retried.error) == (
        "done",
        "http://127.0.0.1:8189",
        2,
        None,
    )

    # The server lost a prompt: back to pending, the attempt still counted.
    ledger.queued(2, SERVER, "p-2")
    ledger.requeue(2)
    assert ledger.item(2).state == "pending" and ledger.item(2).attempts == 1

    # A prompt that can never be queued fails from pending.
    ledger.failed(3, "parameter 'steps': 'many' is not INT")
    assert ledger.item(3).attempts == 0 and ledger.item(3).state == "failed"

    assert ledger.counts() == {"pending": 2, "queued": 0, "done": 2, "failed": 1}
    assert [i.index for i in ledger.items("pending")] == [2, 4]
    assert [i.index for i in ledger.items("done", "failed")] == [0, 1, 3]
    assert repr(ledger) == (f"<Ledger {str(ledger.path)!r} pending=2 queued=0 done=2 failed=1>")


def test_error_text_is_stored_as_given(ledger: Ledger) -> None:
    text = "line one\nline two: 'quoted' \"and\" ünïcode; DROP TABLE items; --"
    ledger.failed(0, text)
    assert ledger.item(0).error == text
    assert ledger.counts()["pending"] == 4


ILLEGAL = [
    ("pending", "done"),
    ("pending", "requeue"),
    ("queued", "queued"),
    ("done", "queued"),
    ("done", "failed"),
    ("done", "requeue"),
    ("done", "done"),
    ("failed", "queued"),
    ("failed", "done"),
    ("failed", "failed"),
]


def _reach(ledger: Ledger, state: str) -> None:
    if state in ("queued", "done", "failed"):
        ledger.queued(0, SERVER, "p")
    if state == "done":
        ledger.done(0, ["a.png"])
    if state == "failed":
        ledger.failed(0, "boom")


def _apply(ledger: Ledger, transition: str) -> None:
    calls = {
        "queued": lambda: ledger.queued(0, SERVER, "q"),
        "done": lambda: ledger.done(0, ["b.png"]),
        "failed": lambda: ledger.failed(0, "again"),
        "requeue": lambda: ledger.requeue(0),
    }
    calls[transition]()


@pytest.mark.parametrize(("state", "transition"), ILLEGAL)
def test_illegal_transition_names_item_state_and_transition(
    ledger: Ledger, state: str, transition: str
) -> None:
    _reach(ledger, state)
    before = ledger.item(0)
    with pytest.raises(InvalidArgument) as caught:
        _apply(ledger, transition)
    text = str(caught.value)
    assert "item 0" in text and f"is {state}" in text and transition in text
    assert isinstance(caught.value, ValueError) and isinstance(caught.value, ComfyError)
    assert ledger.item(0) == before  # nothing changed


def test_unknown_index_and_state(ledger: Ledger) -> None:
    with pytest.raises(NameNotFound, match=r"no item 5 \(it holds 0\.\.4\)") as caught:
        ledger.item(5)
    assert isinstance(caught.value, KeyError)
    with pytest.raises(NameNotFound):
        ledger.queued(-1, SERVER, "p")
    with pytest.raises(InvalidArgumentType):
        ledger.item("1")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument, match="'running' is not a ledger state"):
        ledger.items("done", "running")


def test_done_takes_relative_file_names(ledger: Ledger, tmp_path: Path) -> None:
    ledger.queued(0, SERVER, "p")
    with pytest.raises(InvalidArgument, match="relative"):
        ledger.done(0, [str(tmp_path / "out.png")])
    with pytest.raises(InvalidArgumentType):
        ledger.done(0, "out.png")
    assert ledger.item(0).state == "queued"


# -- persistence ---------------------------------------------------------------------------


def test_state_survives_close_and_reopen(tmp_path: Path) -> None:
    folder = tmp_path / "batch"
    with Ledger.open(folder) as ledger:
        ledger.prepare(PROMPTS)
        ledger.queued(0, SERVER, "p-0")
        ledger.done(0, ["0.png"])
        ledger.queued(1, SERVER, "p-1")
    with Ledger.open(folder) as again:
        again.prepare(PROMPTS)  # the same batch: nothing changes
        assert again.item(0).files == ("0.png",) and again.item(0).state == "done"
        assert again.item(1).prompt_id == "p-1" and again.item(1).state == "queued"
        assert again.counts() == {"pending": 3, "queued": 1, "done": 1, "failed": 0}


def test_state_survives_a_killed_process(tmp_path: Path) -> None:
    # The child records two transitions and dies without closing anything.
    folder = tmp_path / "batch"
    code = textwrap.dedent(
        f"""
        import os, sys
        sys.path.insert(0, {str(ROOT)!r})
        from comfy_api_client.ledger import Ledger
        ledger = Ledger.open({str(folder)!r})
        ledger.prepare([{{"1": {{"class_type": "A", "inputs": {{"i": i}}}}}} for i in range(3)])
        ledger.queued(0, "http://s", "p-0")
        ledger.done(0, ["0.png"])
        ledger.queued(1, "http://s", "p-1")
        os._exit(9)
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 9, done.stderr
    with Ledger.open(folder) as ledger:
        assert [i.state for i in ledger.items()] == ["done", "queued", "pending"]
        assert ledger.item(1).prompt_id == "p-1"


def test_reopen_while_another_connection_is_open(tmp_path: Path) -> None:
    folder = tmp_path / "batch"
    first = Ledger.open(folder)
    try:
        first.prepare(PROMPTS)
        first.queued(0, SERVER, "p-0")
        with Ledger.open(folder) as second:  # as a restarted client would, the old one alive
            second.prepare(PROMPTS)
            assert second.item(0).state == "queued"
            second.requeue(0)
            second.queued(0, SERVER, "p-0b")
            assert first.item(0).prompt_id == "p-0b" and first.item(0).attempts == 2
            first.done(0, ["0.png"])
            assert second.item(0).state == "done"
    finally:
        first.close()


def test_the_file_is_in_wal_mode_with_schema_version_1(ledger: Ledger) -> None:
    raw = sqlite3.connect(ledger.path)
    try:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert raw.execute("PRAGMA user_version").fetchone()[0] == 1
    finally:
        raw.close()


def test_an_unknown_schema_version_is_refused(tmp_path: Path) -> None:
    with Ledger.open(tmp_path):
        pass
    raw = sqlite3.connect(tmp_path / Ledger.FILENAME)
    raw.execute("PRAGMA user_version = 7")
    raw.close()
    with pytest.raises(InvalidArgument, match=r"schema version 7.*reads version 1"):
        Ledger.open(tmp_path)


def test_a_file_that_is_not_a_database_is_a_storage_error(tmp_path: Path) -> None:
    (tmp_path / Ledger.FILENAME).write_bytes(b"this is not SQLite, " * 100)
    with pytest.raises(StorageError, match=Ledger.FILENAME) as caught:
        Ledger.open(tmp_path)
    assert isinstance(caught.value.__cause__, sqlite3.DatabaseError)


def test_a_closed_ledger_refuses_calls(tmp_path: Path) -> None:
    ledger = Ledger.open(tmp_path)
    ledger.close()
    ledger.close()  # twice is fine
    assert repr(ledger).endswith("closed>")
    with pytest.raises(LocalProtocolError, match="closed"):
        ledger.counts()


# -- batch identity ----------------------------------------------------------------------


def test_prepare_again_with_the_same_batch_changes_nothing(ledger: Ledger) -> None:
    ledger.queued(2, SERVER, "p-2")
    reordered = [{key: p[key] for key in reversed(list(p))} for p in PROMPTS]
    ledger.prepare(reordered)  # key order is no difference
    assert ledger.item(2).state == "queued" and len(ledger.items()) == 5


def test_prepare_a_different_batch_names_the_first_differing_index(ledger: Ledger) -> None:
    changed = list(PROMPTS)
    changed[3] = prompt(3, text="a dog")
    changed[4] = prompt(44)
    with pytest.raises(LedgerMismatch) as caught:
        ledger.prepare(changed)
    err = caught.value
    assert err.index == 3 and "prompt 3 differs" in str(err)
    assert "another folder" in str(err) and str(ledger.folder) in str(err)
    assert isinstance(err, InvalidArgument) and isinstance(err, ValueError)
    with pytest.raises(LedgerMismatch, match="5 prompts, not 6") as counted:
        ledger.prepare([*PROMPTS, prompt(5)])
    assert counted.value.index is None
    assert [i.prompt for i in ledger.items()] == PROMPTS  # nothing changed


# -- threads -------------------------------------------------------------------------------


def test_threads_writing_different_items_all_land(tmp_path: Path) -> None:
    threads, per_thread = 8, 25  # two transitions per item: 8 x 50 transitions
    with Ledger.open(tmp_path) as ledger:
        ledger.prepare([prompt(i) for i in range(threads * per_thread)])
        start = threading.Barrier(threads)
        errors: list[BaseException] = []

        def work(t: int) -> None:
            try:
                start.wait()
                for i in range(t * per_thread, (t + 1) * per_thread):
                    ledger.queued(i, f"http://127.0.0.1:{8200 + t}", f"p-{i}")
                    ledger.done(i, [f"{i}.png"])
            except BaseException as exc:  # reported below, in the test's thread
                errors.append(exc)

        workers = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        assert errors == []
        items = ledger.items()
    assert ledger.path.exists()
    assert all(i.state == "done" and i.attempts == 1 for i in items)
    assert [i.files for i in items] == [(f"{i}.png",) for i in range(threads * per_thread)]
    assert {i.server for i in items[:per_thread]} == {"http://127.0.0.1:8200"}
    with Ledger.open(tmp_path) as again:
        assert again.counts()["done"] == threads * per_thread
