"""Parameter rows: the values of a batch, one row per prompt, read from a file.

A row maps names to values. A name is a template parameter (``seed``), a
parameter name (``KSampler.seed``, as :meth:`Workflow.parameters` gives it)
or an input address (``3.seed``), as the command line's ``--set`` takes them.

:func:`read_rows` reads JSON Lines (one object per line, values typed) or CSV
(a header of names, every value a string, an empty cell leaving the input as
it is). :func:`render_row` makes one :class:`Workflow` of a row; a string
given for an INT, FLOAT or BOOLEAN input is parsed first (:func:`coerce`),
so CSV cells and JSON values mean the same.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from comfy_core.errors import InvalidArgument, ParameterError
from comfy_core.workflows.addressing import describe_node, resolve_input
from comfy_core.workflows.editing import declared_inputs
from comfy_core.workflows.model import NodeInfo, Workflow, raw_object_info
from comfy_core.workflows.params import Parameter, _spec
from comfy_core.workflows.template import Template

__all__ = ["ROW_SUFFIXES", "coerce", "read_rows", "render_row"]

ROW_SUFFIXES = (".jsonl", ".ndjson", ".csv")
_TRUE, _FALSE = ("true", "1", "yes", "on"), ("false", "0", "no", "off")


# -- reading -----------------------------------------------------------------------------


def read_rows(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The rows of a ``.jsonl``/``.ndjson`` or ``.csv`` file, in file order.

    JSON Lines: one JSON object per line, blank lines skipped. CSV: the header
    holds the names; values stay strings and an empty cell drops its name
    from the row (the input keeps its value). A line that is not a JSON
    object, a CSV row with more cells than the header, an empty or repeated
    header name raise :class:`~comfy_core.errors.InvalidArgument` naming the
    file and the line; so does a file that cannot be read.
    """
    where = Path(path)
    suffix = where.suffix.lower()
    if suffix not in ROW_SUFFIXES:
        raise InvalidArgument(
            f"cannot read rows from {str(where)!r}: use a {', '.join(ROW_SUFFIXES)} file"
        )
    try:
        # utf-8-sig: spreadsheets often start a CSV export with a byte order mark;
        # newline="": line ends inside quoted CSV cells stay as they are.
        with where.open(encoding="utf-8-sig", newline="") as stream:
            text = stream.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidArgument(f"cannot read rows from {str(where)!r}: {exc}") from exc
    return _read_csv(where, text) if suffix == ".csv" else _read_jsonl(where, text)


def _read_jsonl(where: Path, text: str) -> list[dict[str, Any]]:
    rows = []
    # Split on "\n" only: str.splitlines would also split at U+2028, which JSON
    # allows unescaped inside a string.
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as exc:
            raise InvalidArgument(f"{str(where)!r}, line {number}: not JSON ({exc})") from exc
        if not isinstance(row, dict):
            raise InvalidArgument(
                f"{str(where)!r}, line {number}: a row is a JSON object of names and values, "
                f"not {type(row).__name__}"
            )
        rows.append(row)
    return rows


def _read_csv(where: Path, text: str) -> list[dict[str, Any]]:
    reader = csv.DictReader(io.StringIO(text, newline=""), strict=True)
    try:
        if not reader.fieldnames:
            raise InvalidArgument(f"{str(where)!r}: the CSV file has no header of names")
        # "seed, steps" is two names, not "seed" and " steps".
        names = reader.fieldnames = [name.strip() for name in reader.fieldnames]
        for position, name in enumerate(names, start=1):
            if not name:
                raise InvalidArgument(
                    f"{str(where)!r}, line 1: header column {position} has no name"
                )
            if names.index(name) != position - 1:
                raise InvalidArgument(f"{str(where)!r}, line 1: column {name!r} appears twice")
        rows = []
        for record in reader:
            if None in record:  # DictReader's key for the cells past the header
                raise InvalidArgument(
                    f"{str(where)!r}, line {reader.line_num}: {len(names) + len(record[None])} "
                    f"cells, but the header names {len(names)}"
                )
            # A short row fills its missing cells with None: unset, like an empty cell.
            rows.append({k: v for k, v in record.items() if v is not None and v != ""})
        return rows
    except csv.Error as exc:
        # The csv reader's own count: DictReader's is only updated by a row read whole.
        line = reader.reader.line_num
        raise InvalidArgument(f"{str(where)!r}, line {line}: {exc}") from exc


# -- values ----------------------------------------------------------------------------------


