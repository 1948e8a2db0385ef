"""Plugin managers: one per client, entry points, the environment switches, explicit plugins."""

from __future__ import annotations

import importlib
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from comfy_plugins.retry import RetryPlugin

from comfy_api_client import create_client, hookimpl
from comfy_api_client.plugins import ALLOWLIST_ENV, AUTOLOAD_ENV, Hooks, make_plugin_manager
from comfy_core.http import Request
from tests.fault_proxy import FaultProxy
from tests.workflows import save_image

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "plugin_package"


@pytest.fixture(scope="module")
def example_plugin_installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The example package installed into a folder on sys.path, as pip would for a user."""
    target = tmp_path_factory.mktemp("site")
    source = tmp_path_factory.mktemp("src") / "plugin_package"
    shutil.copytree(EXAMPLE, source)  # pip builds in the source tree: keep the repo clean
    pip = [sys.executable, "-m", "pip", "install", "--no-deps", "--target", str(target)]
    done = subprocess.run([*pip, str(source)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    sys.path.insert(0, str(target))
    importlib.invalidate_caches()
    yield target
    sys.path.remove(str(target))
    sys.modules.pop("comfy_example_plugin", None)
    importlib.invalidate_caches()


def names(pm: object) -> set[str]:
    return {name for name, _ in pm.list_name_plugin()}  # type: ignore[attr-defined]


def test_entry_point_plugin_is_picked_up(
    example_plugin_installed: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(AUTOLOAD_ENV, raising=False)
    monkeypatch.delenv(ALLOWLIST_ENV, raising=False)
    assert "example" in names(make_plugin_manager())
    assert "example" not in names(make_plugin_manager(load_entrypoints=False))


def test_environment_switches_limit_entry_points(
    example_plugin_installed: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(AUTOLOAD_ENV, "1")
    assert "example" not in names(make_plugin_manager())
    monkeypatch.delenv(AUTOLOAD_ENV)
    monkeypatch.setenv(ALLOWLIST_ENV, "something-else")
    assert "example" not in names(make_plugin_manager())
    monkeypatch.setenv(ALLOWLIST_ENV, "something-else, example")
    assert "example" in names(make_plugin_manager())


async def test_entry_point_plugin_works_in_a_real_session(
    example_plugin_installed: Path,
    comfy_url: str,
    fresh_color: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(AUTOLOAD_ENV, raising=False)
    monkeypatch.delenv(ALLOWLIST_ENV, raising=False)
    import comfy_example_plugin

    comfy_example_plugin.seen.clear()
    upstream = urlsplit(comfy_url)
    assert upstream.hostname and upstream.port
    async with (
        FaultProxy((upstream.hostname, upstream.port)) as proxy,
        create_client(proxy.url) as client,
    ):
        await client.run(save_image(fresh_color, prefix="sdk_plugin"), timeout=30)
    http = [s for s in proxy.log if s.upstream_status != 101]
    assert http and all(s.headers.get("x-comfy-example") == "1" for s in http)
    assert comfy_example_plugin.seen["finished"] == 1
    assert comfy_example_plugin.seen["PromptSucceeded"] == 1
    assert comfy_example_plugin.seen["NodeStarted"] >= 1


def test_each_client_has_its_own_manager() -> None:
    class Marker:
        @hookimpl
        def comfy_request_headers(self) -> dict[str, str]:
            return {"X-Marker": "1"}

    with_marker = make_plugin_manager([Marker()], load_entrypoints=False)
    without = make_plugin_manager(load_entrypoints=False)
    request = Request(method="GET", path="/api/queue")
    assert ("X-Marker", "1") in Hooks(with_marker).request_headers(request, 0).headers
    assert Hooks(without).request_headers(request, 0).headers == ()
    assert with_marker is not without


def test_builtins_and_their_replacement() -> None:
    default = make_plugin_manager(load_entrypoints=False)
    assert {"comfy.logs", "comfy.retry"} <= names(default)
    mine = RetryPlugin(max_attempts=9)
    custom = make_plugin_manager([mine], load_entrypoints=False)
    assert "comfy.retry" not in names(custom)
    assert custom.is_registered(mine)
    assert names(make_plugin_manager(builtins=False, load_entrypoints=False)) == set()


def test_any_plugin_replaces_the_builtin_it_names() -> None:
    class QuietLogs:
        replaces_builtin = "comfy.logs"

    class Patient(RetryPlugin):
        pass

    quiet, patient = QuietLogs(), Patient(max_attempts=50)
    pm = make_plugin_manager([quiet, patient], load_entrypoints=False)
    assert "comfy.logs" not in names(pm) and "comfy.retry" not in names(pm)
    assert pm.is_registered(quiet) and pm.is_registered(patient)


def test_first_registered_header_wins_and_request_headers_are_kept() -> None:
    class A:
        @hookimpl
        def comfy_request_headers(self) -> dict[str, str]:
            return {"X-Who": "a", "Content-Type": "text/evil"}

    class B:
        @hookimpl
        def comfy_request_headers(self) -> dict[str, str]:
            return {"X-Who": "b"}

    hooks = Hooks(make_plugin_manager([A(), B()], builtins=False, load_entrypoints=False))
    request = Request(
        method="POST", path="/api/prompt", headers=(("content-type", "application/json"),)
    )
    headers = dict(hooks.request_headers(request, 0).headers)
    assert headers["X-Who"] == "a"
    assert headers["content-type"] == "application/json" and "Content-Type" not in headers


def test_a_failing_observer_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    class Broken:
        @hookimpl
        def comfy_event(self) -> None:
            raise RuntimeError("plugin bug")

    from comfy_core.events import StatusReported

    hooks = Hooks(make_plugin_manager([Broken()], builtins=False, load_entrypoints=False))
    hooks.event(StatusReported(queue_remaining=0))
    assert "plugin bug" in caplog.text
