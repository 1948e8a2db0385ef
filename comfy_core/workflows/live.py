"""The live graph's data: nodes, their inputs, widgets and links, as configured.

:mod:`comfy_core.workflows.graph` fills these in from the saved JSON; the
resolution in :mod:`comfy_core.workflows.links` and the export in
:mod:`comfy_core.workflows.convert` read them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from comfy_core.workflows.nodedefs import NodeLayout, WidgetSlot

__all__ = [
    "SUBGRAPH_INPUT_ID",
    "SUBGRAPH_OUTPUT_ID",
    "VIRTUAL_TYPES",
    "Graph",
    "Input",
    "Link",
    "Node",
    "Widget",
]

# Node types the frontend implements in JavaScript only: they never reach the
# prompt. Reroute/PrimitiveNode/Note/MarkdownNote are core; SetNode/GetNode come
# from KJNodes, rgthree's Reroute from rgthree.
VIRTUAL_TYPES = frozenset({"Reroute", "PrimitiveNode", "Note", "MarkdownNote"})
SUBGRAPH_INPUT_ID = -10
SUBGRAPH_OUTPUT_ID = -20


@dataclass(slots=True)
class Link:
    id: int
    origin_id: Any
    origin_slot: int
    target_id: Any
    target_slot: int
    type: Any


@dataclass(slots=True)
class Input:
    name: str
    type: Any
    link: int | None = None
    widget: str | None = None


@dataclass(slots=True)
class Widget:
    slot: WidgetSlot
    value: Any

    @property
    def name(self) -> str:
        return self.slot.name


@dataclass(slots=True, eq=False)
class Node:
    """One configured node of a graph (root or subgraph definition)."""

    id: Any
    type: str
    mode: int
    title: str | None
    graph: Graph
    kind: str  # "comfy", "virtual", "subgraph", "placeholder"
    inputs: list[Input] = field(default_factory=list)
    outputs: list[Any] = field(default_factory=list)
    output_links: list[list[int]] = field(default_factory=list)
    widgets: list[Widget] = field(default_factory=list)
    properties: dict[str, Any] = field(default_factory=dict)
    layout: NodeLayout | None = None
    subgraph: Graph | None = None
    saved: Mapping[str, Any] = field(default_factory=dict)
    # control_after_generate modes of widgets a PrimitiveNode feeds (its own control).
    fed_controls: dict[str, str] = field(default_factory=dict)

    @property
    def is_virtual(self) -> bool:
        return self.kind in ("virtual", "subgraph")

    @property
    def class_type(self) -> str | None:
        return self.layout.class_type if self.layout is not None else None

    def widget(self, name: str) -> Widget | None:
        for widget in self.widgets:
            if widget.name == name:
                return widget
        return None

    def describe(self) -> str:
        title = f" ({self.title})" if self.title else ""
        where = f" in subgraph {self.graph.name or self.graph.id}" if self.graph.id else ""
        return f"node {self.id}{title} of type {self.type!r}{where}"


@dataclass(slots=True, eq=False)
class Graph:
    """The root graph (``id`` None) or one subgraph definition."""

    id: str | None
    name: str = ""
    nodes: dict[Any, Node] = field(default_factory=dict)
    links: dict[int, Link] = field(default_factory=dict)
    # Subgraph IO: (name, type, link ids) per slot.
    inputs: list[tuple[str, Any, list[int]]] = field(default_factory=list)
    outputs: list[tuple[str, Any, list[int]]] = field(default_factory=list)
    subgraphs: dict[str, Graph] = field(default_factory=dict)
    raw: Mapping[str, Any] = field(default_factory=dict)
