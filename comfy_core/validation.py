"""Validate an API-format prompt against ``/object_info``, offline, as the server would.

Theory of operation: :func:`validate_prompt` is a transcription of
``validate_prompt`` and ``validate_inputs`` in ComfyUI 0.3.75's
``execution.py``, run on the node schemas of ``/object_info`` instead of the
server's Python classes. It works on a JSON round trip of the prompt (what
the server decodes), follows the same steps in the same places, lets the
same Python operations raise the same exceptions (``prompt[node_id]``,
``RETURN_TYPES[slot]``, ``int(value)``, ``value < min``) and catches them
where the server does. The predicted answer is then read by the very code
that reads the server's 400 (:func:`comfy_core.routes.validation_error`,
:func:`comfy_core.routes.read_node_errors`), so a local and a server
verdict are built the same way.

* Where the server would answer 400, :class:`WorkflowValidationError` is
  raised with ``status`` 400 and the server's ``error_type``:
  ``invalid_prompt`` (a node without ``class_type``, or of a class
  ``object_info`` does not list), ``prompt_no_outputs`` or
  ``prompt_outputs_failed_validation``.
* Otherwise the node errors a 200 would carry are returned (empty when all
  is valid). A prompt with at least one valid output is accepted; the
  others' errors come back, as from the server.
* Only nodes that feed an output node (through declared inputs) are checked.
  Inputs a class does not declare are ignored, as the server ignores them.

Refused locally although the server would queue them (``status`` None,
``error_type`` ``invalid_workflow``), because ComfyUI 0.3.75 accepts them
and its worker thread then dies, so the server runs nothing again:

* a node without an ``inputs`` dict anywhere in an accepted prompt (the
  cache key pass reads every node's ``inputs`` outside any ``try``);
* an undeclared input holding a link to a node that does not exist, on a
  node that will run: undeclared inputs are not validated, so even a
  one-output prompt is accepted, but the execution list follows every link
  and raises ``NodeNotFoundError`` outside any ``try`` (seen on a throwaway
  0.3.75 server: 200, then nothing runs again).

A value nested deeper than :data:`comfy_core.workflow.MAX_NESTING` is
refused up front (status None): 0.3.75 accepted a 900-deep list in an
undeclared input, then its worker died of ``RecursionError``. A node that
is not a dict, or whose ``inputs`` is not a dict, is refused the same way:
the server answers those with a 500 or a crash, not with a verdict. So is a
prompt that is not JSON.

What cannot be known offline, and what is done instead:

* **Custom validation** (``VALIDATE_INPUTS``/``validate_inputs``) is server
  code that ``object_info`` does not describe. The core classes of 0.3.75
  that define it are listed in :data:`CUSTOM_VALIDATION`; for those the
  server's own bookkeeping is reproduced (the inputs it takes skip the
  min/max/list checks, ``input_types`` skips the type check, a missing
  argument is a ``TypeError``). Custom nodes' validators are unknown: their
  inputs are checked like any other, which may report errors the server
  would not.
* **Whether a file exists** (``LoadImage``, ``LoadImageMask``,
  ``LoadImageOutput``, ``WebcamCapture``, ``LoadLatent``, ``LoadAudio``,
  ``LoadVideo``): the combo list in ``object_info`` is the file listing at
  the time it was fetched, so a name in it passes and any other plain name
  gives ``custom_validation_failed`` with the server's message. Files added
  or removed since, names with a folder (``sub/a.png``), a ``..``, an
  annotation (``a.png [output]``) or an empty name cannot be checked: they
  pass. A file that exists but is not listed (``LoadImage`` lists images
  only) is reported although the server would accept it.
* The other core validators (``KlingCameraControls``,
  ``FluxProUltraImageNode``, ``TripoConversionNode``, all API nodes) are not
  run: their ``custom_validation_failed`` errors are never predicted.
* **Type names**: ``"*"`` is taken as a wildcard (ComfyUI's ``IO.ANY`` and
  V3 types compare so; a plain string ``"*"`` would not), and two type lists
  match when they share a type, as ``validate_node_input`` does.
* **Order**: the server keeps its outputs and each node's inputs in Python
  sets, whose order changes with the process's hash seed. Where that order
  shows, this follows the prompt's order and ``input_order``: which output's
  reasons come first in the top-level ``details``; which consumer's
  ``input_name`` an ``exception_during_inner_validation`` carries when two
  consumers link to the same failing node. ``dependent_outputs`` lists the
  failed outputs whose validation reached the node; the server appends every
  output that fails after the node's first report, depending on that order.
* **Tracebacks** (``extra_info.traceback``) are the server's own frames; the
  local ones are empty lists.
* **Cycles** make the server recurse until ``RecursionError``; the frames
  that unwind overwrite the error each caught, so the output fails with no
  node error of the cycle's own (a node off the cycle may keep one, by hash
  seed). Here a cycle fails its output with no error of its own, without the
  recursion.
* **Prompt rewriters** of custom nodes (``on_prompt`` handlers) may change a
  prompt before the server validates it; they are not run.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from comfy_core.errors import InputError, NodeError, WorkflowValidationError
from comfy_core.routes import read_node_errors, validation_error
from comfy_core.schema import NodeSchema
from comfy_core.workflow import MAX_NESTING, nesting_depth

__all__ = ["CUSTOM_VALIDATION", "FILE_CHECKS", "validate_prompt"]

# The arguments of each core 0.3.75 class's VALIDATE_INPUTS / validate_inputs
# (without cls), by class name, and the qualified name of the function (it
# shows in a missing-argument TypeError).
CUSTOM_VALIDATION: Mapping[str, tuple[str, tuple[str, ...]]] = {
    "LoadImage": ("LoadImage.VALIDATE_INPUTS", ("image",)),
    "LoadImageOutput": ("LoadImage.VALIDATE_INPUTS", ("image",)),
    "WebcamCapture": ("LoadImage.VALIDATE_INPUTS", ("image",)),
    "LoadImageMask": ("LoadImageMask.VALIDATE_INPUTS", ("image",)),
    "LoadLatent": ("LoadLatent.VALIDATE_INPUTS", ("latent",)),
    "LoadAudio": ("LoadAudio.VALIDATE_INPUTS", ("audio",)),
    "LoadVideo": ("LoadVideo.validate_inputs", ("file",)),
    "KlingCameraControls": (
        "KlingCameraControls.validate_inputs",
        ("horizontal_movement", "vertical_movement", "pan", "tilt", "roll", "zoom"),
    ),
    "FluxProUltraImageNode": ("FluxProUltraImageNode.validate_inputs", ("aspect_ratio",)),
    "TripoConversionNode": ("TripoConversionNode.validate_inputs", ("input_types",)),
}

# Validators that only check that a file exists: class -> the message format.
FILE_CHECKS: Mapping[str, str] = {
    "LoadImage": "Invalid image file: {}",
    "LoadImageOutput": "Invalid image file: {}",
    "WebcamCapture": "Invalid image file: {}",
    "LoadImageMask": "Invalid image file: {}",
    "LoadLatent": "Invalid latent file: {}",
    "LoadAudio": "Invalid audio file: {}",
    "LoadVideo": "Invalid video file: {}",
}

_ANNOTATIONS = ("[output]", "[input]", "[temp]")


def _refuse(
    message: str, node_id: str, class_type: str | None, kind: str
) -> WorkflowValidationError:
    return WorkflowValidationError(
        error_type="invalid_workflow",
        message=message,
        node_errors=(
            NodeError(
                node_id=node_id,
                class_type=class_type,
                errors=(InputError(type=kind, message=message),),
            ),
        ),
        status=None,
    )


def _is_link(value: Any) -> bool:
    # comfy_execution.graph_utils.is_link: what execution follows as a link.
    return (
        isinstance(value, list)
        and len(value) == 2
        and isinstance(value[0], str)
        and isinstance(value[1], (int, float))
    )


def _full_type_name(exc: BaseException) -> str:
    klass = type(exc)
    if klass.__module__ == "builtins":
        return klass.__qualname__
    return f"{klass.__module__}.{klass.__qualname__}"


def _types_match(received: Any, expected: Any) -> bool:
    """``validate_node_input`` (not strict), with ``"*"`` as ComfyUI's typed ANY."""
    if isinstance(received, str) and isinstance(expected, str):
        if received == expected or received == "*" or expected == "*":
            return True
        got = {t.strip() for t in received.split(",")}
        want = {t.strip() for t in expected.split(",")}
        return bool(got & want)
    return bool(received == expected)


