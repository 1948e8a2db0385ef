"""Three real ComfyUI servers for the pool tests, started at once for the whole session.

All three run the one provisioned install on ports and temporary folders of their
own (COMFYUI_URL does not apply: the tests need three servers they control). Each
loads the test custom nodes of ``custom_nodes/`` (``SdkSleep``); the third also
those of ``custom_nodes_only/`` (``SdkOnlyHere``), which the others lack.

``pool_servers`` yields the three :class:`LocalServer` objects (``url``, ``port``,
``run_dir``, ``output_dir``; ``kill()`` and ``start()`` for failure tests) and
``pool_urls`` their URLs. Before each test that uses them, a server that does not
answer (a test before killed it) is started again, so tests stay independent.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Iterator
from pathlib import Path

import pytest

from comfy_api_client.local_server import LocalServer, provision
from tests.conftest import fail_unless_server_tests_selected

HERE = Path(__file__).parent
CUSTOM_NODES = HERE / "custom_nodes"  # SdkSleep, on every server
ONLY_THIRD = HERE / "custom_nodes_only"  # SdkOnlyHere, on the third server only

# Test data for the servers (custom node packages), not test modules.
collect_ignore = ["custom_nodes", "custom_nodes_only"]


@pytest.fixture(scope="session")
def pool_servers(request: pytest.FixtureRequest) -> Iterator[list[LocalServer]]:
    fail_unless_server_tests_selected(request)
    install = provision()
    servers = [
        LocalServer(install, custom_nodes=[CUSTOM_NODES]),
        LocalServer(install, custom_nodes=[CUSTOM_NODES]),
        LocalServer(install, custom_nodes=[CUSTOM_NODES, ONLY_THIRD]),
    ]
    try:
        with concurrent.futures.ThreadPoolExecutor(len(servers)) as pool:
            for started in [pool.submit(server.start) for server in servers]:
                started.result()  # the first failure, once all have finished starting
        yield servers
    finally:
        for server in servers:
            server.stop()


@pytest.fixture(autouse=True)
def _pool_answers(request: pytest.FixtureRequest) -> None:
    """Start again any pool server that does not answer, before a test that uses them."""
    if "pool_servers" not in request.fixturenames:
        return
    servers: list[LocalServer] = request.getfixturevalue("pool_servers")
    for server in servers:
        if not server.answers():
            server.kill()  # also a process that lives but does not answer
            server.start()


@pytest.fixture
def pool_urls(pool_servers: list[LocalServer]) -> list[str]:
    return [server.url for server in pool_servers]
