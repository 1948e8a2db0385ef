"""Imports point down and form no cycle; importing a layer loads only what it needs.

The layers, lowest first: ``comfy_core`` (sans-I/O, standard library only),
``comfy_transports`` (the I/O adapters), ``comfy_plugins`` (which may use the
leaf modules of ``comfy_api_client`` listed in :data:`PLUGIN_LEAVES`, nothing
else of it) and ``comfy_api_client``. The graph is read from the source with
``ast``: every module-level import, those under ``if TYPE_CHECKING:`` included
for the direction rules and left out for the cycle check (they never run).
What importing loads is checked in fresh interpreters, by their ``sys.modules``.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = {
    "comfy_core": ROOT / "comfy_core",
    "comfy_transports": ROOT / "comfy_transports",
    "comfy_api_client": ROOT / "comfy_api_client",
    "comfy_plugins": ROOT / "plugins" / "comfy_plugins",
}
# What each layer may import of the others (its own package always).
MAY_IMPORT = {
    "comfy_core": set(),
    "comfy_transports": {"comfy_core"},
    "comfy_plugins": {"comfy_core"},
    "comfy_api_client": {"comfy_core", "comfy_transports", "comfy_plugins"},
}
# The modules of comfy_api_client that plugins may import: they import only pluggy and
# comfy_core, and the package's __init__ they run imports nothing until asked.
PLUGIN_LEAVES = {"comfy_api_client.hookspecs"}
# The Workflow facade's methods delegate to the modules that take a Workflow; those name
# it for type checkers only. Every other TYPE_CHECKING import must not close a cycle.
TYPE_ONLY_CYCLES_ALLOWED = "comfy_core.workflows."
TRANSPORT_LIBRARIES = ("httpx", "httpcore", "requests", "urllib3", "websockets", "h11", "wsproto")


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    line: int
    type_only: bool


def modules() -> dict[str, Path]:
    """Every module of the four packages by dotted name."""
    found = {}
    for package, directory in PACKAGES.items():
        for path in directory.rglob("*.py"):
            parts = [package, *path.relative_to(directory).with_suffix("").parts]
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(
    body: list[ast.stmt], type_only: bool
) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool]]:
    """The import statements that run when the module does (not those in functions)."""
    for node in body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node, type_only
        elif isinstance(node, ast.If):
            yield from _imports(node.body, type_only or _is_type_checking(node.test))
            yield from _imports(node.orelse, type_only)
        elif isinstance(node, ast.Try):
            for block in (node.body, node.orelse, node.finalbody):
                yield from _imports(block, type_only)
            for handler in node.handlers:
                yield from _imports(handler.body, type_only)


def graph() -> list[Edge]:
    """The import edges between modules of the four packages."""
    known = modules()
    edges = []
    for name, path in known.items():
        is_package = path.name == "__init__.py"
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node, type_only in _imports(tree.body, False):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                base = node.module or ""
                if node.level:
                    parts = name.split(".") if is_package else name.split(".")[:-1]
                    anchor = ".".join(parts[: len(parts) - node.level + 1])
                    base = f"{anchor}.{base}" if base else anchor
                # "from package import module" imports the module.
                targets = [
                    f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base
                    for alias in node.names
                ]
            for target in targets:
                if target.split(".")[0] in PACKAGES:
                    edges.append(Edge(name, target, node.lineno, type_only))
    return edges


def cycles(edges: list[Edge]) -> list[list[str]]:
    """One cycle (as a path that comes back to its start) per strongly connected group."""
    successors: dict[str, list[str]] = {}
    for edge in edges:
        successors.setdefault(edge.source, []).append(edge.target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []

    def connect(node: str) -> None:  # Tarjan
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in successors.get(node, ()):
            if nxt not in index:
                connect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.add(member)
                if member == node:
                    break
            if len(group) > 1 or node in successors.get(node, ()):
                groups.append(group)

    for node in sorted(successors):
        if node not in index:
            connect(node)

    found = []
    for group in groups:
        start = min(group)
        # Breadth-first inside the group, back to the start: the shortest such cycle.
        paths = {start: [start]}
        queue = [start]
        while queue:
            node = queue.pop(0)
            for nxt in successors.get(node, ()):
                if nxt == start:
                    found.append([*paths[node], start])
                    queue = []
                    break
                if nxt in group and nxt not in paths:
                    paths[nxt] = [*paths[node], nxt]
                    queue.append(nxt)
    return found


def test_the_graph_sees_the_packages() -> None:
    # Guard against a parser that finds nothing, which would pass every check below.
    edges = {(e.source, e.target) for e in graph()}
    assert ("comfy_core.tracker", "comfy_core.history") in edges
    assert ("comfy_plugins.retry", "comfy_api_client.hookspecs") in edges
    assert ("comfy_api_client.sync.create", "comfy_transports.base") in edges
    assert cycles([Edge("a", "b", 1, False), Edge("b", "a", 1, False)]) == [["a", "b", "a"]]


def test_no_import_cycle() -> None:
    found = cycles([e for e in graph() if not e.type_only])
    assert found == [], "import cycles: " + "; ".join(" -> ".join(c) for c in found)


def test_no_cycle_even_through_type_checking_imports() -> None:
    found = [
        c for c in cycles(graph()) if not all(m.startswith(TYPE_ONLY_CYCLES_ALLOWED) for m in c)
    ]
    assert found == [], "import cycles: " + "; ".join(" -> ".join(c) for c in found)


def test_imports_only_point_down() -> None:
    upward = []
    for edge in graph():
        source, target = edge.source.split(".")[0], edge.target.split(".")[0]
        if source == target or target in MAY_IMPORT[source]:
            continue
        if source == "comfy_plugins" and edge.target in PLUGIN_LEAVES:
            continue
        upward.append(f"{edge.source} (line {edge.line}) imports {edge.target}")
    assert upward == []


@pytest.mark.parametrize("leaf", sorted(PLUGIN_LEAVES))
def test_plugin_leaves_import_only_pluggy_and_the_core(leaf: str) -> None:
    path = modules()[leaf]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    outside = set()
    for node, _ in _imports(tree.body, False):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            assert node.level == 0, "a leaf names what it imports in full"
            names = [node.module or ""]
        for name in names:
            top = name.split(".")[0]
            if top not in sys.stdlib_module_names and top not in ("pluggy", "comfy_core"):
                outside.add(name)
    assert outside == set()


# -- what importing loads, in fresh interpreters ----------------------------------

# Run in the child: records which modules execute an import of each watched module
# (builtins.__import__ sees every import statement, of loaded modules too), so a check
# names the culprit rather than only the fact.
WATCHER = """
import builtins, json, sys
WATCHED = {watched!r}
def _within(name, package):
    return name == package or name.startswith(package + ".")