def _is_v3(info: Mapping[str, Any]) -> bool:
    # V3 nodes are described by a dataclass that always has these keys; a
    # legacy node has them only when set (and never all four in core).
    return all(k in info for k in ("api_node", "deprecated", "experimental", "output_tooltips"))


def _python_type_name(value: Any) -> str:
    return "NoneType" if value is None else type(value).__name__


class _ValidateInputsError(Exception):
    """Stands for an exception the server's validator would raise."""

    def __init__(self, type_name: str, message: str) -> None:
        super().__init__(message)
        self.type_name = type_name


@dataclass
class _Result:
    valid: bool
    reasons: list[dict[str, Any]]
    reached: set[str] = field(default_factory=set)


class _Validator:
    def __init__(self, prompt: dict[str, Any], infos: Mapping[str, Mapping[str, Any]]) -> None:
        self.prompt = prompt
        self.infos = infos
        self.validated: dict[str, _Result] = {}
        self.active: set[str] = set()

    # -- one node (validate_inputs) -------------------------------------------

    def node(self, unique_id: str) -> _Result:
        if unique_id in self.validated:
            return self.validated[unique_id]
        if unique_id in self.active:
            # A cycle: the server recurses until RecursionError and the
            # unwinding frames overwrite what was caught (see the docstring).
            return _Result(valid=False, reasons=[])
        self.active.add(unique_id)
        try:
            return self._node(unique_id)
        finally:
            self.active.discard(unique_id)

    def _node(self, unique_id: str) -> _Result:
        node = self.prompt[unique_id]
        inputs = node["inputs"]  # KeyError('inputs'), as on the server
        class_type = node["class_type"]
        info = self.infos[class_type]
        sections = info.get("input") or {}
        order = info.get("input_order") or {}
        custom = CUSTOM_VALIDATION.get(class_type)
        validate_args: tuple[str, ...] = custom[1] if custom else ()

        errors: list[dict[str, Any]] = []
        valid = True
        reached: set[str] = set()
        received_types: dict[str, Any] = {}

        for x, category, input_type, extra in _declared(sections, order):
            if x not in inputs:
                if category == "required":
                    errors.append(
                        {
                            "type": "required_input_missing",
                            "message": "Required input is missing",
                            "details": f"{x}",
                            "extra_info": {"input_name": x},
                        }
                    )
                continue
            val = inputs[x]
            config = [input_type, extra]
            if isinstance(val, list):
                if len(val) != 2:
                    errors.append(
                        {
                            "type": "bad_linked_input",
                            "message": "Bad linked input, must be a length-2 list of "
                            "[node_id, slot_index]",
                            "details": f"{x}",
                            "extra_info": {
                                "input_name": x,
                                "input_config": config,
                                "received_value": val,
                            },
                        }
                    )
                    continue
                o_id = val[0]
                o_class_type = self.prompt[o_id]["class_type"]  # KeyError / TypeError
                o_info = self.infos[o_class_type]
                outputs = o_info.get("output") or []
                return_types = list(outputs) if _is_v3(o_info) else tuple(outputs)
                received_type = return_types[val[1]]  # IndexError / TypeError
                received_types[x] = received_type
                if "input_types" not in validate_args and not _types_match(
                    received_type, input_type
                ):
                    errors.append(
                        {
                            "type": "return_type_mismatch",
                            "message": "Return type mismatch between linked nodes",
                            "details": f"{x}, received_type({received_type}) "
                            f"mismatch input_type({input_type})",
                            "extra_info": {
                                "input_name": x,
                                "input_config": config,
                                "received_type": received_type,
                                "linked_node": val,
                            },
                        }
                    )
                    continue
                reached.add(o_id)
                try:
                    upstream = self.node(o_id)
                except Exception as ex:  # the server catches everything here
                    valid = False
                    self.validated[o_id] = _Result(
                        valid=False,
                        reasons=[
                            {
                                "type": "exception_during_inner_validation",
                                "message": "Exception when validating inner node",
                                "details": str(ex),
                                "extra_info": {
                                    "input_name": x,
                                    "input_config": config,
                                    "exception_message": str(ex),
                                    "exception_type": _exception_type(ex),
                                    "traceback": [],
                                    "linked_node": val,
                                },
                            }
                        ],
                    )
                    continue
                if upstream.valid is False:
                    valid = False
                continue

            if isinstance(val, dict) and "__value__" in val:
                val = val["__value__"]
                inputs[x] = val
            try:
                if input_type == "INT":
                    val = int(val)
                    inputs[x] = val
                if input_type == "FLOAT":
                    val = float(val)
                    inputs[x] = val
                if input_type == "STRING":
                    val = str(val)
                    inputs[x] = val
                if input_type == "BOOLEAN":
                    val = bool(val)
                    inputs[x] = val
            except Exception as ex:  # as the server
                errors.append(
                    {
                        "type": "invalid_input_type",
                        "message": f"Failed to convert an input value to a {input_type} value",
                        "details": f"{x}, {val}, {ex}",
                        "extra_info": {
                            "input_name": x,
                            "input_config": config,
                            "received_value": val,
                            "exception_message": str(ex),
                        },
                    }
                )
                continue

            if x in validate_args:
                continue
            if "min" in extra and val < extra["min"]:
                errors.append(
                    _range_error(
                        "value_smaller_than_min", "smaller than min", x, val, config, extra["min"]
                    )
                )
                continue
            if "max" in extra and val > extra["max"]:
                errors.append(
                    _range_error(
                        "value_bigger_than_max", "bigger than max", x, val, config, extra["max"]
                    )
                )
                continue
            if isinstance(input_type, list) and val not in input_type:
                too_long = len(input_type) > 20
                list_info = f"(list of length {len(input_type)})" if too_long else str(input_type)
                errors.append(
                    {
                        "type": "value_not_in_list",
                        "message": "Value not in list",
                        "details": f"{x}: '{val}' not in {list_info}",
                        "extra_info": {
                            "input_name": x,
                            "input_config": None if too_long else config,
                            "received_value": val,
                        },
                    }
                )
                continue

        if custom is not None:
            errors += self._custom(class_type, custom, inputs, sections, received_types)

        result = _Result(valid=not errors and valid, reasons=errors, reached=reached)
        self.validated[unique_id] = result
        return result

    def _custom(
        self,
        class_type: str,
        custom: tuple[str, tuple[str, ...]],
        inputs: Mapping[str, Any],
        sections: Mapping[str, Any],
        received_types: Mapping[str, Any],
    ) -> list[dict[str, Any]]:
        """The server's call of VALIDATE_INPUTS, for the validators we can run."""
        qualname, args = custom
        given: dict[str, Any] = {}
        for x, value in inputs.items():
            if x not in args or not any(x in (sections.get(s) or {}) for s in _SECTIONS):
                continue
            given[x] = None if _is_link(value) else value  # links are unresolved then
        if "input_types" in args:
            given["input_types"] = received_types
        missing = [a for a in args if a not in given]
        if missing:
            names = " and ".join(f"'{a}'" for a in missing)
            plural = "s" if len(missing) > 1 else ""
            raise _ValidateInputsError(
                "TypeError",
                f"{qualname}() missing {len(missing)} required positional "
                f"argument{plural}: {names}",
            )
        message = FILE_CHECKS.get(class_type)
        if message is None:
            return []  # a validator we cannot run offline
        (arg,) = args
        name = given[arg]
        if not isinstance(name, str):
            raise _ValidateInputsError(
                "AttributeError", f"'{_python_type_name(name)}' object has no attribute 'endswith'"
            )
        if _file_known(name, sections, arg):
            return []
        return [
            {
                "type": "custom_validation_failed",
                "message": "Custom validation failed for node",
                "details": f"{x} - {message.format(name)}",
                "extra_info": {"input_name": x},
            }
            for x in given
        ]

    # -- the whole prompt (validate_prompt) -----------------------------------

    def closure(self, output: str) -> set[str]:
        """The nodes whose validation ``output``'s validation reached."""
        seen = {output}
        todo = [output]
        while todo:
            result = self.validated.get(todo.pop())
            for nid in result.reached if result else ():
                if nid not in seen:
                    seen.add(nid)
                    todo.append(nid)
        return seen


