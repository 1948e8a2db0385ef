"""Built-in plugin: log through the standard ``logging`` module, one logger per layer.

Loggers: ``comfy_api_client.http`` (requests; DEBUG per response, WARNING per
failure), ``comfy_api_client.events`` (DEBUG per protocol event),
``comfy_api_client.prompts`` (INFO per outcome) and ``comfy_api_client.client``
(INFO on open and close). Records carry structured fields in ``extra``:
``prompt_id``, ``node``, ``method``, ``route``, ``status``, ``elapsed``.

Credentials never reach a record: routes are logged without their query,
headers are not logged, and URLs go through :func:`comfy_core.redact.redact_url`.
Nothing is printed unless the application configures logging.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from comfy_api_client.hookspecs import hookimpl
from comfy_core.errors import ComfyExecutionError
from comfy_core.events import Event
from comfy_core.http import Request, Response
from comfy_core.redact import redact_url
from comfy_core.results import PromptResult

http_log = logging.getLogger("comfy_api_client.http")
event_log = logging.getLogger("comfy_api_client.events")
prompt_log = logging.getLogger("comfy_api_client.prompts")
client_log = logging.getLogger("comfy_api_client.client")


def _node_of(event: Event) -> str | None:
    for name in ("node", "node_id"):
        value = getattr(event, name, None)
        if isinstance(value, str):
            return value
    return None


@hookimpl
def comfy_response_received(request: Request, response: Response, elapsed: float) -> None:
    level = logging.DEBUG if response.status < 400 else logging.WARNING
    if not http_log.isEnabledFor(level):  # skip building the record's extras for nothing
        return
    http_log.log(
        level,
        "%s %s -> %d in %.1f ms",
        request.method,
        request.path,
        response.status,
        elapsed * 1000,
        extra={
            "method": request.method,
            "route": request.path,
            "status": response.status,
            "elapsed": elapsed,
        },
    )


@hookimpl
def comfy_request_failed(request: Request, error: Exception, elapsed: float) -> None:
    http_log.warning(
        "%s %s failed after %.1f ms: %s",
        request.method,
        request.path,
        elapsed * 1000,
        error,
        extra={"method": request.method, "route": request.path, "status": None, "elapsed": elapsed},
    )


@hookimpl
def comfy_event(event: Event) -> None:
    if event_log.isEnabledFor(logging.DEBUG):
        event_log.debug(
            "%s prompt=%s node=%s",
            type(event).__name__,
            event.prompt_id,
            _node_of(event),
            extra={"prompt_id": event.prompt_id, "node": _node_of(event)},
        )


@hookimpl
def comfy_prompt_finished(result: PromptResult, stored: Mapping[str, list[str]]) -> None:
    prompt_log.info(
        "prompt %s succeeded with %d output file(s)",
        result.prompt_id,
        len(result.files),
        extra={"prompt_id": result.prompt_id, "node": None},
    )


@hookimpl
def comfy_prompt_failed(prompt_id: str, error: ComfyExecutionError) -> None:
    prompt_log.warning(
        "prompt %s failed: %s",
        prompt_id,
        error,
        extra={"prompt_id": prompt_id, "node": getattr(error, "node_id", None)},
    )


@hookimpl
def comfy_client_opened(client: Any) -> None:
    client_log.info("client opened for %s", redact_url(client.url.base))


@hookimpl
def comfy_client_closed(client: Any) -> None:
    client_log.info("client closed for %s", redact_url(client.url.base))
