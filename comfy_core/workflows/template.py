"""Templates: a workflow with named parameters, rendered into Workflows.

A :class:`Template` declares parameters, each standing for one input address
or several (``"size": ["Empty Latent.width", "Empty Latent.height"]``).
String inputs may also hold ``{{name}}`` placeholders; each placeholder name
is a parameter too, filled by :meth:`Template.render` with a ``str``.
Rendering checks every value before changing anything: a missing or unknown
name, a value of the wrong type, out of range or not among the choices raise
:class:`~comfy_core.errors.ParameterError` naming the parameter, the node,
the input and what is allowed (the declared types and ranges need
``object_info``; without it only the type of the current value is checked).

Manifest: a small JSON file beside the workflow, by convention
``name.template.json`` next to ``name.json``::

    {"format": "comfy-template", "version": 1,
     "workflow": "name.json",
     "parameters": {"prompt": "Positive Prompt.text",
                    "size": ["Empty Latent.width", "Empty Latent.height"]}}

``workflow`` is a path relative to the manifest (an API prompt, a UI
workflow or a saved PNG/WebP); a UI workflow needs ``object_info`` to load.

The frontend resolves ``{a|b}`` choices in dynamic-prompt text while
converting, which would turn ``{{name}}`` into ``name``:
:meth:`Template.from_ui` and :meth:`Template.load` keep placeholders through
the conversion. A Workflow converted on its own has lost them already.
"""

from __future__ import annotations

import difflib
import json
import os
import random
import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from comfy_core.errors import (
    InvalidArgument,
    InvalidArgumentType,
    LinkedInputError,
    ParameterError,
    WorkflowFormatError,
)
from comfy_core.workflows.addressing import describe_node, resolve_input
from comfy_core.workflows.editing import declared_inputs, replaced
from comfy_core.workflows.model import MissingNodes, NodeInfo, Workflow, is_ui_workflow
from comfy_core.workflows.params import Parameter, _is_link, check_value, parameters
from comfy_core.workflows.seeds import SeedPolicy, batch

__all__ = ["MANIFEST_FORMAT", "PLACEHOLDER", "Template"]

MANIFEST_FORMAT = "comfy-template"
PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
# What a placeholder becomes while the UI workflow is converted: no braces, no
# "%" and no "//", so neither dynamic prompts nor text replacements touch it.
_GUARD = re.compile("\u27e6([A-Za-z_][A-Za-z0-9_]*)\u27e7")


def _guard(data: Any, inside: bool = False) -> Any:
    if isinstance(data, str):
        return PLACEHOLDER.sub("\u27e6\\1\u27e7", data) if inside else data
    if isinstance(data, list):
        return [_guard(v, inside) for v in data]
    if isinstance(data, Mapping):
        return {k: _guard(v, inside or k == "widgets_values") for k, v in data.items()}
    return data


def _unguard(value: Any) -> Any:
    if isinstance(value, str):
        return _GUARD.sub("{{\\1}}", value)
    if isinstance(value, list):
        return [_unguard(v) for v in value]
    if isinstance(value, dict):
        return {k: _unguard(v) for k, v in value.items()}
    return value