_SECTIONS = ("required", "optional", "hidden")


def _declared(
    sections: Mapping[str, Any], order: Mapping[str, Any]
) -> list[tuple[str, str, Any, Mapping[str, Any]]]:
    """(name, category, type, options) of every required and optional input."""
    found: list[tuple[str, str, Any, Mapping[str, Any]]] = []
    seen: set[str] = set()
    for category in ("required", "optional"):
        entries = sections.get(category) or {}
        names = [n for n in order.get(category) or [] if n in entries]
        names += [n for n in entries if n not in names]
        for name in names:
            if name in seen:
                continue
            seen.add(name)
            spec = entries[name]
            spec = spec if isinstance(spec, list) else [spec]
            input_type = spec[0] if spec else None
            extra = spec[1] if len(spec) > 1 and isinstance(spec[1], Mapping) else {}
            found.append((name, category, input_type, extra))
    return found


def _file_known(name: str, sections: Mapping[str, Any], arg: str) -> bool:
    """Whether ``name`` passes the server's exists check, as far as we can tell."""
    for category in _SECTIONS:
        spec = (sections.get(category) or {}).get(arg)
        if isinstance(spec, list) and spec:
            choices = spec[0] if isinstance(spec[0], list) else None
            if choices is None and len(spec) > 1 and isinstance(spec[1], Mapping):
                options = spec[1].get("options")
                choices = options if isinstance(options, list) else None
            if choices is not None and name in choices:
                return True
    unknowable = (
        name in ("", ".")
        or name.endswith(_ANNOTATIONS)
        or "/" in name
        or "\\" in name
        or ".." in name
    )
    return unknowable


