"""Progress of one prompt, per node and overall, from its events.

ComfyUI reports progress two ways: ``progress`` (a node's progress bar, only
for nodes that have one) and ``progress_state`` (a snapshot of every node that
is not pending, sent at node start, each step and node finish). Cached nodes
are listed once in ``execution_cached``. :class:`ProgressCounter` folds these
into :class:`Progress` reports; ``fraction`` counts finished and cached nodes
plus the running node's share, over the nodes of the workflow.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from comfy_core.events import Event, ExecutionCached, ProgressStateUpdated, ProgressUpdated

__all__ = ["Progress", "ProgressCounter"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Progress:
    """Where a prompt stands: ``node`` at ``value``/``max``, ``nodes_done`` of ``nodes_total``."""

    prompt_id: str
    node: str | None
    value: float
    max: float
    nodes_done: int
    nodes_total: int

    @property
    def fraction(self) -> float:
        """Overall progress from 0.0 to 1.0."""
        if self.nodes_total <= 0:
            return 0.0
        running = self.value / self.max if self.max > 0 and self.node is not None else 0.0
        return min(1.0, (self.nodes_done + running) / self.nodes_total)


@dataclass(slots=True)
class ProgressCounter:
    """Accumulates one prompt's progress; ``update`` returns a report when it changes."""

    prompt_id: str
    nodes_total: int
    done: set[str] = field(default_factory=set)

    def update(self, event: Event) -> Progress | None:
        if event.prompt_id != self.prompt_id:
            return None
        if isinstance(event, ExecutionCached):
            self.done.update(event.nodes)
            return self._report(None, 0.0, 0.0)
        if isinstance(event, ProgressUpdated):
            return self._report(event.node, event.value, event.max)
        if isinstance(event, ProgressStateUpdated):
            running = None
            for node in event.nodes:
                if node.state == "finished":
                    self.done.add(node.display_node_id or node.node_id)
                elif node.state == "running":
                    running = node
            if running is None:
                return self._report(None, 0.0, 0.0)
            return self._report(
                running.display_node_id or running.node_id, running.value, running.max
            )
        return None

    def _report(self, node: str | None, value: float, max_: float) -> Progress:
        return Progress(
            prompt_id=self.prompt_id,
            node=node,
            value=value,
            max=max_,
            nodes_done=len(self.done),
            nodes_total=max(self.nodes_total, len(self.done)),
        )
