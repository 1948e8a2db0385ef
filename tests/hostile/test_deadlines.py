"""``http_timeout`` bounds each request as a whole, not each read: a server that sends
one byte every half second (well inside any per-read timeout) cannot keep
``create_client``, ``download`` or ``download_to`` waiting past it. Streamed
downloads have their own, longer ``download_timeout``.

The client's retry plugin would try a timed-out request again (each try bounded),
so it is left out: what is measured is one request.

The bound checked is generous (the trickle would last 30 s; we allow 12), so a busy
machine cannot make it flaky: it tells "bounded" from "as long as the server likes".
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from comfy_core.errors import TransportTimeout
from comfy_core.outputs import OutputFile
from tests.hostile.conftest import Open
from tests.hostile.server import HostileServer, Scenario, trickle

VIEW = OutputFile(node_id="1", kind="images", filename="out.png")
SLOW = trickle(b"x" * 60, every=0.5, content_type="image/png")
Serve = Callable[[Scenario], HostileServer]
BOUND = 12.0


def test_create_client_is_bounded(serve: Serve, open_client: Open) -> None:
    server = serve(Scenario(routes={"/api/system_stats": trickle(b" " * 60, every=0.5)}))
    began = time.monotonic()
    with (
        pytest.raises(TransportTimeout),
        open_client(server.url, http_timeout=2, builtin_plugins=False),
    ):
        pass
    assert time.monotonic() - began < BOUND


def test_download_is_bounded(serve: Serve, open_client: Open) -> None:
    server = serve(Scenario(routes={"/api/view": SLOW}))
    with open_client(server.url, http_timeout=2, builtin_plugins=False) as client:
        began = time.monotonic()
        with pytest.raises(TransportTimeout):
            client.download(VIEW)
        assert time.monotonic() - began < BOUND


def test_download_to_is_bounded(serve: Serve, open_client: Open, tmp_path: Path) -> None:
    server = serve(Scenario(routes={"/api/view": SLOW}))
    target = tmp_path / "out.png"
    options = {"download_timeout": 2.0}
    with open_client(
        server.url, http_timeout=2, transport_options=options, builtin_plugins=False
    ) as client:
        began = time.monotonic()
        with pytest.raises(TransportTimeout):
            client.download_to(VIEW, target)
        assert time.monotonic() - began < BOUND
    assert not target.exists()
