"""The :class:`Workflow` value: an API prompt plus what the UI knew about it.

A Workflow is immutable. It holds the API prompt (``to_api()`` hands out a
fresh copy each time), the UI workflow it came from when there was one
(``ui``, so it can travel in ``extra_pnginfo`` like the frontend sends it), and
one :class:`NodeInfo` per emitted node: its title and, per widget input, the
``control_after_generate`` mode the UI had for it (``"randomize"`` for a seed
and so on). Later templating (``set``, ``parameters``, ``batch``) builds on
those records without going back to the UI JSON.
"""

from __future__ import annotations

import copy
import json
import os
import random
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

from comfy_core.errors import (
    InvalidArgument,
    InvalidArgumentType,
    ReadOnlyError,
    WorkflowFormatError,
    WorkflowValidationError,
)
from comfy_core.workflow import check_workflow
from comfy_core.workflows.convert import graph_to_prompt, order_keys
from comfy_core.workflows.embedded import is_embedded_image, read_text_metadata
from comfy_core.workflows.graph import build_graph

if TYPE_CHECKING:
    from comfy_core.errors import NodeError
    from comfy_core.workflows.params import Parameter
    from comfy_core.workflows.seeds import SeedPolicy

__all__ = [
    "MissingNodes",
    "NodeInfo",
    "NodeMap",
    "Workflow",
    "is_ui_workflow",
    "raw_object_info",
]

MissingNodes = Literal["error", "drop", "keep"]


@dataclass(frozen=True, slots=True, kw_only=True)
class NodeInfo:
    """What the UI knew about one node of the prompt.

    ``id`` is the prompt key (an execution id such as ``"12:5"`` inside
    subgraphs); ``controls`` maps a widget input to its ``control_after_generate``
    mode (``fixed``, ``increment``, ``decrement``, ``randomize``...), the node's
    own or, for a widget a PrimitiveNode feeds, the PrimitiveNode's.
    """

    id: str
    class_type: str | None
    title: str | None = None
    controls: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))


class NodeMap(Mapping[str, NodeInfo]):
    """A workflow's :class:`NodeInfo` records by prompt key; call it to filter them:
    ``wf.nodes(class_type="KSampler")``, ``wf.nodes(title="Positive Prompt")``."""

    __slots__ = ("_data", "_workflow")

    def __init__(self, data: Mapping[str, NodeInfo], workflow: Workflow) -> None:
        self._data = data
        self._workflow = workflow

    def __getitem__(self, key: str) -> NodeInfo:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return f"NodeMap({dict(self._data)!r})"

    def __call__(
        self, *, class_type: str | None = None, title: str | None = None
    ) -> tuple[NodeInfo, ...]:
        from comfy_core.workflows.addressing import match_nodes

        return match_nodes(self._workflow.to_api(), self._data, class_type=class_type, title=title)


_UNSET: Any = object()


def is_ui_workflow(data: Any) -> bool:
    """True when ``data`` looks like a UI workflow (a ``nodes`` list)."""
    return isinstance(data, Mapping) and isinstance(data.get("nodes"), list)


def raw_object_info(object_info: Mapping[str, Any]) -> Mapping[str, Any]:
    """The JSON of ``/object_info`` from the JSON itself or from typed schemas."""
    raw = {}
    for name, info in object_info.items():
        schema_raw = getattr(info, "raw", None)
        raw[name] = schema_raw if isinstance(schema_raw, Mapping) else info
    return raw


def _freeze_json(data: Any) -> str:
    try:
        return json.dumps(data, ensure_ascii=False, allow_nan=True)
    except (TypeError, ValueError) as exc:
        raise WorkflowFormatError(f"a workflow must be JSON data: {exc}") from exc


