"""``--set`` values offline: parsed by the parameter's type, usage errors in the CLI's words."""

from __future__ import annotations

from typing import Any

import click
import pytest

from comfy_api_client.cli.values import parse_value


@pytest.mark.parametrize(
    ("text", "kind", "expected"),
    [
        ("12", "INT", 12),
        ("0x10", "INT", 16),
        ("1.5", "FLOAT", 1.5),
        ("yes", "BOOLEAN", True),
        ("Off", "BOOLEAN", False),
        ("12", "STRING", "12"),
        ("euler", "COMBO", "euler"),
    ],
)
def test_parse_value(text: str, kind: str, expected: Any) -> None:
    got = parse_value(text, kind)
    assert got == expected and type(got) is type(expected)


@pytest.mark.parametrize(
    ("text", "kind", "message"),
    [
        ("many", "INT", "'many' is not INT"),
        ("x", "FLOAT", "'x' is not FLOAT"),
        ("maybe", "BOOLEAN", "'maybe' is not a BOOLEAN"),
    ],
)
def test_a_value_that_does_not_parse_is_a_usage_error(text: str, kind: str, message: str) -> None:
    with pytest.raises(click.BadParameter) as caught:
        parse_value(text, kind)
    assert caught.value.format_message() == f"Invalid value for --set: {message}"
    assert caught.value.__cause__ is None
