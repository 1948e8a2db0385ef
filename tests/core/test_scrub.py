"""Errors that quote a server which echoes the request carry no credential."""

from __future__ import annotations

import base64
import traceback

from comfy_core.errors import HTTPStatusError, NodeExecutionError, RemoteProtocolError
from comfy_core.redact import client_secrets, scrub_error, secret_forms
from comfy_transports import RequestsTransport

SECRET = "S3ntinel-d0-not-leak"


def _text(error: BaseException) -> str:
    return "".join(traceback.format_exception(error)) + repr(error) + str(vars(error))


def test_every_form_of_every_credential_is_taken_out() -> None:
    transport = RequestsTransport(
        f"http://comfy:{SECRET}p@127.0.0.1:1/?token={SECRET}q",
        headers={"X-API-Key": f"{SECRET}k"},
        token=f"{SECRET}t",
    )
    basic = RequestsTransport("http://127.0.0.1:1", auth=("comfy", f"{SECRET}b"))
    secrets = client_secrets(transport, transport.url) | client_secrets(basic, basic.url)
    echoed = "\n".join(
        [
            f"GET /api/system_stats?token={SECRET}q HTTP/1.1",
            f'{{"headers": {{"X-API-Key": "{SECRET}k", "Authorization": "Bearer {SECRET}t"}}}}',
            base64.b64encode(f"comfy:{SECRET}b".encode()).decode(),
            f"http://comfy:{SECRET}p@127.0.0.1:1/ and {SECRET}b%21 url-encoded".replace("%21", ""),
        ]
    )
    error = HTTPStatusError(status=401, method="GET", route="/api/system_stats", message=echoed)
    error.__cause__ = RemoteProtocolError(f"cause quoting {SECRET}t")
    try:
        raise error
    except HTTPStatusError as caught:
        scrub_error(caught, secrets)
        text = _text(caught)
    assert SECRET not in text
    assert "REDACTED" in text and "401" in text


def test_server_text_in_prompt_errors_is_cleaned_too() -> None:
    error = NodeExecutionError(
        prompt_id="p",
        node_id="2",
        node_type="X",
        exception_type="ValueError",
        exception_message=f"bad token {SECRET}",
        traceback=(f"line with {SECRET}",),
    )
    scrub_error(error, secret_forms(SECRET))
    assert SECRET not in _text(error)
    assert error.exception_message == "bad token REDACTED"
