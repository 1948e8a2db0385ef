"""The two text rewrites the frontend applies to widget values at export time.

* :func:`process_dynamic_prompt`: a STRING input with ``dynamicPrompts`` loses
  its ``//`` and ``/* */`` comments and each ``{a|b|c}`` becomes one random
  choice (nesting allowed, ``\\`` escapes).
* :func:`apply_text_replacements`: a Save node's ``filename_prefix`` has
  ``%date:yyyy-MM-dd%`` and ``%Node.widget%`` replaced.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

__all__ = ["apply_text_replacements", "format_date", "process_dynamic_prompt"]

_COMMENTS = re.compile(r"/\*[\s\S]*?\*/|//.*")
_UNESCAPE = re.compile(r"\\([{}|])")


def process_dynamic_prompt(text: str, rng: random.Random | None = None) -> str:
    """Strip comments and resolve ``{a|b}`` choices (random, like the frontend)."""
    choose = (rng or random).choice
    source = _COMMENTS.sub("", text)
    return _UNESCAPE.sub(r"\1", _expand(source, choose))


def _expand(source: str, choose: Callable[[list[str]], str]) -> str:
    result = []
    i = 0
    while i < len(source):
        char = source[i]
        i += 1
        if char == "\\":
            result.append("\\" + (source[i] if i < len(source) else "undefined"))
            i += 1
        elif char == "{":
            options, i = _choice_block(source, i)
            result.append(_expand(_COMMENTS.sub("", choose(options)), choose))
        else:
            result.append(char)
    return "".join(result)


def _choice_block(source: str, i: int) -> tuple[list[str], int]:
    options: list[str] = []
    choice = []
    depth = 0
    while i < len(source):
        char = source[i]
        i += 1
        if char == "\\":
            choice.append("\\" + (source[i] if i < len(source) else "undefined"))
            i += 1
            continue
        if char == "{":
            depth += 1
        elif char == "}":
            if not depth:
                break
            depth -= 1
        elif char == "|" and not depth:
            options.append("".join(choice))
            choice = []
            continue
        choice.append(char)
    options.append("".join(choice))
    return options, i


_DATE_PARTS = re.compile(r"dd?|MM?|hh?|mm?|ss?|yyy?y?")


def format_date(pattern: str, when: datetime) -> str:
    """The frontend's small date formatter (``yyyy``, ``yy``, ``MM``, ``dd``, ``hh``...)."""

    def part(match: re.Match[str]) -> str:
        text = match.group(0)
        if text == "yy":
            return str(when.year)[2:]
        if text == "yyyy":
            return str(when.year)
        value = {"d": when.day, "M": when.month, "h": when.hour, "m": when.minute,
                 "s": when.second}.get(text[0])  # fmt: skip
        return text if value is None else str(value).rjust(len(text), "0")

    return _DATE_PARTS.sub(part, pattern)


_PATTERN = re.compile(r"%([^%]+)%")
_UNSAFE = re.compile(r'[/?<>\\:*|"\x00-\x1f\x7f]')


def apply_text_replacements(
    value: str,
    nodes: Iterable[tuple[str | None, Any, Callable[[str], Any]]],
    now: datetime | None = None,
) -> str:
    """Replace ``%date:...%`` and ``%Node.widget%`` in ``value``.

    ``nodes`` gives, for every node of the workflow, its title, its
    ``Node name for S&R`` property and a lookup from widget name to value
    (raising KeyError when the node has no such widget).
    """
    table = list(nodes)

    def replace(match: re.Match[str]) -> str:
        text = match.group(1)
        split = text.split(".")
        if len(split) != 2:
            if split[0].startswith("date:"):
                return format_date(split[0][5:], now or datetime.now())
            return match.group(0)
        found = [n for n in table if n[1] == split[0]] or [n for n in table if n[0] == split[0]]
        if not found:
            return match.group(0)
        try:
            widget_value = found[0][2](split[1])
        except KeyError:
            return match.group(0)
        return _UNSAFE.sub("_", _js_string(widget_value))

    return _PATTERN.sub(replace, value)


def _js_string(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
