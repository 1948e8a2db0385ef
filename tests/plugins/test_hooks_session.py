"""The observing hooks in a real session: what they are called with, and in what order."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest

from comfy_api_client import ComfyExecutionError, NodeExecutionError, create_client, hookimpl
from comfy_core.conclusions import PromptSucceeded
from comfy_core.errors import TransportError
from comfy_core.events import Event
from comfy_core.http import Request, Response
from tests.fault_proxy import Fault, FaultProxy
from tests.workflows import execution_error, save_image


class Journal:
    def __init__(self) -> None:
        self.entries: list[tuple[str, Any]] = []

    @hookimpl
    def comfy_client_opened(self, client: Any) -> None:
        self.entries.append(("opened", client))

    @hookimpl
    def comfy_client_closed(self, client: Any) -> None:
        self.entries.append(("closed", client))

    @hookimpl
    def comfy_response_received(self, request: Request, response: Response, elapsed: float) -> None:
        self.entries.append(("response", (request.method, request.path, response.status, elapsed)))

    @hookimpl
    def comfy_request_failed(self, request: Request, error: Exception, elapsed: float) -> None:
        self.entries.append(("failed", (request.method, request.path, error, elapsed)))

    @hookimpl
    def comfy_websocket_opened(self, client_id: str) -> None:
        self.entries.append(("ws_opened", client_id))

    @hookimpl
    def comfy_websocket_message(self, client_id: str, message: str | bytes, sent: bool) -> None:
        self.entries.append(("ws_sent" if sent else "ws_received", (client_id, message)))

    @hookimpl
    def comfy_websocket_closed(self, client_id: str) -> None:
        self.entries.append(("ws_closed", client_id))

    @hookimpl
    def comfy_event(self, event: Event) -> None:
        self.entries.append(("event", event))

    @hookimpl
    def comfy_prompt_failed(self, prompt_id: str, error: ComfyExecutionError) -> None:
        self.entries.append(("prompt_failed", (prompt_id, error)))

    def kinds(self) -> list[str]:
        return [kind for kind, _ in self.entries]

    def of(self, kind: str) -> list[Any]:
        return [value for k, value in self.entries if k == kind]


@pytest.mark.parametrize("tracker", ["websocket", "http"])
async def test_hooks_see_the_whole_session(comfy_url: str, fresh_color: int, tracker: Any) -> None:
    journal = Journal()
    upstream = urlsplit(comfy_url)
    assert upstream.hostname and upstream.port
    fault = Fault("GET", "/api/view", "reset_before")
    proxy = FaultProxy((upstream.hostname, upstream.port), [fault])
    async with (
        proxy,
        create_client(proxy.url, start_state_tracker=tracker, plugins=[journal]) as client,
    ):
        ok = await client.run(save_image(fresh_color, prefix="sdk_hooks"), timeout=30)
        with pytest.raises(NodeExecutionError) as failed:
            await client.run(execution_error(), timeout=30)

    kinds = journal.kinds()
    assert kinds.count("opened") == 1 and kinds[-1] == "closed"
    assert journal.of("opened") == [client] == journal.of("closed")
    # Everything before "opened" is connecting: the first request is /system_stats.
    first = journal.of("response")[0]
    assert first[:3] == ("GET", "/api/system_stats", 200) and first[3] > 0
    assert ("POST", "/api/prompt", 200) in [r[:3] for r in journal.of("response")]
    # The injected reset on /view was seen as a failure, then retried.
    (reset,) = journal.of("failed")
    assert reset[:2] == ("GET", "/api/view") and isinstance(reset[2], TransportError)
    succeeded = [e for e in journal.of("event") if isinstance(e, PromptSucceeded)]
    assert [e.prompt_id for e in succeeded] == [ok.prompt_id]
    assert journal.of("prompt_failed") == [(failed.value.prompt_id, failed.value)]
    if tracker == "websocket":
        (opened,) = journal.of("ws_opened")
        assert journal.of("ws_closed") == [opened] == [client.client_id]
        (handshake,) = journal.of("ws_sent")  # the feature_flags negotiation, first
        assert handshake[0] == opened and '"feature_flags"' in handshake[1]
        received = journal.of("ws_received")
        assert '"sid"' in received[0][1]  # the greeting comes first
        assert kinds.index("ws_opened") < kinds.index("ws_sent") < kinds.index("ws_received")
        assert kinds.index("ws_closed") < kinds.index("closed")
    else:
        assert journal.of("ws_opened") == []
