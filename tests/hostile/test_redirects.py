"""No transport follows a redirect: not on the WebSocket upgrade, not on an HTTP request,
not on ``/view``. A 302 pointing at a second server (another port) is an error, and
the second server sees nothing, the credential headers least of all."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from comfy_core.errors import ComfyError, ConnectError, HTTPStatusError
from comfy_core.outputs import OutputFile
from tests.hostile.conftest import Open
from tests.hostile.server import HostileServer, Scenario, redirect

KEY = {"X-API-Key": "redirect-key-123"}
VIEW = OutputFile(node_id="1", kind="images", filename="out.png")
Serve = Callable[[Scenario], HostileServer]


def test_websocket_upgrade_redirect_is_refused(serve: Serve, open_client: Open) -> None:
    elsewhere = serve(Scenario())
    server = serve(Scenario(routes={"/ws": redirect(f"{elsewhere.url}/ws?")}))
    with pytest.raises(ConnectError, match="302"), open_client(server.url, headers=KEY):
        pass
    assert elsewhere.log == []


def test_http_redirect_is_not_followed(serve: Serve, open_client: Open) -> None:
    elsewhere = serve(Scenario())
    stats = redirect(f"{elsewhere.url}/api/system_stats")
    server = serve(Scenario(routes={"/api/system_stats": stats}))
    with pytest.raises(ComfyError), open_client(server.url, headers=KEY):
        pass
    assert elsewhere.log == []


def test_view_redirect_is_an_error_not_the_file(serve: Serve, open_client: Open) -> None:
    elsewhere = serve(Scenario())
    server = serve(Scenario(routes={"/api/view": redirect(f"{elsewhere.url}/api/view?")}))
    with open_client(server.url, headers=KEY) as client, pytest.raises(HTTPStatusError) as failed:
        client.download(VIEW)
    assert failed.value.status == 302
    assert f"{elsewhere.url}/api/view" in str(failed.value)  # names where it pointed
    assert elsewhere.log == []


def test_view_redirect_writes_no_file(serve: Serve, open_client: Open, tmp_path: Path) -> None:
    elsewhere = serve(Scenario())
    server = serve(Scenario(routes={"/api/view": redirect(f"{elsewhere.url}/api/view?")}))
    target = tmp_path / "out.png"
    with open_client(server.url, headers=KEY) as client, pytest.raises(HTTPStatusError) as failed:
        client.download_to(VIEW, target)
    assert failed.value.status == 302
    assert not target.exists()
    assert elsewhere.log == []
