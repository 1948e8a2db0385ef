"""The hooks a plugin can implement, each prefixed ``comfy_``.

Write a plugin as a module or object with functions marked ``@hookimpl``
(import it from ``comfy_api_client``) and named like the specs below; a plugin
may accept fewer arguments than a spec offers. Register it with
``create_client(..., plugins=[my_plugin])``, or for every client through the
entry-point group ``comfy_api_client`` in your package's metadata.

Hooks are plain functions, called synchronously on the client's thread: they
receive values and return values or decisions, and must not do network I/O.
Keep them quick; the async client runs ``comfy_store_output`` (which writes
files) in a worker thread.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pluggy

from comfy_core.errors import ComfyExecutionError
from comfy_core.events import Event
from comfy_core.http import Request, Response
from comfy_core.outputs import OutputFile
from comfy_core.results import PromptResult

PROJECT = "comfy_api_client"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def comfy_client_opened(client: Any) -> None:
    """Called once the client is connected and ready, before ``create_client`` yields.

    ``client`` is the client object (async or sync). Return value ignored.
    """


@hookspec
def comfy_client_closed(client: Any) -> None:
    """Called when the client has closed (pending futures failed, connections released).

    Return value ignored.
    """


@hookspec
def comfy_request_headers(request: Request, attempt: int) -> Mapping[str, str] | None:
    """Called before each HTTP request is sent, retries included (``attempt`` counts from 0).

    Return headers to add to the request, or None. When several plugins
    return the same header, the first registered plugin's value wins.
    """


@hookspec
def comfy_response_received(request: Request, response: Response, elapsed: float) -> None:
    """Called for every HTTP response, whatever its status, ``elapsed`` seconds after sending.

    Return value ignored.
    """


@hookspec
def comfy_request_failed(request: Request, error: Exception, elapsed: float) -> None:
    """Called when a request got no response (``error`` is a ``TransportError``).

    Return value ignored.
    """


@hookspec(firstresult=True)
def comfy_retry_delay(
    request: Request,
    attempt: int,
    elapsed: float,
    response: Response | None,
    error: Exception | None,
    idempotent: bool,
) -> float | None:
    """Decide whether a failed request is sent again, and after how long.

    Called after a transport error (``error`` set) or a retryable answer
    (``response`` set: 429 or 5xx). ``attempt`` counts the failures so far
    from 0, ``elapsed`` is the seconds since the first try. ``idempotent`` is
    True when sending the request twice is safe (GET, PUT, DELETE, and
    ``POST /prompt``, which the client checks for before resubmitting).

    Return a delay in seconds to try again, or None. The call stops at the
    first non-None result; None from every plugin means the failure is final.
    """


@hookspec
def comfy_websocket_opened(client_id: str) -> None:
    """Called when a WebSocket to the server is open, under ``client_id`` (new per connection).

    Return value ignored.
    """


@hookspec
def comfy_websocket_message(client_id: str, message: str | bytes, sent: bool) -> None:
    """Called for every WebSocket message as it is, before parsing: ``sent`` is True for
    the client's own (the ``feature_flags`` handshake). For recorders. Return value ignored.
    """


@hookspec
def comfy_websocket_closed(client_id: str) -> None:
    """Called when the WebSocket of ``client_id`` closed, by either side. Return value ignored."""


@hookspec
def comfy_event(event: Event) -> None:
    """Called for every protocol event, in order, as the client handles it.

    This includes WebSocket events of every prompt (and ``UnknownMessage``)
    and the client's own ``PromptQueued``/``PromptSucceeded``/``PromptFailed``.
    Return value ignored.
    """


@hookspec
def comfy_store_output(prompt_id: str, output: OutputFile, data: bytes) -> str | None:
    """Called for each output file of a succeeded prompt, with its downloaded bytes.

    Only called (and files only downloaded for it) when some plugin implements
    it. Return where the file was stored (a path or URL), or None if this
    plugin did not store it. Runs in a worker thread in the async client.
    """


@hookspec
def comfy_prompt_finished(result: PromptResult, stored: Mapping[str, list[str]]) -> None:
    """Called when a tracked prompt succeeded, after its outputs were stored.

    ``stored`` maps each output's ``node_id/filename`` to the locations that
    ``comfy_store_output`` returned for it. Return value ignored.
    """


@hookspec
def comfy_prompt_failed(prompt_id: str, error: ComfyExecutionError) -> None:
    """Called when a tracked prompt failed, was interrupted or was lost.

    Return value ignored.
    """
