"""A batch of rendered prompts run by ``pool.map``: durable with an output folder.

With a folder, every state change goes to the folder's
:class:`~comfy_api_client.ledger.Ledger` before the pool acts on it (an item is
recorded as queued, with its server and prompt id, before it is sent), and each
output is written under a temporary name and then renamed. So a later run of the
same batch knows, for every item, whether it is done (skip it), queued somewhere
(collect or wait for it there) or neither (send it). Without a folder the batch
lives in memory only.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from comfy_api_client.atomic import write_atomic
from comfy_api_client.ledger import Ledger, LedgerItem
from comfy_core.errors import StorageError
from comfy_core.outputs import OutputFile
from comfy_core.results import PromptResult

__all__ = ["Batch", "BatchItem"]


@dataclass(frozen=True, slots=True)
class BatchItem:
    """One finished item of ``pool.map``: ``state`` is ``"done"`` or ``"failed"``."""

    index: int
    state: str
    server: str | None
    prompt_id: str | None
    files: tuple[Path, ...] = ()
    result: PromptResult | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.state == "done"


def _error_text(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"


class Batch:
    """The items of one ``pool.map`` call and, with ``folder``, their ledger."""

    def __init__(self, prompts: Sequence[dict[str, Any]], folder: str | os.PathLike[str] | None):
        self.prompts = list(prompts)
        self.folder = Path(folder) if folder is not None else None
        self.ledger: Ledger | None = None
        self.recovering: list[LedgerItem] = []
        self.skipped = 0
        if self.folder is None:
            self.todo = list(range(len(self.prompts)))
            return
        self.ledger = Ledger.open(self.folder)
        self.ledger.prepare(self.prompts)
        for failed in self.ledger.items("failed"):  # a new run retries failures
            self.ledger.requeue(failed.index)
        self.todo = [item.index for item in self.ledger.items("pending")]
        self.recovering = self.ledger.items("queued")
        self.skipped = self.ledger.counts()["done"]

    def prompt(self, index: int) -> dict[str, Any]:
        return self.prompts[index]

    def queued(self, index: int, server: str, prompt_id: str) -> None:
        """The item is about to be sent to ``server`` as ``prompt_id`` (again, after a loss)."""
        if self.ledger is not None:
            if self.ledger.item(index).state == "queued":
                self.ledger.requeue(index)
            self.ledger.queued(index, server, prompt_id)

    def requeue(self, index: int) -> None:
        if self.ledger is not None:
            self.ledger.requeue(index)

    def done(
        self, index: int, server: str, prompt_id: str | None, result: PromptResult, files: list[str]
    ) -> BatchItem:
        if self.ledger is not None:
            self.ledger.done(index, files)
        paths = tuple(self.folder / name for name in files) if self.folder else ()
        return BatchItem(index, "done", server, prompt_id, paths, result)

    def failed(
        self, index: int, server: str | None, prompt_id: str | None, error: BaseException
    ) -> BatchItem:
        text = _error_text(error)
        if self.ledger is not None:
            self.ledger.failed(index, text)
        return BatchItem(index, "failed", server, prompt_id, error=text)

    # -- output files -------------------------------------------------------------------

    @staticmethod
    def output_name(index: int, ref: OutputFile) -> str:
        """Where an item's output goes in the folder: unique per item, node and file."""
        return f"{index:05d}_{ref.node_id}_{ref.filename}"

    def write(self, name: str, data: bytes) -> Path:
        assert self.folder is not None
        return write_atomic(self.folder / name, data)

    def temp_path(self, name: str) -> Path:
        assert self.folder is not None
        return self.folder / f".{name}.{uuid.uuid4().hex[:8]}.tmp"

    def commit(self, temp: Path, name: str) -> None:
        assert self.folder is not None
        try:
            os.replace(temp, self.folder / name)
        except OSError as exc:
            raise StorageError(f"cannot write {name!r} in the batch folder: {exc}") from exc

    def close(self) -> None:
        if self.ledger is not None:
            self.ledger.close()
