"""The batch ledger: one SQLite file recording where each prompt of a batch stands.

A batch (hundreds of parameter rows run overnight) keeps its ledger in its
output folder, ``ledger.sqlite``. Every change of an item's state is one
committed transaction, so a client that crashes and is started again reads
exactly what had been recorded and carries on: items ``done`` are not run
again, items ``queued`` are checked with their server, the rest are run.

States and the transitions between them (each a method)::

    queued    pending           -> queued   server, prompt id, attempts + 1, the time
    done      queued            -> done     the output files, the seconds it took
    failed    pending or queued -> failed   the error text
    requeue   queued or failed  -> pending  attempts and the last error kept

``pending -> failed`` is for a prompt that can never be queued (its row does
not render, the server refuses it); ``queued -> pending`` for a prompt the
server lost; ``failed -> pending`` for a rerun that retries failures.

The file is in WAL mode, so readers never block the writer and another
process can open it while this one has it open. One :class:`Ledger` may be
used from several threads (a lock serialises its statements) and from an
asyncio program (every call is a short local transaction).
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePath
from types import TracebackType
from typing import Any

from comfy_core.errors import (
    InvalidArgument,
    InvalidArgumentType,
    LocalProtocolError,
    NameNotFound,
    StorageError,
)

__all__ = ["ITEM_STATES", "Ledger", "LedgerItem", "LedgerMismatch", "fingerprint"]

ITEM_STATES = ("pending", "queued", "done", "failed")
SCHEMA_VERSION = 1

# Which states each transition leaves from, and where it goes.
_TRANSITIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "queued": (("pending",), "queued"),
    "done": (("queued",), "done"),
    "failed": (("pending", "queued"), "failed"),
    "requeue": (("queued", "failed"), "pending"),
}

_SCHEMA = f"""
CREATE TABLE items (
    idx INTEGER PRIMARY KEY,
    key TEXT NOT NULL,
    prompt TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN {ITEM_STATES!r}),
    server TEXT,
    prompt_id TEXT,
    files TEXT NOT NULL DEFAULT '[]',
    error TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    queued_at REAL,
    seconds REAL
);
PRAGMA user_version = {SCHEMA_VERSION};
"""
_COLUMNS = "idx, key, prompt, state, server, prompt_id, files, error, attempts, seconds"


@dataclass(frozen=True, slots=True)
class LedgerItem:
    """One prompt of a batch and where it stands.

    ``files`` are the output file names relative to the ledger's folder (empty
    until done); ``error`` is the last failure's text, kept until the item is
    done; ``attempts`` counts how many times it was queued; ``seconds`` is the
    time from queued to done.
    """

    index: int
    key: str
    prompt: dict[str, Any]
    state: str
    server: str | None
    prompt_id: str | None
    files: tuple[str, ...]
    error: str | None
    attempts: int
    seconds: float | None


class LedgerMismatch(InvalidArgument):
    """The folder's ledger records a different batch than the one given.

    ``index`` is the first item whose prompt differs, None when the counts do.
    """

    def __init__(self, message: str, *, index: int | None = None) -> None:
        self.index = index
        super().__init__(message)


def _canonical(prompt: Mapping[str, Any]) -> str:
    return json.dumps(prompt, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def fingerprint(prompt: Mapping[str, Any]) -> str:
    """The SHA-256 (hex) of ``prompt`` as canonical JSON: keys sorted, compact
    separators, non-ASCII kept; equal prompts have equal fingerprints whatever
    the order of their keys. Raises InvalidArgumentType for a non-JSON value."""
    try:
        text = _canonical(prompt)
    except (TypeError, ValueError) as exc:
        raise InvalidArgumentType(f"a prompt must be JSON data: {exc}") from exc
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class Ledger:
    """The ledger of the batch whose output folder is ``folder`` (see the module doc).

    Open it with :meth:`open`; close it with :meth:`close` or a ``with`` block.
    """

    FILENAME = "ledger.sqlite"

    folder: Path
    path: Path

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        """Open (creating the folder and the schema if absent) the ledger in ``folder``."""
        self.folder = Path(folder)
        self.path = self.folder / self.FILENAME
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            # isolation_level=None: no implicit transactions; each change opens its own
            # with BEGIN IMMEDIATE, taking the write lock before it reads what it checks.
            conn = sqlite3.connect(
                self.path, timeout=30.0, isolation_level=None, check_same_thread=False
            )
        except (OSError, sqlite3.Error) as exc:
            raise StorageError(f"cannot open the ledger {str(self.path)!r}: {exc}") from exc
        self._conn = conn
        try:
            with self._statement():
                conn.execute("PRAGMA journal_mode = WAL")
                # NORMAL in WAL mode: a power cut may lose the last commits, never the file.
                conn.execute("PRAGMA synchronous = NORMAL")
            with self._transaction() as db:
                version = db.execute("PRAGMA user_version").fetchone()[0]
                if version == 0:
                    _create(db)
                elif version != SCHEMA_VERSION:
                    raise InvalidArgument(
                        f"{str(self.path)!r} is a ledger of schema version {version}; this "
                        f"SDK reads version {SCHEMA_VERSION}: use the SDK that wrote it, "
                        "or another folder"
                    )
        except BaseException:
            conn.close()
            self._conn = None
            raise

    @classmethod
    def open(cls, folder: str | os.PathLike[str]) -> Ledger:
        """The ledger in ``folder``, created with the folder if absent."""
        return cls(folder)

    # -- the batch --------------------------------------------------------------------

    def prepare(self, prompts: Sequence[Mapping[str, Any]]) -> None:
        """Record the batch ``prompts``, one pending item per prompt at its position.

        A ledger that holds items already must hold this batch: the same number
        of prompts with the same fingerprint at each index; otherwise
        :class:`LedgerMismatch` names the first differing index (or the counts)
        and nothing changes. Preparing the same batch again changes nothing.
        """
        rows = [(i, fingerprint(p), _canonical(p)) for i, p in enumerate(prompts)]
        with self._transaction() as db:
            keys = [k for (k,) in db.execute("SELECT key FROM items ORDER BY idx")]
            if not keys:
                db.executemany(
                    "INSERT INTO items (idx, key, prompt, state) VALUES (?, ?, ?, 'pending')",
                    rows,
                )
                return
            where = f"{str(self.folder)!r} holds a different batch"
            advice = "use another folder for a new batch"
            if len(keys) != len(rows):
                raise LedgerMismatch(f"{where}: {len(keys)} prompts, not {len(rows)}; {advice}")
            for (index, key, _), recorded in zip(rows, keys, strict=True):
                if key != recorded:
                    raise LedgerMismatch(
                        f"{where}: prompt {index} differs from the one recorded; {advice}",
                        index=index,
                    )

    def items(self, *states: str) -> list[LedgerItem]:
        """The items in one of ``states`` (every item when none is given), by index."""
        for state in states:
            _check_state(state)
        query = f"SELECT {_COLUMNS} FROM items"
        if states:
            query += f" WHERE state IN ({', '.join('?' for _ in states)})"
        with self._statement() as db:
            found = db.execute(query + " ORDER BY idx", states).fetchall()
        return [_item(row) for row in found]

    def item(self, index: int) -> LedgerItem:
        """The item at ``index``; NameNotFound when the batch has none there."""
        _check_index(index)
        with self._statement() as db:
            row = db.execute(f"SELECT {_COLUMNS} FROM items WHERE idx = ?", (index,)).fetchone()
            if row is None:
                raise self._no_item(db, index)
        return _item(row)

    def counts(self) -> dict[str, int]:
        """How many items are in each state; every state is a key, 0 when none."""
        with self._statement() as db:
            found = dict(db.execute("SELECT state, COUNT(*) FROM items GROUP BY state"))
        return {state: int(found.get(state, 0)) for state in ITEM_STATES}

    # -- transitions ---------------------------------------------------------------------

    def queued(self, index: int, server: str, prompt_id: str) -> None:
        """Item ``index`` (pending) was queued on ``server`` as ``prompt_id``;
        counts an attempt and records the time."""
        self._move(
            index,
            "queued",
            "server = ?, prompt_id = ?, attempts = attempts + 1, queued_at = ?",
            (server, prompt_id, time.time()),
        )

    def done(self, index: int, files: Sequence[str]) -> None:
        """Item ``index`` (queued) finished with ``files`` (relative to the folder);
        ``seconds`` is the time since it was queued."""
        if isinstance(files, str):
            raise InvalidArgumentType("files is a sequence of file names, not one str")
        names = list(files)
        for name in names:
            if not isinstance(name, str):
                raise InvalidArgumentType(f"a file name is a str, not {type(name).__name__}")
            if PurePath(name).is_absolute():
                raise InvalidArgument(
                    f"output file {name!r} must be relative to the ledger's folder"
                )
        self._move(
            index,
            "done",
            "files = ?, error = NULL, seconds = max(0.0, ? - queued_at)",
            (json.dumps(names, ensure_ascii=False), time.time()),
        )

    def failed(self, index: int, error: str) -> None:
        """Item ``index`` (pending or queued) failed with ``error``, stored as given."""
        self._move(index, "failed", "error = ?", (str(error),))

    def requeue(self, index: int) -> None:
        """Item ``index`` (queued or failed) goes back to pending; attempts are kept."""
        self._move(index, "requeue", "queued_at = NULL, seconds = NULL", ())

    # -- life ------------------------------------------------------------------------------

    def close(self) -> None:
        """Close the file; later calls raise. Closing twice is allowed."""
        with self._lock:
            conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        if self._conn is None:
            return f"<Ledger {str(self.path)!r} closed>"
        try:
            counts = " ".join(f"{state}={n}" for state, n in self.counts().items())
        except StorageError:
            counts = "unreadable"
        return f"<Ledger {str(self.path)!r} {counts}>"

    # -- helpers ---------------------------------------------------------------------------

    def _move(self, index: int, transition: str, changes: str, args: tuple[Any, ...]) -> None:
        _check_index(index)
        sources, target = _TRANSITIONS[transition]
        with self._transaction() as db:
            row = db.execute("SELECT state FROM items WHERE idx = ?", (index,)).fetchone()
            if row is None:
                raise self._no_item(db, index)
            if row[0] not in sources:
                raise InvalidArgument(
                    f"ledger item {index} is {row[0]}: it cannot take the transition "
                    f"{transition} ({row[0]} -> {target}); {transition} is allowed from "
                    f"{' or '.join(sources)}"
                )
            db.execute(
                f"UPDATE items SET state = ?, {changes} WHERE idx = ?", (target, *args, index)
            )

    def _no_item(self, db: sqlite3.Connection, index: int) -> NameNotFound:
        (count,) = db.execute("SELECT COUNT(*) FROM items").fetchone()
        return NameNotFound(
            f"the ledger {str(self.path)!r} has no item {index!r} (it holds 0..{count - 1})"
            if count
            else f"the ledger {str(self.path)!r} has no item {index!r} (it holds none)"
        )

    @contextmanager
    def _statement(self) -> Iterator[sqlite3.Connection]:
        """The connection, under the lock, its errors raised as StorageError."""
        with self._lock:
            conn = self._conn
            if conn is None:
                raise LocalProtocolError(f"the ledger {str(self.path)!r} is closed")
            try:
                yield conn
            except sqlite3.Error as exc:
                raise StorageError(f"ledger {str(self.path)!r}: {exc}") from exc

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, committed when the block ends, rolled back if it raises."""
        with self._statement() as conn, conn:
            conn.execute("BEGIN IMMEDIATE")
            yield conn


def _create(db: sqlite3.Connection) -> None:
    # executescript would COMMIT the open transaction first; run the statements
    # one by one so creating the schema is part of the transaction that checked for it.
    for statement in _SCHEMA.split(";"):
        if statement.strip():
            db.execute(statement)


def _check_index(index: int) -> None:
    if not isinstance(index, int) or isinstance(index, bool):
        raise InvalidArgumentType(f"an item index is an int, not {type(index).__name__}")


def _check_state(state: str) -> None:
    if state not in ITEM_STATES:
        raise InvalidArgument(f"{state!r} is not a ledger state (one of {', '.join(ITEM_STATES)})")


def _item(row: tuple[Any, ...]) -> LedgerItem:
    index, key, prompt, state, server, prompt_id, files, error, attempts, seconds = row
    return LedgerItem(
        index=index,
        key=key,
        prompt=json.loads(prompt),
        state=state,
        server=server,
        prompt_id=prompt_id,
        files=tuple(json.loads(files)),
        error=error,
        attempts=attempts,
        seconds=seconds,
    )
