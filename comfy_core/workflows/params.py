"""The widget inputs of a workflow as typed records, and the checks on their values.

:func:`parameters` gives one :class:`Parameter` per input that holds a value
(not a link): with ``object_info`` its declared type, default, range, choices
and whether it is multiline; without, the type is read off the current value.
Its ``name`` is ``"<title>.<input>"`` when the title names that node alone,
``"<id>.<input>"`` otherwise, so every name is unique and is an address
:meth:`Workflow.set <comfy_core.workflows.Workflow.set>` accepts.

Seeds are the inputs with a ``control_after_generate`` mode in the node's
:class:`~comfy_core.workflows.NodeInfo`; in a workflow that has no UI workflow
behind it, INT inputs named ``seed`` or ``noise_seed`` too (the frontend gives
those a control widget whatever the definition says).

:func:`check_value` is what a template checks a value with: the type (an INT
is an ``int``, not a ``bool`` or a ``float``), the range and the choices.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeGuard

from comfy_core.errors import ParameterError
from comfy_core.workflows.addressing import describe_node, find_node
from comfy_core.workflows.model import NodeInfo, raw_object_info
from comfy_core.workflows.nodedefs import WIDGET_TYPES

if TYPE_CHECKING:
    from comfy_core.workflows.model import Workflow

__all__ = ["SEED_NAMES", "Parameter", "check_value", "parameters"]

SEED_NAMES = frozenset({"seed", "noise_seed"})
_VALUE_TYPES = frozenset({"INT", "FLOAT", "STRING", "BOOLEAN", "COMBO"})
_EXTRA_WIDGETS = frozenset({"COMFY_DYNAMICCOMBO_V3"})


@dataclass(frozen=True, slots=True, kw_only=True)
class Parameter:
    """One widget input of a workflow.

    ``type`` is ``INT``, ``FLOAT``, ``STRING``, ``BOOLEAN``, ``COMBO`` or the
    declared type as ``object_info`` spells it; ``declared`` is False when
    there was no definition and the type was read off ``value``. ``control``
    is the ``control_after_generate`` mode the UI workflow had for it;
    ``seed`` says whether batches vary it.
    """

    name: str
    node_id: str
    title: str | None
    class_type: str | None
    input: str
    type: str
    value: Any
    default: Any = None
    min: int | float | None = None
    max: int | float | None = None
    step: int | float | None = None
    choices: tuple[Any, ...] | None = None
    multiline: bool = False
    control: str | None = None
    seed: bool = False
    declared: bool = True

    @property
    def address(self) -> str:
        """``"<id>.<input>"``: the address that never changes meaning."""
        return f"{self.node_id}.{self.input}"

    def allowed(self) -> str:
        """What values this input takes, in words: ``INT in 0..100``, ``one of 'a', 'b'``."""
        if self.choices is not None:
            shown = ", ".join(repr(c) for c in self.choices[:12])
            more = f", ... ({len(self.choices)} choices)" if len(self.choices) > 12 else ""
            return f"one of {shown}{more}" if self.choices else "no choice (the list is empty)"
        kind = self.type if self.declared else f"{self.type} (from the current value)"
        if self.min is not None or self.max is not None:
            low = "" if self.min is None else _number(self.min)
            high = "" if self.max is None else _number(self.max)
            return f"{kind} in {low}..{high}"
        return kind


def _number(value: int | float) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def _is_link(value: Any) -> TypeGuard[list[Any]]:
    return (
        isinstance(value, list)
        and len(value) == 2
        and isinstance(value[0], str)
        and isinstance(value[1], int)
        and not isinstance(value[1], bool)
    )


def _bound(value: Any) -> int | float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return value


def _spec(info: Mapping[str, Any] | None, name: str) -> tuple[str, dict[str, Any]] | None:
    """(type, options) of a required or optional input, None if not declared."""
    sections = info.get("input") if isinstance(info, Mapping) else None
    if not isinstance(sections, Mapping):
        return None
    for section in ("required", "optional"):
        entries = sections.get(section)
        if isinstance(entries, Mapping) and name in entries:
            raw = entries[name]
            spec = raw if isinstance(raw, list) else [raw]
            kind = spec[0] if spec else "*"
            options = dict(spec[1]) if len(spec) > 1 and isinstance(spec[1], Mapping) else {}
            if isinstance(kind, list):
                options["options"] = kind
                return "COMBO", options
            return str(kind), options
    return None


def _value_type(value: Any) -> str:
    if isinstance(value, bool):
        return "BOOLEAN"
    if isinstance(value, int):
        return "INT"
    if isinstance(value, float):
        return "FLOAT"
    if isinstance(value, str):
        return "STRING"
    return type(value).__name__


def _name(
    api: Mapping[str, Any], nodes: Mapping[str, NodeInfo], info: NodeInfo, input_name: str
) -> str:
    """``Title.input`` when the title finds this node alone, else ``id.input``."""
    for ref in (info.title, info.class_type):
        if not ref:
            continue
        try:
            if find_node(api, nodes, ref).id == info.id:
                return f"{ref}.{input_name}"
        except LookupError:
            pass
    return f"{info.id}.{input_name}"


def parameters(
    workflow: Workflow, object_info: Mapping[str, Any] | None = None
) -> tuple[Parameter, ...]:
    """Every widget input of ``workflow`` that holds a value, in prompt order."""
    infos = raw_object_info(object_info) if object_info is not None else None
    api = workflow.to_api()
    api_only = workflow.ui is None
    result = []
    for key, entry in api.items():
        info = workflow.nodes.get(key) or NodeInfo(id=key, class_type=entry.get("class_type"))
        definition = infos.get(info.class_type or "") if infos is not None else None
        for input_name, value in (entry.get("inputs") or {}).items():
            if _is_link(value):
                continue
            spec = _spec(definition, input_name) if definition is not None else None
            if spec is not None:
                kind, options = spec
                if options.get("forceInput") or (
                    kind not in WIDGET_TYPES and kind not in _EXTRA_WIDGETS
                ):
                    continue
                choices = options.get("options")
                record: dict[str, Any] = dict(
                    type=kind,
                    default=options.get("default"),
                    min=_bound(options.get("min")),
                    max=_bound(options.get("max")),
                    step=_bound(options.get("step")),
                    choices=tuple(choices)
                    if kind == "COMBO" and isinstance(choices, list)
                    else None,
                    multiline=bool(options.get("multiline", False)),
                    declared=True,
                )
            else:
                record = {"type": _value_type(value), "declared": False}
            control = info.controls.get(input_name)
            is_int = isinstance(value, int) and not isinstance(value, bool)
            seed = is_int and (
                control is not None
                or (api_only and input_name in SEED_NAMES and record["type"] == "INT")
            )
            result.append(
                Parameter(
                    name=_name(api, workflow.nodes, info, input_name),
                    node_id=key,
                    title=info.title,
                    class_type=info.class_type,
                    input=input_name,
                    value=value,
                    control=control,
                    seed=seed,
                    **record,
                )
            )
    return tuple(result)


def check_value(param: Parameter, value: Any, *, parameter: str | None = None) -> None:
    """Raise :class:`ParameterError` unless ``value`` suits ``param``'s input.

    The error names the parameter (``parameter``, or the input's name), the
    node, the input and what is allowed.
    """
    problem = _problem(param, value)
    if problem is None:
        return
    label = parameter or param.name
    node = describe_node(NodeInfo(id=param.node_id, class_type=param.class_type, title=param.title))
    raise ParameterError(
        f"parameter {label!r} ({node}, input {param.input!r}): {problem}; "
        f"allowed: {param.allowed()}",
        allowed=param.allowed(),
        node_id=param.node_id,
        title=param.title,
        node_type=param.class_type,
        input_name=param.input,
        parameter=label,
    )


def _problem(param: Parameter, value: Any) -> str | None:
    kind = param.type
    numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "COMBO" or param.choices is not None:
        if param.choices is not None and value not in param.choices:
            return f"{value!r} is not among the choices"
        return None
    if not param.declared and kind in ("INT", "FLOAT"):
        if not numeric:
            return f"{type(value).__name__} {value!r} is not a number"
    elif kind == "INT":
        if not (isinstance(value, int) and not isinstance(value, bool)):
            return f"{type(value).__name__} {value!r} is not an int"
    elif kind == "FLOAT":
        if not numeric:
            return f"{type(value).__name__} {value!r} is not a number"
        if not math.isfinite(value):
            return f"{value!r} is not finite"
    elif kind == "STRING":
        if not isinstance(value, str):
            return f"{type(value).__name__} {value!r} is not a str"
    elif kind == "BOOLEAN":
        if not isinstance(value, bool):
            return f"{type(value).__name__} {value!r} is not a bool"
    elif kind not in _VALUE_TYPES:
        return None
    if numeric:
        if param.min is not None and value < param.min:
            return f"{value!r} is below the minimum {_number(param.min)}"
        if param.max is not None and value > param.max:
            return f"{value!r} is above the maximum {_number(param.max)}"
    return None
