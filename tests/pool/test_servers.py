"""The pool's three real servers: they run, load their own custom nodes, and survive a kill."""

from __future__ import annotations

import time

import pytest

from comfy_api_client.local_server import LocalServer
from comfy_api_client.sync import create_client
from comfy_core.errors import WorkflowValidationError
from tests.pool.conftest import CUSTOM_NODES, ONLY_THIRD
from tests.workflows import rgb, sleepy


def test_three_servers_run_and_answer(pool_servers: list[LocalServer], pool_urls: list[str]):
    assert len({server.port for server in pool_servers}) == 3
    assert len({server.run_dir for server in pool_servers}) == 3
    for server, url in zip(pool_servers, pool_urls, strict=True):
        assert url == f"http://127.0.0.1:{server.port}"
        assert server.process is not None and server.process.poll() is None
        with create_client(url) as client:
            stats = client.get_system_stats()
        assert stats.system.comfyui_version == "0.3.75"


def test_only_the_third_server_has_sdk_only_here(pool_urls: list[str]):
    found = []
    for url in pool_urls:
        with create_client(url) as client:
            nodes = client.get_object_info()
        found.append(("SdkSleep" in nodes, "SdkOnlyHere" in nodes))
    assert found == [(True, False), (True, False), (True, True)]


def test_servers_log_their_own_custom_node_folders(pool_servers: list[LocalServer]):
    for index, server in enumerate(pool_servers):
        log = server.log_tail(1_000_000)
        assert f"Adding extra search path custom_nodes {CUSTOM_NODES.resolve()}" in log
        assert f"seconds: {CUSTOM_NODES.resolve() / 'sdk_sleep'}\n" in log
        has_only_here = f"seconds: {ONLY_THIRD.resolve() / 'sdk_only_here'}\n" in log
        assert has_only_here == (index == 2)
    # The shared install's own folder is never written to.
    shared = pool_servers[0].install.comfyui_dir / "custom_nodes"
    assert not {"sdk_sleep", "sdk_only_here"} & {p.name for p in shared.iterdir()}


def test_sleepy_prompt_with_the_only_here_node_runs_on_the_third(
    pool_urls: list[str], fresh_color: int
):
    workflow = sleepy(fresh_color, 0.5, "sdk_pool_sleepy", only_here=True)
    with create_client(pool_urls[2]) as client:
        began = time.monotonic()
        result = client.run(workflow, timeout=60)
        took = time.monotonic() - began
    (item,) = result.output_images
    assert item.image.convert("RGB").getpixel((0, 0)) == rgb(fresh_color)
    assert item.image.size == (8, 8)
    print(f"sleepy(0.5 s) on the third server took {took:.2f} s")  # seen with -s; not asserted


def test_the_only_here_node_is_refused_where_it_is_missing(pool_urls: list[str], fresh_color: int):
    workflow = sleepy(fresh_color, 0.0, "sdk_pool_refused", only_here=True)
    with create_client(pool_urls[0]) as client, pytest.raises(WorkflowValidationError) as caught:
        client.run(workflow, timeout=60)
    error = caught.value
    assert (error.status, error.error_type) == (400, "invalid_prompt")
    assert "SdkOnlyHere" in str(error)


def test_killed_server_starts_again_on_its_url_with_its_outputs(
    pool_servers: list[LocalServer], pool_urls: list[str], fresh_colors
):
    server, url = pool_servers[1], pool_urls[1]
    before, after = fresh_colors(), fresh_colors()
    with create_client(url) as client:
        first = client.run(sleepy(before, 0.0, "sdk_pool_before_kill"), timeout=60)
    (earlier,) = first.output_images
    saved = server.output_dir / earlier.subfolder / earlier.filename
    assert saved.is_file()
    pid = server.process.pid if server.process else None

    server.kill()
    assert server.process is None and not server.answers()
    assert server.run_dir.is_dir() and saved.is_file()
    server.start()

    assert server.url == url and server.process is not None and server.process.pid != pid
    with create_client(url) as client:
        second = client.run(sleepy(after, 0.0, "sdk_pool_after_kill"), timeout=60)
    (item,) = second.output_images
    assert item.image.convert("RGB").getpixel((0, 0)) == rgb(after)
    assert saved.is_file()
    assert (server.output_dir / item.subfolder / item.filename).is_file()
