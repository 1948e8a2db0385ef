"""A full session with a sentinel secret in every credential position leaks it nowhere:
not in a log record (ours or the libraries'), a repr, an exception message or a traceback."""

from __future__ import annotations

import logging
import traceback
from typing import Any
from urllib.parse import urlsplit

import pytest

from comfy_api_client import (
    HTTPStatusError,
    NodeExecutionError,
    OutputFile,
    WorkflowValidationError,
    create_client,
)
from comfy_core.errors import ComfyError
from tests.workflows import execution_error, save_image

SENTINEL = "S3ntinel-d0-not-leak"


def positions(url: str) -> dict[str, tuple[str, dict[str, Any]]]:
    parts = urlsplit(url)
    return {
        "userinfo": (f"http://comfy:{SENTINEL}@{parts.netloc}", {}),
        "basic auth": (url, {"auth": ("comfy", SENTINEL)}),
        "bearer token": (url, {"token": SENTINEL}),
        "api key header": (url, {"headers": {"X-API-Key": SENTINEL}}),
        "query token": (f"{url}/?token={SENTINEL}", {}),
    }


def text_of(error: BaseException) -> str:
    return "".join(traceback.format_exception(type(error), error, error.__traceback__)) + repr(
        error
    )


@pytest.mark.parametrize(
    "position", ["userinfo", "basic auth", "bearer token", "api key header", "query token"]
)
@pytest.mark.parametrize("tracker", ["websocket", "http"])
async def test_sentinel_never_leaks(
    comfy_url: str, fresh_color: int, position: str, tracker: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, the libraries' included
    url, options = positions(comfy_url)[position]
    seen: list[str] = []
    async with create_client(url, start_state_tracker=tracker, **options) as client:
        seen += [
            repr(client),
            repr(client.transport),
            repr(client.url),
            client.url.base,
            str(client.hooks.pm.list_name_plugin()),
        ]
        result = await client.run(save_image(fresh_color, prefix="sdk_secret"), timeout=30)
        seen += [repr(result), repr(result.output_images)]
        errors: list[BaseException] = []
        with pytest.raises(NodeExecutionError) as failed:
            await client.run(execution_error(), timeout=30)
        errors.append(failed.value)
        bad = save_image(1)
        del bad["1"]["inputs"]["color"]
        with pytest.raises(WorkflowValidationError) as refused:
            await client.submit_workflow(bad)
        errors.append(refused.value)
        with pytest.raises(HTTPStatusError) as missing:
            await client.download(OutputFile(node_id="1", kind="images", filename="missing.png"))
        errors.append(missing.value)
    wrong = url.replace(str(urlsplit(comfy_url).port), "9")
    with pytest.raises(ComfyError) as unreachable:
        async with create_client(wrong, http_timeout=5, **options):
            pass
    errors.append(unreachable.value)

    assert any(r.name.startswith("comfy_api_client") for r in caplog.records)
    assert any(r.name == "httpx" for r in caplog.records)  # the library logged, redacted
    for record in caplog.records:
        assert SENTINEL not in record.getMessage(), record.name
        assert SENTINEL not in str(record.__dict__), record.name
    assert SENTINEL not in caplog.text
    for text in seen:
        assert SENTINEL not in text
    for error in errors:
        assert SENTINEL not in text_of(error)
        cause = error.__cause__
        while cause is not None:
            assert SENTINEL not in text_of(cause)
            cause = cause.__cause__