def coerce(value: Any, kind: str) -> Any:
    """``value`` as a value of an input of type ``kind``.

    A string for an ``INT`` (``"12"``, ``"0x10"``, ``"007"``), ``FLOAT``
    (``"1.5"``) or ``BOOLEAN`` (``true``/``false``, ``yes``/``no``,
    ``1``/``0``, ``on``/``off``, any case) is parsed; a string that does not
    parse raises :class:`~comfy_core.errors.InvalidArgument` saying the value
    and the kind. Anything else, and strings for other kinds, come back as given.
    """
    if not isinstance(value, str):
        return value
    if kind == "INT":
        try:
            return int(value, 0)
        except ValueError:
            pass
        try:
            return int(value, 10)  # "007": base 0 refuses leading zeros, a person means 7
        except ValueError:
            raise InvalidArgument(f"{value!r} is not {kind}") from None
    if kind == "FLOAT":
        try:
            return float(value)
        except ValueError:
            raise InvalidArgument(f"{value!r} is not {kind}") from None
    if kind == "BOOLEAN":
        word = value.strip().lower()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
        raise InvalidArgument(f"{value!r} is not a BOOLEAN")
    return value


def _coerced(value: Any, param: Parameter, column: str) -> Any:
    """``coerce`` by ``param``'s type; a failure is a ParameterError naming the column."""
    try:
        if not param.declared and param.type in ("INT", "FLOAT") and isinstance(value, str):
            # A type read off the current value: 8 may stand in a FLOAT input.
            try:
                return coerce(value, "INT")
            except InvalidArgument:
                try:
                    return coerce(value, "FLOAT")
                except InvalidArgument:
                    raise InvalidArgument(f"{value!r} is not a number") from None
        return coerce(value, param.type)
    except InvalidArgument as exc:
        node = describe_node(
            NodeInfo(id=param.node_id, class_type=param.class_type, title=param.title)
        )
        raise ParameterError(
            f"column {column!r} ({node}, input {param.input!r}): {exc}; allowed: {param.allowed()}",
            allowed=param.allowed(),
            node_id=param.node_id,
            title=param.title,
            node_type=param.class_type,
            input_name=param.input,
            parameter=column,
        ) from exc


# -- rendering -----------------------------------------------------------------------------


def render_row(
    source: Template | Workflow,
    row: Mapping[str, Any],
    object_info: Mapping[str, Any] | None = None,
) -> Workflow:
    """The workflow of one row (see the module doc).

    For a :class:`Template`, the names that are its parameters are rendered
    (the others keep their defaults; a ``{{placeholder}}`` takes a string, a
    declared parameter a value of its first input's type, or one per input);
    the remaining names are addresses set on the rendered workflow. For a
    :class:`Workflow`, every name is a parameter name or an address, set with
    :meth:`Workflow.set`. Errors are the template's and the workflow's own
    (:class:`~comfy_core.errors.ParameterError`, ``NodeNotFoundError``, ...,
    naming the node and the input); a value that does not parse is a
    ParameterError naming the row's column.
    """
    if isinstance(source, Template):
        return _render_template(source, row, object_info)
    return _set(source, row, object_info)


def _render_template(
    template: Template, row: Mapping[str, Any], object_info: Mapping[str, Any] | None
) -> Workflow:
    names = set(template.names)
    values = template.defaults()
    rest: dict[str, Any] = {}
    for name, value in row.items():
        if name in names:
            targets = template.targets(name)
            if name in template.placeholders:
                values[name] = value  # text: the template says so if it is not a str
            elif len(targets) > 1 and isinstance(value, (list, tuple)):
                spread = [_coerced(v, t, name) for t, v in zip(targets, value, strict=False)]
                # Extra values stay: the template says how many it takes.
                values[name] = spread + list(value[len(targets) :])
            else:
                values[name] = _coerced(value, targets[0], name)
        elif "." not in name:
            values[name] = value  # no address either: the template names its parameters
        else:
            rest[name] = value
    rendered = template.render(values)
    if not rest:
        return rendered
    # The template's own object_info types the addresses when the caller gives none.
    return _set(rendered, rest, template._object_info if object_info is None else object_info)


def _set(
    workflow: Workflow, row: Mapping[str, Any], object_info: Mapping[str, Any] | None
) -> Workflow:
    api = workflow.to_api()
    declared = declared_inputs(object_info)
    params = {(p.node_id, p.input): p for p in workflow.parameters(object_info)}
    values = {}
    for name, value in row.items():
        # Resolved here, not only by set(), so that any spelling of the address
        # (title, class_type, id) finds the input's type; an unknown one raises
        # the same error set() would.
        info, input_name = resolve_input(api, workflow.nodes, name, declared=declared)
        param = params.get((info.id, input_name)) or _absent(info, input_name, object_info)
        values[name] = value if param is None else _coerced(value, param, name)
    return workflow.set(values, object_info=object_info)


def _absent(
    info: NodeInfo, input_name: str, object_info: Mapping[str, Any] | None
) -> Parameter | None:
    """An input the class declares but the prompt leaves out, typed by ``object_info``."""
    if object_info is None:
        return None
    spec = _spec(raw_object_info(object_info).get(info.class_type or ""), input_name)
    if spec is None:
        return None
    return Parameter(
        name=f"{info.id}.{input_name}",
        node_id=info.id,
        title=info.title,
        class_type=info.class_type,
        input=input_name,
        type=spec[0],
        value=None,
    )
