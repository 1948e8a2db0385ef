"""Typed node schemas from ``/object_info``: what each node class takes and gives.

``input`` sections (``required``, ``optional``, ``hidden``) map an input name to
``[type, options]``. Combo inputs come in two shapes: the legacy one, whose
type is the list of choices (``[["a", "b"], {...}]``), and the newer
``["COMBO", {"options": ["a", "b"]}]``; both give :attr:`InputSpec.choices`.
Unknown keys are kept in ``raw``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from comfy_core.errors import NameNotFound

__all__ = ["InputSpec", "NodeSchema", "OutputSpec", "parse_object_info"]


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


@dataclass(frozen=True, slots=True, kw_only=True)
class InputSpec:
    """One input of a node class. ``choices`` is set for combo inputs."""

    name: str
    type: str
    section: str  # "required", "optional" or "hidden"
    default: Any = None
    min: float | None = None
    max: float | None = None
    step: float | None = None
    choices: tuple[Any, ...] | None = None
    options: Mapping[str, Any] = field(default_factory=dict, hash=False)

    @property
    def required(self) -> bool:
        return self.section == "required"


@dataclass(frozen=True, slots=True, kw_only=True)
class OutputSpec:
    index: int
    type: str
    name: str
    is_list: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class NodeSchema:
    """A node class: its inputs in declared order, its outputs, and its metadata."""

    name: str
    display_name: str
    category: str
    description: str
    python_module: str
    output_node: bool
    inputs: tuple[InputSpec, ...]
    outputs: tuple[OutputSpec, ...]
    deprecated: bool = False
    experimental: bool = False
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, hash=False)

    def input(self, name: str) -> InputSpec:
        """The input called ``name``; :class:`NameNotFound` (a ``KeyError``) naming the node
        class otherwise."""
        for spec in self.inputs:
            if spec.name == name:
                return spec
        raise NameNotFound(f"{self.name} has no input {name!r}")

    @property
    def required_inputs(self) -> tuple[InputSpec, ...]:
        return tuple(i for i in self.inputs if i.required)


def _input(name: str, section: str, raw: Any) -> InputSpec:
    spec = raw if isinstance(raw, list) else [raw]
    kind = spec[0] if spec else "*"
    options = spec[1] if len(spec) > 1 and isinstance(spec[1], Mapping) else {}
    choices: tuple[Any, ...] | None = None
    if isinstance(kind, list):  # legacy combo: the type is the list of choices
        choices, kind = tuple(kind), "COMBO"
    elif isinstance(options.get("options"), list):
        choices = tuple(options["options"])
    return InputSpec(
        name=name,
        type=str(kind),
        section=section,
        default=options.get("default"),
        min=_number(options.get("min")),
        max=_number(options.get("max")),
        step=_number(options.get("step")),
        choices=choices,
        options=options,
    )


def parse_node_schema(name: str, info: Mapping[str, Any]) -> NodeSchema:
    sections = info.get("input") if isinstance(info.get("input"), Mapping) else {}
    assert isinstance(sections, Mapping)
    order = info.get("input_order") if isinstance(info.get("input_order"), Mapping) else {}
    assert isinstance(order, Mapping)
    inputs = []
    for section in ("required", "optional", "hidden"):
        entries = sections.get(section)
        if not isinstance(entries, Mapping):
            continue
        names = [n for n in order.get(section) or [] if n in entries]
        names += [n for n in entries if n not in names]
        inputs += [_input(str(n), section, entries[n]) for n in names]
    types = info.get("output") or []
    names = info.get("output_name") or []
    lists = info.get("output_is_list") or []
    outputs = tuple(
        OutputSpec(
            index=i,
            type=str(t),
            name=str(names[i]) if i < len(names) else str(t),
            is_list=bool(lists[i]) if i < len(lists) else False,
        )
        for i, t in enumerate(types if isinstance(types, list) else [])
    )
    return NodeSchema(
        name=str(info.get("name", name)),
        display_name=str(info.get("display_name") or name),
        category=str(info.get("category", "")),
        description=str(info.get("description", "")),
        python_module=str(info.get("python_module", "")),
        output_node=bool(info.get("output_node", False)),
        inputs=tuple(inputs),
        outputs=outputs,
        deprecated=bool(info.get("deprecated", False)),
        experimental=bool(info.get("experimental", False)),
        raw=info,
    )


def parse_object_info(data: Mapping[str, Any]) -> dict[str, NodeSchema]:
    """Read ``/object_info`` (or ``/object_info/{class}``): {class name: schema}."""
    return {
        str(name): parse_node_schema(str(name), info)
        for name, info in data.items()
        if isinstance(info, Mapping)
    }