class Workflow:
    """An API prompt ready for ``POST /prompt``, with the UI workflow it came from.

    Build one with :meth:`from_api`, :meth:`from_ui` or :meth:`load`.
    """

    __slots__ = ("_api", "_nodes", "_ui")
    _api: str  # JSON text: nothing can mutate it, every view is a fresh copy
    _ui: str | None
    _nodes: Mapping[str, NodeInfo]

    def __init__(
        self,
        api: Mapping[str, Any],
        *,
        ui: Mapping[str, Any] | None = None,
        nodes: Mapping[str, NodeInfo] | None = None,
    ) -> None:
        check_workflow(api)
        object.__setattr__(self, "_api", _freeze_json(api))
        object.__setattr__(self, "_ui", None if ui is None else _freeze_json(ui))
        if nodes is None:
            nodes = {
                str(key): NodeInfo(
                    id=str(key), class_type=entry.get("class_type"), title=_meta_title(entry)
                )
                for key, entry in api.items()
            }
        object.__setattr__(self, "_nodes", MappingProxyType(dict(nodes)))

    def __setattr__(self, name: str, value: Any) -> None:
        raise ReadOnlyError(f"a Workflow is immutable: {name!r} cannot be set")

    def __repr__(self) -> str:
        kind = "UI" if self._ui is not None else "API"
        return f"<Workflow {len(self._nodes)} nodes from {kind}>"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Workflow):
            return NotImplemented
        return bool(self._api == other._api and self._ui == other._ui)

    def __hash__(self) -> int:
        return hash((self._api, self._ui))

    # -- constructors ---------------------------------------------------------

    @classmethod
    def from_api(
        cls, prompt: Mapping[str, Any], *, ui: Mapping[str, Any] | None = None
    ) -> Workflow:
        """A Workflow from an API prompt (``ui``: the UI workflow to send along, if known)."""
        return cls(prompt, ui=ui)

    @classmethod
    def from_ui(
        cls,
        ui_workflow: Mapping[str, Any],
        object_info: Mapping[str, Any],
        *,
        missing_nodes: MissingNodes = "error",
    ) -> Workflow:
        """Convert a UI workflow exactly as the frontend's "Export (API)" does.

        ``object_info`` is the server's ``GET /object_info`` (the JSON, or the
        client's typed schemas). Node types it lacks raise
        :class:`~comfy_core.errors.MissingNodeTypesError` listing them all;
        ``missing_nodes="drop"`` leaves them out (and the inputs linked to
        them); ``"keep"`` emits them as the frontend does, without
        ``class_type``, which the server refuses.
        """
        if not is_ui_workflow(ui_workflow):
            raise WorkflowFormatError("a UI workflow needs a 'nodes' list")
        if missing_nodes not in ("error", "drop", "keep"):
            raise InvalidArgument(
                f"missing_nodes must be 'error', 'drop' or 'keep', not {missing_nodes!r}"
            )
        graph = build_graph(ui_workflow, raw_object_info(object_info))
        emitted = graph_to_prompt(graph, missing=missing_nodes)
        api = order_keys({e.step_id: e.entry for e in emitted})
        nodes = {}
        for item in emitted:
            controls = {
                w.slot.control_of: w.value
                for w in item.node.widgets
                if w.slot.control_of and isinstance(w.value, str)
            }
            controls.update(item.node.fed_controls)  # a PrimitiveNode's own control wins
            nodes[item.step_id] = NodeInfo(
                id=item.step_id,
                class_type=item.node.class_type,
                title=item.node.title,
                controls=MappingProxyType(controls),
            )
        workflow = cls.__new__(cls)
        object.__setattr__(workflow, "_api", _freeze_json(api))
        object.__setattr__(workflow, "_ui", _freeze_json(ui_workflow))
        object.__setattr__(workflow, "_nodes", MappingProxyType({k: nodes[k] for k in api}))
        return workflow

    @classmethod
    def load(
        cls,
        source: str | bytes | os.PathLike[str] | Mapping[str, Any],
        object_info: Mapping[str, Any] | None = None,
        *,
        missing_nodes: MissingNodes = "error",
    ) -> Workflow:
        """A Workflow from a path, JSON text, file bytes or a parsed dict.

        API prompts, UI workflows and PNG/WebP files ComfyUI saved are all
        recognised. A UI workflow needs ``object_info``; from a saved image
        the UI workflow is preferred when ``object_info`` is given, otherwise
        the embedded API prompt is used (with the UI workflow kept in ``ui``).
        """
        data = read_source(source)
        if isinstance(data, EmbeddedWorkflow):
            if data.ui is not None and object_info is not None:
                return cls.from_ui(data.ui, object_info, missing_nodes=missing_nodes)
            if data.prompt is not None:
                return cls.from_api(data.prompt, ui=data.ui)
            raise WorkflowFormatError(
                "this image holds only a UI workflow: pass object_info to convert it"
            )
        if is_ui_workflow(data):
            if object_info is None:
                raise WorkflowFormatError(
                    "this is a UI workflow: converting it needs the server's object_info "
                    "(Workflow.load(source, object_info) or client.load_workflow(source))"
                )
            return cls.from_ui(data, object_info, missing_nodes=missing_nodes)
        try:
            return cls.from_api(data)
        except WorkflowValidationError as exc:
            raise WorkflowFormatError(f"neither an API prompt nor a UI workflow: {exc}") from exc

    # -- views ----------------------------------------------------------------

    def to_api(self) -> dict[str, Any]:
        """A fresh API prompt (a new dict each call) for ``POST /prompt``."""
        result: dict[str, Any] = json.loads(self._api)
        return result

    @property
    def ui(self) -> dict[str, Any] | None:
        """A copy of the UI workflow this came from, or None."""
        return None if self._ui is None else dict(json.loads(self._ui))

    @property
    def nodes(self) -> NodeMap:
        """One :class:`NodeInfo` per prompt entry, by prompt key; call it to filter
        by ``class_type`` and/or ``title``."""
        return NodeMap(self._nodes, self)

    # -- templating (comfy_core.workflows.addressing, editing, params, seeds) ----

    def node(self, ref: str) -> NodeInfo:
        """The node ``ref`` names: a prompt key (``"12:5"`` in a subgraph), a title,
        or a class_type that occurs once. Raises
        :class:`~comfy_core.errors.AmbiguousNodeError` or
        :class:`~comfy_core.errors.NodeNotFoundError` (with close matches)."""
        from comfy_core.workflows.addressing import find_node

        return find_node(self.to_api(), self._nodes, ref)

    def get(self, address: str) -> Any:
        """The value (or link) of the input ``"<node>.<input>"``."""
        from comfy_core.workflows.addressing import resolve_input

        api = self.to_api()
        info, name = resolve_input(api, self._nodes, address)
        return api[info.id]["inputs"][name]

    def set(
        self,
        values: str | Mapping[str, Any],
        value: Any = _UNSET,
        /,
        *,
        replace_links: bool = False,
        object_info: Mapping[str, Any] | None = None,
    ) -> Workflow:
        """A new Workflow with inputs set: ``set("KSampler.seed", 5)`` or
        ``set({"KSampler.seed": 5, "3.steps": 20})``. A linked input raises
        :class:`~comfy_core.errors.LinkedInputError` unless ``replace_links``;
        ``object_info`` lets inputs the class declares but the prompt lacks be set."""
        from comfy_core.workflows.editing import set_values

        if isinstance(values, str):
            if value is _UNSET:
                raise InvalidArgumentType("set(address, value) needs a value")
            values = {values: value}
        elif value is not _UNSET:
            raise InvalidArgumentType("set(mapping) takes no second argument")
        return set_values(self, values, replace_links=replace_links, object_info=object_info)

    def parameters(self, object_info: Mapping[str, Any] | None = None) -> tuple[Parameter, ...]:
        """One :class:`~comfy_core.workflows.params.Parameter` per widget input holding
        a value; types, defaults, ranges and choices come from ``object_info``."""
        from comfy_core.workflows.params import parameters

        return parameters(self, object_info)

    def batch(
        self,
        n: int,
        *,
        object_info: Mapping[str, Any] | None = None,
        rng: random.Random | int | None = None,
        policy: SeedPolicy = None,
    ) -> Iterator[Workflow]:
        """``n`` Workflows whose seeds follow each node's control mode or ``policy``
        (see :mod:`comfy_core.workflows.seeds`)."""
        from comfy_core.workflows.seeds import batch

        return batch(self, n, object_info=object_info, rng=rng, policy=policy)

    def validate(
        self,
        object_info: Mapping[str, Any],
        *,
        partial_execution_targets: Sequence[str] | None = None,
    ) -> tuple[NodeError, ...]:
        """:func:`~comfy_core.validation.validate_prompt` on this prompt: raises
        :class:`WorkflowValidationError` where the server would answer 400, else
        returns the node errors a 200 would carry (empty when all is valid)."""
        from comfy_core.validation import validate_prompt

        return validate_prompt(
            self.to_api(), object_info, partial_execution_targets=partial_execution_targets
        )

    def _with_api(self, api: Mapping[str, Any]) -> Workflow:
        """This workflow with another prompt of the same nodes (UI and NodeInfo kept)."""
        check_workflow(api)
        workflow = Workflow.__new__(Workflow)
        object.__setattr__(workflow, "_api", _freeze_json(api))
        object.__setattr__(workflow, "_ui", self._ui)
        object.__setattr__(workflow, "_nodes", self._nodes)
        return workflow

    def extra_data(self, extra_data: Mapping[str, Any] | None = None) -> dict[str, Any] | None:
        """``extra_data`` for ``POST /prompt`` with the UI workflow in
        ``extra_pnginfo.workflow`` (as the frontend sends it), unless the caller
        set one already."""
        if self._ui is None:
            return None if extra_data is None else dict(extra_data)
        merged = copy.deepcopy(dict(extra_data or {}))
        pnginfo = dict(merged.get("extra_pnginfo") or {})
        pnginfo.setdefault("workflow", json.loads(self._ui))
        merged["extra_pnginfo"] = pnginfo
        return merged


