"""No credential the client was given leaks into an error or a log record, whatever a
hostile server echoes back: each credential form, on every transport, with the server
echoing the request in error bodies, redirecting with the query carried along, or
not answering at all. Searched for raw, URL-encoded and base64-encoded in ``str``,
``repr``, the formatted traceback with its whole ``__cause__``/``__context__`` chain,
and every log record at DEBUG."""

from __future__ import annotations

import base64
import logging
import socket
import time
import traceback
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, quote_plus

import pytest

from comfy_core.errors import ComfyError, ConnectError, HTTPStatusError
from comfy_core.outputs import OutputFile
from tests.hostile.conftest import Open
from tests.hostile.server import (
    HostileServer,
    Scenario,
    echo_request,
    greet_then_close_echoing,
    redirect,
)

# Characters that URL-encoding changes, so each encoded form differs from the raw one.
SENTINEL = "S3ntinel:d0/not+leak"
FORMS = {
    SENTINEL,
    quote(SENTINEL, safe=""),
    quote_plus(SENTINEL),
    quote(SENTINEL, safe="/:"),
    base64.b64encode(SENTINEL.encode()).decode(),
    base64.b64encode(f"comfy:{SENTINEL}".encode()).decode(),
}


def credentials(url: str, form: str) -> tuple[str, dict[str, Any]]:
    """The client's URL and options carrying SENTINEL as ``form``."""
    host = url.split("://", 1)[1]
    table: dict[str, tuple[str, dict[str, Any]]] = {
        "userinfo": (f"http://comfy:{quote(SENTINEL, safe='')}@{host}", {}),
        "basic auth": (url, {"auth": ("comfy", SENTINEL)}),
        "bearer token": (url, {"token": SENTINEL}),
        "api key header": (url, {"headers": {"X-API-Key": SENTINEL}}),
        "query token": (f"{url}/?token={quote(SENTINEL, safe='')}", {}),
    }
    return table[form]


def leaks(text: str) -> list[str]:
    return [form for form in FORMS if form in text]


def chain(error: BaseException) -> list[BaseException]:
    """``error`` and every exception it chains, by cause or context."""
    seen: list[BaseException] = []
    todo: list[BaseException | None] = [error]
    while todo:
        item = todo.pop()
        if item is None or any(item is s for s in seen):
            continue
        seen.append(item)
        todo += [item.__cause__, item.__context__]
    return seen


def text_of(error: BaseException) -> str:
    parts = ["".join(traceback.format_exception(type(error), error, error.__traceback__))]
    for item in chain(error):
        parts += [str(item), repr(item), repr(item.args)]
    return "\n".join(parts)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


VIEW = OutputFile(node_id="1", kind="images", filename="out.png")


def refused(serve: Callable[[Scenario], HostileServer], open_client: Open, form: str) -> Any:
    url, options = credentials(f"http://127.0.0.1:{closed_port()}", form)
    with pytest.raises(ConnectError) as failed, open_client(url, http_timeout=5, **options):
        pass
    return failed.value


def http_echo(serve: Callable[[Scenario], HostileServer], open_client: Open, form: str) -> Any:
    server = serve(Scenario(routes={"/api/system_stats": echo_request(500)}))
    url, options = credentials(server.url, form)
    with pytest.raises(HTTPStatusError) as failed, open_client(url, **options):
        pass
    return failed.value


def ws_echo(serve: Callable[[Scenario], HostileServer], open_client: Open, form: str) -> Any:
    server = serve(Scenario(routes={"/ws": echo_request(500)}))
    url, options = credentials(server.url, form)
    with pytest.raises(ConnectError) as failed, open_client(url, **options):
        pass
    return failed.value


def ws_redirect(serve: Callable[[Scenario], HostileServer], open_client: Open, form: str) -> Any:
    elsewhere = serve(Scenario())
    server = serve(Scenario(routes={"/ws": redirect(f"{elsewhere.url}/ws?")}))
    url, options = credentials(server.url, form)
    with pytest.raises(ConnectError) as failed, open_client(url, **options):
        pass
    assert elsewhere.log == []
    return failed.value


def view_redirect(serve: Callable[[Scenario], HostileServer], open_client: Open, form: str) -> Any:
    elsewhere = serve(Scenario())
    server = serve(Scenario(routes={"/api/view": redirect(f"{elsewhere.url}/api/view?")}))
    url, options = credentials(server.url, form)
    with open_client(url, **options) as client, pytest.raises(ComfyError) as failed:
        client.download(VIEW)
    assert elsewhere.log == []
    return failed.value


def ws_close_echo(serve: Callable[[Scenario], HostileServer], open_client: Open, form: str) -> Any:
    """The server closes the feed with a reason echoing the credentials: the feed logs
    the loss and reconnects (the same again); nothing reaches the caller."""
    server = serve(Scenario(ws=greet_then_close_echoing))
    url, options = credentials(server.url, form)
    with open_client(url, **options):
        deadline = time.monotonic() + 10
        while sum(seen.path == "/ws" for seen in server.log) < 2:
            assert time.monotonic() < deadline, "the feed did not reconnect"
            time.sleep(0.05)
    return None


SCENARIOS: dict[str, Callable[..., Any]] = {
    "refused": refused,
    "http echo": http_echo,
    "ws echo": ws_echo,
    "ws redirect": ws_redirect,
    "view redirect": view_redirect,
    "ws close echo": ws_close_echo,
}


@pytest.mark.parametrize("scenario", SCENARIOS)
@pytest.mark.parametrize(
    "form", ["userinfo", "basic auth", "bearer token", "api key header", "query token"]
)
def test_no_credential_in_errors_or_logs(
    serve: Callable[[Scenario], HostileServer],
    open_client: Open,
    scenario: str,
    form: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, the libraries' included
    error = SCENARIOS[scenario](serve, open_client, form)
    if error is not None:
        assert leaks(text_of(error)) == []
    for record in caplog.records:
        assert leaks(record.getMessage()) == [], record.name
        assert leaks(str(record.__dict__)) == [], record.name
    assert leaks(caplog.text) == []
