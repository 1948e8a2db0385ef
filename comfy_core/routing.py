"""Routing a prompt among several servers: which can run it, which is least loaded.

Sans-I/O: a :class:`Router` is told what happens (a server's status, a prompt sent
or settled, a server lost or back) and answers :meth:`Router.pick`. The pool's
drivers hold no routing logic of their own.

*Capable*: a server can run a prompt when its ``/object_info`` has every node
class the prompt uses and, for each combo input given as a literal (a checkpoint,
a LoRA, a sampler name), that value among its choices. Files the pool uploads
itself are exempt (they are in no server's list until uploaded).

*Least loaded*: the server's ``queue_remaining`` from its last status, plus the
prompts the pool has in flight there; ties go round-robin, so equal servers take
turns. A server at its ``limit`` of prompts in flight is skipped until one settles.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from comfy_core.errors import ComfyError, InvalidArgument, NameNotFound
from comfy_core.schema import NodeSchema

__all__ = ["NoCapableServer", "Router", "ServerState", "missing_on"]

UP, DOWN = "up", "down"


class NoCapableServer(ComfyError):
    """No server of the pool can run the prompt; ``missing`` says what lacks where."""

    def __init__(self, missing: Mapping[str, list[str]]) -> None:
        self.missing = dict(missing)
        parts = [f"{server}: {', '.join(items)}" for server, items in self.missing.items()]
        super().__init__("no server can run this workflow; " + "; ".join(parts))


def _is_link(value: Any) -> bool:
    return isinstance(value, list) and len(value) == 2 and isinstance(value[1], int)


def missing_on(
    prompt: Mapping[str, Any],
    object_info: Mapping[str, NodeSchema],
    exempt: Collection[str] = (),
) -> list[str]:
    """What ``prompt`` (API format) needs that a server with ``object_info`` lacks:
    node classes, and literal combo values not among the input's choices (values in
    ``exempt``, files the caller uploads first, excepted). Empty when it can run it."""
    missing: list[str] = []
    for node_id, node in prompt.items():
        if not isinstance(node, Mapping):
            continue
        cls = str(node.get("class_type"))
        schema = object_info.get(cls)
        if schema is None:
            missing.append(f"node class {cls} (node {node_id})")
            continue
        inputs = node.get("inputs")
        for name, value in inputs.items() if isinstance(inputs, Mapping) else ():
            if _is_link(value) or value in exempt or not isinstance(value, (str, int, float)):
                continue
            spec = next((i for i in schema.inputs if i.name == name), None)
            if spec is not None and spec.choices is not None and value not in spec.choices:
                missing.append(f"{name}={value!r} for node {node_id} ({cls})")
    return missing


@dataclass(slots=True)
class ServerState:
    """What the router knows of one server."""

    name: str
    state: str = UP
    queue_remaining: int = 0
    in_flight: int = 0
    limit: int | None = None
    object_info: Mapping[str, NodeSchema] = field(default_factory=dict, repr=False)
    done: int = 0
    failed: int = 0
    seconds: float = 0.0  # summed over ``done``, for the mean time per prompt

    @property
    def load(self) -> int:
        return self.queue_remaining + self.in_flight

    @property
    def full(self) -> bool:
        return self.limit is not None and self.in_flight >= self.limit


class Router:
    """Least-loaded, capability-aware choice among servers (see the module doc)."""

    def __init__(self, names: Iterable[str], *, limit: int | None = None) -> None:
        if limit is not None and limit < 1:
            raise InvalidArgument(f"the per-server limit must be at least 1, not {limit}")
        self.servers = {name: ServerState(name, state=DOWN, limit=limit) for name in names}
        if not self.servers:
            raise InvalidArgument("a pool needs at least one server URL")
        self._turn = 0  # round-robin position among the tied

    def server(self, name: str) -> ServerState:
        try:
            return self.servers[name]
        except KeyError:
            raise NameNotFound(f"no server {name!r} in this pool") from None

    @property
    def up(self) -> list[str]:
        return [s.name for s in self.servers.values() if s.state == UP]

    def capable(self, prompt: Mapping[str, Any], exempt: Collection[str] = ()) -> list[str]:
        """The servers (up or down) that can run ``prompt``, in pool order.

        :class:`NoCapableServer` when none can; servers never seen up (no
        ``object_info`` yet) count as capable, so a prompt may wait for them."""
        capable, missing = [], {}
        for name, server in self.servers.items():
            lacks = missing_on(prompt, server.object_info, exempt) if server.object_info else []
            if lacks:
                missing[name] = lacks
            else:
                capable.append(name)
        if not capable:
            raise NoCapableServer(missing)
        return capable

    def available(self, candidates: Collection[str]) -> bool:
        """Whether :meth:`pick` would find a server among ``candidates`` now."""
        return any(
            s.state == UP and not s.full for s in self.servers.values() if s.name in candidates
        )

    def pick(self, candidates: Collection[str], exclude: Collection[str] = ()) -> str | None:
        """The least-loaded server among ``candidates`` that is up and not full
        (those in ``exclude`` only when nothing else is); None when none is free now."""
        free = [
            s for s in self.servers.values()
            if s.name in candidates and s.state == UP and not s.full
        ]  # fmt: skip
        preferred = [s for s in free if s.name not in exclude] or free
        if not preferred:
            return None
        least = min(s.load for s in preferred)
        tied = [s.name for s in preferred if s.load == least]
        order = list(self.servers)
        # The first tied server at or after the turn, so equal servers take turns.
        chosen = min(tied, key=lambda n: (order.index(n) - self._turn) % len(order))
        self._turn = (order.index(chosen) + 1) % len(order)
        return chosen

    # -- what happened --------------------------------------------------------------

    def sent(self, name: str) -> None:
        self.server(name).in_flight += 1

    def settled(self, name: str, seconds: float | None = None, *, failed: bool = False) -> None:
        """A prompt sent to ``name`` left it: finished in ``seconds``, failed, or neither
        (``seconds`` None and not failed: withdrawn, lost, moved)."""
        server = self.server(name)
        server.in_flight = max(0, server.in_flight - 1)
        if failed:
            server.failed += 1
        elif seconds is not None:
            server.done += 1
            server.seconds += seconds

    def status(self, name: str, queue_remaining: int) -> None:
        self.server(name).queue_remaining = max(0, queue_remaining)

    def down(self, name: str) -> bool:
        """Mark ``name`` down; True if it was up."""
        server = self.server(name)
        was_up = server.state == UP
        server.state, server.queue_remaining, server.in_flight = DOWN, 0, 0
        return was_up

    def back(self, name: str, object_info: Mapping[str, NodeSchema]) -> None:
        """``name`` answers again (or for the first time), with its node classes."""
        server = self.server(name)
        server.state, server.object_info = UP, object_info