importers = {{}}
_real = builtins.__import__
def _import(name, globals=None, locals=None, fromlist=(), level=0):
    who = (globals or {{}}).get("__name__", "?")
    if _within(who, "importlib"):  # the machinery loading a fromlist's submodules
        return _real(name, globals, locals, fromlist, level)
    for watched in WATCHED:
        if level == 0 and _within(name, watched) and not _within(who, watched):
            importers.setdefault(watched, set()).add(who)
    return _real(name, globals, locals, fromlist, level)
builtins.__import__ = _import
{code}
builtins.__import__ = _real
loaded = sorted(m for m in sys.modules if any(_within(m, w) for w in WATCHED))
print(json.dumps({{"loaded": loaded, "importers": {{k: sorted(v) for k, v in importers.items()}}}}))
"""


def run_fresh(code: str, watched: tuple[str, ...]) -> tuple[set[str], dict[str, list[str]]]:
    """The modules of the ``watched`` packages that ``code`` leaves in ``sys.modules`` of a
    new interpreter, and which modules outside each watched package imported it."""
    script = WATCHER.format(watched=watched, code=code)
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    return set(answer["loaded"]), answer["importers"]


def tops(loaded: set[str]) -> set[str]:
    return {m.split(".")[0] for m in loaded}


SYNC_WATCHED = ("asyncio", "httpx", "httpcore", "comfy_transports", "comfy_api_client.feeds")


def _check_sync(loaded: set[str], importers: dict[str, list[str]]) -> None:
    assert not tops(loaded) & {"httpx", "httpcore", "asyncio"}, importers
    assert not any(m.startswith("comfy_transports.httpx") for m in loaded), sorted(loaded)
    assert "comfy_api_client.feeds" not in loaded, importers  # the async feeds


def test_the_sync_client_loads_no_asyncio_or_httpx() -> None:
    loaded, importers = run_fresh("import comfy_api_client.sync", SYNC_WATCHED)
    _check_sync(loaded, importers)


def test_the_requests_transport_loads_no_asyncio_or_httpx() -> None:
    code = (
        "import comfy_api_client.sync\n"
        "from comfy_transports import SYNC_TRANSPORTS\n"
        "SYNC_TRANSPORTS['requests']('http://127.0.0.1:9').close()\n"
    )
    loaded, importers = run_fresh(code, SYNC_WATCHED)
    _check_sync(loaded, importers)
    assert "comfy_transports.requests_websockets" in loaded


NO_TRANSPORT = (*TRANSPORT_LIBRARIES, "comfy_transports")
PLUGIN_MODULES = sorted(m for m in modules() if m.split(".")[0] == "comfy_plugins")


@pytest.mark.parametrize("module", [*PLUGIN_MODULES, *sorted(PLUGIN_LEAVES)])
def test_plugins_and_hookspecs_load_no_transport(module: str) -> None:
    loaded, importers = run_fresh(f"import {module}", NO_TRANSPORT)
    assert loaded == set(), f"{module} loaded {sorted(loaded)} (imported by {importers})"


def test_the_sdk_package_loads_nothing_until_asked() -> None:
    watched = (*NO_TRANSPORT, "asyncio", "comfy_api_client")
    loaded, _ = run_fresh("import comfy_api_client", watched)
    assert loaded == {"comfy_api_client"}
    # A name from the core brings the core, no client and no transport.
    loaded, _ = run_fresh("from comfy_api_client import PromptSucceeded, Workflow", watched)
    assert not tops(loaded) & {*NO_TRANSPORT, "asyncio"}, sorted(loaded)
    assert "comfy_api_client.client" not in loaded


def test_every_public_name_resolves() -> None:
    import comfy_api_client
    import comfy_transports

    for package in (comfy_api_client, comfy_transports):
        for name in package.__all__:
            assert getattr(package, name) is not None, name
        assert set(package.__all__) <= set(dir(package))
        with pytest.raises(AttributeError):
            package.no_such_name  # noqa: B018
    assert comfy_api_client.AsyncClient is comfy_api_client.ComfyAPIClient
    assert set(comfy_transports.SYNC_TRANSPORTS) == {"requests", "httpx", "sockets"}
    assert comfy_transports.SYNC_TRANSPORTS["requests"] is comfy_transports.RequestsTransport


def test_the_type_checking_imports_match_the_lazy_names() -> None:
    # Type checkers read the TYPE_CHECKING block, the interpreter the lazy table: one list.
    import comfy_api_client

    tree = ast.parse(modules()["comfy_api_client"].read_text(encoding="utf-8"))
    declared = {
        alias.asname or alias.name
        for node, type_only in _imports(tree.body, False)
        if type_only
        for alias in node.names
    }
    assert declared == set(comfy_api_client.__all__) - {"__version__"}