class Template:
    """A :class:`Workflow` with declared parameters (see the module doc).

    ``parameters`` maps a name to an input address (``"<node>.<input>"``, the
    node by id, title or class_type) or a list of them. Addresses are resolved
    now, so a typo fails here, not at render time.
    """

    __slots__ = ("_object_info", "_params", "_placeholders", "_targets", "workflow")

    workflow: Workflow
    _targets: dict[str, tuple[tuple[str, str], ...]]
    _params: dict[tuple[str, str], Parameter]
    _placeholders: dict[str, tuple[tuple[str, str], ...]]
    _object_info: Mapping[str, Any] | None

    def __init__(
        self,
        workflow: Workflow,
        parameters: Mapping[str, str | Sequence[str]] | None = None,
        *,
        object_info: Mapping[str, Any] | None = None,
    ) -> None:
        if not isinstance(workflow, Workflow):
            raise InvalidArgumentType(f"a Template needs a Workflow, not {type(workflow).__name__}")
        self.workflow = workflow
        self._object_info = object_info
        api = workflow.to_api()
        declared = declared_inputs(object_info)
        self._targets = {}
        for name, spec in (parameters or {}).items():
            if not isinstance(name, str) or not name.isidentifier():
                raise ParameterError(
                    f"a parameter name is a Python identifier, not {name!r}", parameter=str(name)
                )
            addresses = [spec] if isinstance(spec, str) else list(spec)
            if not addresses or not all(isinstance(a, str) for a in addresses):
                raise ParameterError(
                    f"parameter {name!r} stands for an input address or a list of them, "
                    f"not {spec!r}",
                    parameter=name,
                )
            targets = []
            for address in addresses:
                info, input_name = resolve_input(api, workflow.nodes, address, declared=declared)
                current = (api[info.id].get("inputs") or {}).get(input_name)
                if _is_link(current):
                    raise LinkedInputError(
                        f"parameter {name!r}: {describe_node(info)} input {input_name!r} is "
                        f"linked to node {current[0]}; a parameter sets a value",
                        node_id=info.id,
                        title=info.title,
                        node_type=info.class_type,
                        input_name=input_name,
                        parameter=name,
                    )
                targets.append((info.id, input_name))
            self._targets[name] = tuple(targets)
        self._params = {(p.node_id, p.input): p for p in _parameters(workflow, object_info)}
        taken = {t for targets in self._targets.values() for t in targets}
        found: dict[str, list[tuple[str, str]]] = {}
        for node_id, entry in api.items():
            for input_name, value in (entry.get("inputs") or {}).items():
                if isinstance(value, str) and (node_id, input_name) not in taken:
                    for match in PLACEHOLDER.finditer(value):
                        found.setdefault(match.group(1), []).append((node_id, input_name))
        clash = sorted(set(found) & set(self._targets))
        if clash:
            raise ParameterError(
                f"{clash[0]!r} is both a declared parameter and a {{{{placeholder}}}}",
                parameter=clash[0],
            )
        self._placeholders = {k: tuple(dict.fromkeys(v)) for k, v in found.items()}

    def __repr__(self) -> str:
        return f"<Template {', '.join(self.names)}>"

    # -- constructors and the manifest ------------------------------------------

    @classmethod
    def from_ui(
        cls,
        ui_workflow: Mapping[str, Any],
        object_info: Mapping[str, Any],
        parameters: Mapping[str, str | Sequence[str]] | None = None,
        *,
        missing_nodes: MissingNodes = "error",
    ) -> Template:
        """A template from a UI workflow, its ``{{placeholders}}`` kept through conversion."""
        converted = Workflow.from_ui(_guard(ui_workflow), object_info, missing_nodes=missing_nodes)
        api = {key: _unguard(entry) for key, entry in converted.to_api().items()}
        workflow = Workflow(api, ui=ui_workflow, nodes=converted.nodes)
        return cls(workflow, parameters, object_info=object_info)

    @classmethod
    def load(
        cls, path: str | os.PathLike[str], object_info: Mapping[str, Any] | None = None
    ) -> Template:
        """Read a manifest (see the module doc) and the workflow it names."""
        where = Path(path)
        try:
            manifest = json.loads(where.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise WorkflowFormatError(f"cannot read template {str(where)!r}: {exc}") from exc
        if (
            not isinstance(manifest, Mapping)
            or manifest.get("format", MANIFEST_FORMAT) != MANIFEST_FORMAT
            or not isinstance(manifest.get("workflow"), str)
            or not isinstance(manifest.get("parameters", {}), Mapping)
        ):
            raise WorkflowFormatError(
                f"{str(where)!r} is not a template manifest: it needs "
                '{"workflow": "<file>", "parameters": {"<name>": "<node>.<input>", ...}}'
            )
        if manifest.get("version", 1) != 1:
            raise WorkflowFormatError(
                f"{str(where)!r}: template manifest version {manifest.get('version')!r} "
                "is not supported (only 1)"
            )
        source = where.parent / manifest["workflow"]
        params = manifest.get("parameters", {})
        if source.suffix.lower() == ".json" and object_info is not None:
            try:
                data = json.loads(source.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise WorkflowFormatError(f"cannot read workflow {str(source)!r}: {exc}") from exc
            if is_ui_workflow(data):
                return cls.from_ui(data, object_info, params)
        return cls(Workflow.load(source, object_info), params, object_info=object_info)

    def manifest(self, workflow_file: str) -> dict[str, Any]:
        """The manifest of this template, naming ``workflow_file`` (relative to it)."""
        return {
            "format": MANIFEST_FORMAT,
            "version": 1,
            "workflow": workflow_file,
            "parameters": {
                name: f"{t[0][0]}.{t[0][1]}" if len(t) == 1 else [f"{i}.{n}" for i, n in t]
                for name, t in self._targets.items()
            },
        }

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write ``name.template.json`` at ``path`` and the workflow beside it as
        ``name.json`` (the UI workflow when there is one, else the API prompt).
        Addresses are written by node id, which stays true whatever the titles.
        Returns the workflow file's path."""
        where = Path(path)
        stem = where.name.removesuffix(".json").removesuffix(".template")
        target = where.with_name(f"{stem}.json")
        if target == where:
            raise InvalidArgument(f"a manifest path ends in .template.json, not {where.name!r}")
        data = self.workflow.ui if self.workflow.ui is not None else self.workflow.to_api()
        target.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
        where.write_text(json.dumps(self.manifest(target.name), indent=1), encoding="utf-8")
        return target

    # -- what it takes ------------------------------------------------------------

    @property
    def names(self) -> tuple[str, ...]:
        """Every parameter name: the declared ones, then the placeholders."""
        return tuple(self._targets) + tuple(self._placeholders)

    @property
    def placeholders(self) -> tuple[str, ...]:
        """The ``{{name}}`` placeholder names found in string inputs."""
        return tuple(self._placeholders)

    def targets(self, name: str) -> tuple[Parameter, ...]:
        """The inputs parameter ``name`` sets (for a placeholder: the inputs that hold it)."""
        where = self._targets.get(name) or self._placeholders.get(name)
        if where is None:
            raise self._unknown(name)
        return tuple(self._param(t) for t in where)

    def defaults(self) -> dict[str, Any]:
        """The declared parameters' current values (the first input's, for a list)."""
        return {name: self._param(t[0]).value for name, t in self._targets.items()}

    # -- rendering ------------------------------------------------------------------

    def render(self, values: Mapping[str, Any] | None = None, /, **kwargs: Any) -> Workflow:
        """The workflow with every parameter set; all are required (see :meth:`defaults`).

        A parameter standing for several inputs takes one value for all, or a
        list/tuple with one value per input.
        """
        given = {**(values or {}), **kwargs}
        for name in given:
            if name not in self._targets and name not in self._placeholders:
                raise self._unknown(name)
        missing = [n for n in self.names if n not in given]
        if missing:
            first = missing[0]
            param = self._param((self._targets.get(first) or self._placeholders[first])[0])
            raise ParameterError(
                f"no value for parameter{'s' if len(missing) > 1 else ''} "
                f"{', '.join(repr(m) for m in missing)}: {first!r} sets "
                f"{_where(param)}, which takes {param.allowed()}",
                allowed=param.allowed(),
                **_fields(param, first),
            )
        changes: dict[tuple[str, str], Any] = {}
        for name, targets in self._targets.items():
            value = given[name]
            spread = len(targets) > 1 and isinstance(value, (list, tuple))
            if spread and len(value) != len(targets):
                inputs = "; ".join(_where(self._param(t)) for t in targets)
                raise ParameterError(
                    f"parameter {name!r} sets {len(targets)} inputs ({inputs}), so it takes "
                    f"one value or {len(targets)} values, not {len(value)}; "
                    f"allowed: one value, or {len(targets)}",
                    allowed=f"one value, or {len(targets)}",
                    **_fields(self._param(targets[0]), name),
                )
            for i, target in enumerate(targets):
                item = value[i] if spread else value
                check_value(self._param(target), item, parameter=name)
                changes[target] = item
        api = self.workflow.to_api()
        for name, holders in self._placeholders.items():
            value = given[name]
            if not isinstance(value, str):
                param = self._param(holders[0])
                raise ParameterError(
                    f"placeholder {name!r} (in {_where(param)}): "
                    f"{type(value).__name__} {value!r} is not a str; allowed: str",
                    allowed="str",
                    **_fields(param, name),
                )
        for node_id, input_name in {t for w in self._placeholders.values() for t in w}:
            text = api[node_id]["inputs"][input_name]
            changes[(node_id, input_name)] = PLACEHOLDER.sub(lambda m: str(given[m.group(1)]), text)
        return replaced(self.workflow, changes, api=api)

    def batch(
        self,
        n: int,
        values: Mapping[str, Any] | None = None,
        /,
        *,
        rng: random.Random | int | None = None,
        policy: SeedPolicy = None,
        **kwargs: Any,
    ) -> Iterator[Workflow]:
        """``n`` renders whose seeds move (see :func:`comfy_core.workflows.seeds.batch`).

        ``policy`` may name template parameters as well as parameters and addresses.
        """
        rendered = self.render(values, **kwargs)
        aliases = {n: tuple(f"{i}.{k}" for i, k in t) for n, t in self._targets.items()}
        return batch(
            rendered, n, object_info=self._object_info, rng=rng, policy=policy, aliases=aliases
        )

    # -- helpers ----------------------------------------------------------------------

    def _param(self, target: tuple[str, str]) -> Parameter:
        param = self._params.get(target)
        if param is not None:
            return param
        info = self.workflow.nodes.get(target[0]) or NodeInfo(id=target[0], class_type=None)
        return Parameter(  # an input the class declares but the prompt leaves out
            name=f"{target[0]}.{target[1]}",
            node_id=target[0],
            title=info.title,
            class_type=info.class_type,
            input=target[1],
            type="*",
            value=None,
            declared=False,
        )

    def _unknown(self, name: str) -> ParameterError:
        close = difflib.get_close_matches(name, list(self.names), n=3, cutoff=0.6)
        hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        return ParameterError(
            f"this template has no parameter {name!r}{hint} "
            f"(its parameters: {', '.join(self.names) or 'none'})",
            allowed=", ".join(self.names),
            parameter=name,
        )


def _parameters(workflow: Workflow, object_info: Mapping[str, Any] | None) -> list[Parameter]:
    return list(parameters(workflow, object_info))


def _where(param: Parameter) -> str:
    node = describe_node(NodeInfo(id=param.node_id, class_type=param.class_type, title=param.title))
    return f"{node} input {param.input!r}"


def _fields(param: Parameter, name: str) -> dict[str, Any]:
    return {
        "node_id": param.node_id,
        "title": param.title,
        "node_type": param.class_type,
        "input_name": param.input,
        "parameter": name,
    }