def _meta_title(entry: Any) -> str | None:
    meta = entry.get("_meta") if isinstance(entry, Mapping) else None
    title = meta.get("title") if isinstance(meta, Mapping) else None
    return title if isinstance(title, str) else None


@dataclass(frozen=True, slots=True)
class EmbeddedWorkflow:
    """What a saved image holds: the API prompt and/or the UI workflow."""

    prompt: Mapping[str, Any] | None
    ui: Mapping[str, Any] | None


def _parse_json(text: str | bytes, what: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise WorkflowFormatError(f"{what} is not valid JSON: {exc}") from exc


def read_source(
    source: str | bytes | os.PathLike[str] | Mapping[str, Any],
) -> Mapping[str, Any] | EmbeddedWorkflow:
    """Parse a workflow source into a dict, or the two workflows of a saved image."""
    if isinstance(source, Mapping):
        return source
    if isinstance(source, str) and source.lstrip().startswith("{"):
        data = _parse_json(source, "the workflow text")
    elif isinstance(source, (bytes, bytearray, memoryview)):
        raw = bytes(source)
        if is_embedded_image(raw):
            return _embedded(raw, "the image")
        data = _parse_json(raw, "the workflow bytes")
    elif isinstance(source, (str, os.PathLike)):
        path = Path(source)
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise WorkflowFormatError(f"cannot read workflow file {str(path)!r}: {exc}") from exc
        if is_embedded_image(raw):
            return _embedded(raw, str(path))
        data = _parse_json(raw, f"workflow file {str(path)!r}")
    else:
        raise WorkflowFormatError(
            f"a workflow source is a path, str, bytes or dict, not {type(source).__name__}"
        )
    if not isinstance(data, Mapping):
        raise WorkflowFormatError(f"a workflow must be a JSON object, not {type(data).__name__}")
    return data


def _embedded(raw: bytes, where: str) -> EmbeddedWorkflow:
    texts = read_text_metadata(raw)
    prompt = _parse_json(texts["prompt"], f"the prompt in {where}") if "prompt" in texts else None
    ui = _parse_json(texts["workflow"], f"the workflow in {where}") if "workflow" in texts else None
    if prompt is None and ui is None:
        raise WorkflowFormatError(f"{where} holds no ComfyUI workflow (no 'prompt' or 'workflow')")
    if prompt is not None and not isinstance(prompt, Mapping):
        raise WorkflowFormatError(f"the prompt in {where} is not a JSON object")
    if ui is not None and not is_ui_workflow(ui):
        ui = None
    return EmbeddedWorkflow(prompt=prompt, ui=ui)