def _exception_type(ex: BaseException) -> str:
    return ex.type_name if isinstance(ex, _ValidateInputsError) else _full_type_name(ex)


def _range_error(
    kind: str, words: str, x: str, val: Any, config: list[Any], bound: Any
) -> dict[str, Any]:
    return {
        "type": kind,
        "message": f"Value {val} {words} of {bound}",
        "details": f"{x}",
        "extra_info": {"input_name": x, "input_config": config, "received_value": val},
    }


def _infos(object_info: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    infos: dict[str, Mapping[str, Any]] = {}
    for name, info in object_info.items():
        if isinstance(info, NodeSchema):
            infos[str(name)] = info.raw
        elif isinstance(info, Mapping):
            infos[str(name)] = info
    return infos


def validate_prompt(
    prompt: Mapping[str, Any],
    object_info: Mapping[str, Any],
    *,
    partial_execution_targets: Sequence[str] | None = None,
) -> tuple[NodeError, ...]:
    """Predict ComfyUI's verdict on ``POST /prompt`` for an API-format ``prompt``.

    ``object_info`` is the body of ``GET /object_info`` (or what
    ``get_object_info()`` returns: a dict of :class:`NodeSchema`). Raises
    :class:`WorkflowValidationError` with status 400 where the server would
    answer 400, and with status None for prompts the server would accept and
    then choke on (see the module docstring). Otherwise returns the node
    errors of the outputs that would be ignored: empty when all is valid.
    ``partial_execution_targets`` restricts the outputs as the server does.
    """
    try:
        copy = json.loads(json.dumps(prompt, allow_nan=True))
    except (TypeError, ValueError, RecursionError) as exc:
        raise WorkflowValidationError(
            error_type="invalid_workflow",
            message=f"the prompt is not JSON: {exc}",
            status=None,
        ) from exc
    if not isinstance(copy, dict):
        raise WorkflowValidationError(
            error_type="invalid_workflow",
            message=f"a prompt must be a dict of nodes, not {type(prompt).__name__}",
            status=None,
        )
    for node_id, node in copy.items():
        if not isinstance(node, dict):
            raise _refuse("a node must be a dict", node_id, None, "invalid_node")
        class_type = node.get("class_type")
        class_name = class_type if isinstance(class_type, str) else None
        if "inputs" in node and not isinstance(node["inputs"], dict):
            raise _refuse("'inputs' must be a dict", node_id, class_name, "invalid_inputs")
        for name, value in (node.get("inputs") or {}).items():
            if nesting_depth(value) > MAX_NESTING:
                raise _refuse(
                    f"input {name!r} is nested more than {MAX_NESTING} levels deep; "
                    "ComfyUI 0.3.75 would accept it and its worker would stop for good",
                    node_id,
                    class_name,
                    "value_too_deep",
                )
    infos = _infos(object_info)
    return _verdict(copy, infos, partial_execution_targets)


def _top_level(
    error_type: str, message: str, details: str = "", node_errors: Any = None
) -> WorkflowValidationError:
    body = {
        "error": {"type": error_type, "message": message, "details": details, "extra_info": {}},
        "node_errors": node_errors or {},
    }
    return validation_error(body)


def _verdict(
    prompt: dict[str, Any],
    infos: Mapping[str, Mapping[str, Any]],
    partial: Sequence[str] | None,
) -> tuple[NodeError, ...]:
    outputs: list[str] = []
    for x, node in prompt.items():
        if "class_type" not in node:
            raise _top_level(
                "invalid_prompt",
                "Cannot execute because a node is missing the class_type property.",
                f"Node ID '#{x}'",
            )
        class_type = node["class_type"]
        if isinstance(class_type, (list, dict)):
            raise _refuse("'class_type' must be a string", x, None, "missing_class_type")
        info = infos.get(class_type) if isinstance(class_type, str) else None
        if info is None:
            raise _top_level(
                "invalid_prompt",
                f"Cannot execute because node {class_type} does not exist.",
                f"Node ID '#{x}'",
            )
        if info.get("output_node") is True and (partial is None or x in partial):
            outputs.append(x)
    if not outputs:
        raise _top_level("prompt_no_outputs", "Prompt has no outputs")

    v = _Validator(prompt, infos)
    good: list[str] = []
    failed: list[tuple[str, list[dict[str, Any]]]] = []
    for o in outputs:
        try:
            result = v.node(o)
        except Exception as ex:  # the server catches everything here
            result = _Result(
                valid=False,
                reasons=[
                    {
                        "type": "exception_during_validation",
                        "message": "Exception when validating node",
                        "details": str(ex),
                        "extra_info": {"exception_type": _exception_type(ex), "traceback": []},
                    }
                ],
            )
            v.validated[o] = result
        if result.valid:
            good.append(o)
        else:
            failed.append((o, result.reasons))

    node_errors: dict[str, dict[str, Any]] = {}
    for o, _ in failed:
        reached = v.closure(o)
        for node_id, result in v.validated.items():
            if result.valid or not result.reasons or node_id not in reached:
                continue
            entry = node_errors.setdefault(
                node_id,
                {
                    "errors": result.reasons,
                    "dependent_outputs": [],
                    "class_type": prompt[node_id]["class_type"],
                },
            )
            entry["dependent_outputs"].append(o)

    if not good:
        details = "\n".join(
            f"{e['message']}: {e['details']}" for _, reasons in failed for e in reasons
        )
        raise _top_level(
            "prompt_outputs_failed_validation",
            "Prompt outputs failed validation",
            details,
            node_errors,
        )
    _check_runnable(prompt, good)
    return read_node_errors(node_errors)


def _check_runnable(prompt: Mapping[str, Any], good: Collection[str]) -> None:
    """Refuse an accepted prompt that would kill the server's worker (module docstring)."""
    for node_id, node in prompt.items():
        if "inputs" not in node:
            raise _refuse(
                "the node has no 'inputs'; ComfyUI 0.3.75 would accept this prompt "
                "and its worker would stop for good",
                node_id,
                node.get("class_type") if isinstance(node.get("class_type"), str) else None,
                "missing_inputs",
            )
    seen = set(good)
    todo = list(good)
    while todo:
        node_id = todo.pop()
        node = prompt[node_id]
        for name, value in node["inputs"].items():
            if not _is_link(value):
                continue
            target = value[0]
            if target not in prompt:
                raise _refuse(
                    f"input {name!r} links to node {target!r}, which does not exist; "
                    "ComfyUI 0.3.75 would accept this prompt and its worker would stop for good",
                    node_id,
                    node.get("class_type") if isinstance(node.get("class_type"), str) else None,
                    "dangling_link",
                )
            if target not in seen:
                seen.add(target)
                todo.append(target)
