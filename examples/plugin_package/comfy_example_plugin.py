"""A third-party comfy-api-client plugin: tags requests and counts what happens.

Install it (``pip install ./examples/plugin_package``) and every client picks it
up through the ``comfy_api_client`` entry point; no code change needed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

from comfy_api_client import PromptResult, hookimpl
from comfy_core.events import Event
from comfy_core.http import Request

seen: Counter[str] = Counter()


@hookimpl
def comfy_request_headers(request: Request) -> Mapping[str, str]:
    # A plugin may accept fewer arguments than the hook offers.
    return {"X-Comfy-Example": "1"}


@hookimpl
def comfy_event(event: Event) -> None:
    seen[type(event).__name__] += 1


@hookimpl
def comfy_prompt_finished(result: PromptResult) -> None:
    seen["finished"] += 1
