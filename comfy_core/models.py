"""Typed views of the server's JSON answers (system stats, queue, prompt receipt).

Each model keeps the original package's field names and adds ``raw``, the JSON
as the server sent it, so nothing the server says is lost when it adds keys.
Readers are lenient: ComfyUI adds and renames keys between versions, and any
number may arrive as an int or a float.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from comfy_core.errors import InvalidArgumentType

__all__ = [
    "DeviceInfo",
    "PromptResponse",
    "prompt_id_of",
    "QueueEntry",
    "QueueState",
    "SystemInfo",
    "SystemStats",
]


def _int(value: Any) -> int | None:
    """``value`` as an int; None for anything else, NaN and infinities included."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return int(value)


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


@dataclass(frozen=True, slots=True, kw_only=True)
class SystemInfo:
    os: str | None = None
    python_version: str | None = None
    embedded_python: bool = False
    comfyui_version: str | None = None
    pytorch_version: str | None = None
    ram_total: int | None = None
    ram_free: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceInfo:
    name: str
    type: str
    index: int | None = None
    vram_total: int | None = None
    vram_free: int | None = None
    torch_vram_total: int | None = None
    torch_vram_free: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SystemStats:
    """``GET /system_stats``. ``system.comfyui_version`` is for logs, not feature checks."""

    system: SystemInfo
    devices: list[DeviceInfo]
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SystemStats:
        system = data.get("system") if isinstance(data.get("system"), Mapping) else {}
        assert isinstance(system, Mapping)
        devices = [d for d in data.get("devices") or [] if isinstance(d, Mapping)]
        return cls(
            system=SystemInfo(
                os=_str(system.get("os")),
                python_version=_str(system.get("python_version")),
                embedded_python=bool(system.get("embedded_python", False)),
                comfyui_version=_str(system.get("comfyui_version")),
                pytorch_version=_str(system.get("pytorch_version")),
                ram_total=_int(system.get("ram_total")),
                ram_free=_int(system.get("ram_free")),
            ),
            devices=[
                DeviceInfo(
                    name=str(d.get("name", "")),
                    type=str(d.get("type", "")),
                    index=_int(d.get("index")),
                    vram_total=_int(d.get("vram_total")),
                    vram_free=_int(d.get("vram_free")),
                    torch_vram_total=_int(d.get("torch_vram_total")),
                    torch_vram_free=_int(d.get("torch_vram_free")),
                )
                for d in devices
            ],
            raw=data,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class QueueEntry:
    """One queue item: ``[number, prompt_id, prompt, extra_data, outputs_to_execute]``."""

    number: float
    prompt_id: str
    prompt: Mapping[str, Any]
    extra_data: Mapping[str, Any]
    outputs_to_execute: list[str]

    @classmethod
    def from_json(cls, item: Any) -> QueueEntry | None:
        """The entry, or None when ``item`` is not a queue item of the known shape."""
        if not isinstance(item, list) or len(item) < 5:
            return None
        number, prompt_id, prompt, extra, outputs = item[:5]
        if _int(number) is None or not isinstance(prompt_id, str):
            return None
        return cls(
            number=float(number),
            prompt_id=prompt_id,
            prompt=prompt if isinstance(prompt, Mapping) else {},
            extra_data=extra if isinstance(extra, Mapping) else {},
            outputs_to_execute=[str(o) for o in outputs] if isinstance(outputs, list) else [],
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class QueueState:
    """``GET /queue``: ``running`` (at most one item) and ``pending`` in run order.

    The server sends pending items as its raw heap array; they are sorted here
    by ``(number, prompt_id)``, the order in which they will run.
    """

    pending: list[QueueEntry]
    running: list[QueueEntry]

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> QueueState:
        def entries(key: str) -> list[QueueEntry]:
            raw = data.get(key) if isinstance(data.get(key), list) else []
            assert isinstance(raw, list)
            return [e for e in map(QueueEntry.from_json, raw) if e is not None]

        pending = sorted(entries("queue_pending"), key=lambda e: (e.number, e.prompt_id))
        return cls(pending=pending, running=entries("queue_running"))

    @property
    def prompt_ids(self) -> frozenset[str]:
        """Every prompt id that is running or pending."""
        return frozenset(e.prompt_id for e in (*self.running, *self.pending))


@dataclass(slots=True, kw_only=True)
class PromptResponse:
    """The server's receipt for a queued prompt (200 from ``POST /prompt``).

    ``node_errors`` is non-empty when some output nodes failed validation and
    were dropped while the rest were queued. The clients return a subclass that
    also carries the prompt's future (``comfy_api_client.Receipt``).
    """

    prompt_id: str
    number: int | float
    node_errors: dict[str, Any] = field(default_factory=dict)


def prompt_id_of(prompt: PromptResponse | str) -> str:
    """The id of a receipt or of an id; :class:`InvalidArgumentType` (a ``TypeError``) for
    anything else."""
    if isinstance(prompt, PromptResponse):
        return prompt.prompt_id
    if isinstance(prompt, str):
        return prompt
    raise InvalidArgumentType(
        f"expected a PromptResponse or a prompt id, not {type(prompt).__name__}"
    )
