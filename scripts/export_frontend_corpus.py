"""Regenerate the workflow corpus with the official frontend as the oracle.

    python scripts/export_frontend_corpus.py            # provision + start a server, write
    python scripts/export_frontend_corpus.py --url URL  # use a running server
    python scripts/export_frontend_corpus.py --check    # compare only, exit 1 on a difference

The frontend the server serves is loaded in a headless Chromium, driven over
the DevTools protocol (plain JSON over a WebSocket). For every workflow it runs
``app.loadGraphData`` and then ``app.graphToPrompt()``: what "Export (API)"
writes. That output is the truth the converter in ``comfy_core.workflows`` is
compared with (tests/workflows/test_corpus.py offline, test_oracle.py live).

What it reads and writes under ``tests/workflows/corpus/``:

* ``templates/NAME.ui.json``: every template shipped with the server (copied
  from its ``comfyui_workflow_templates*`` packages, compact JSON), and
  ``templates/NAME.api.json``, the frontend's export of it;
* ``cases/NAME.ui.json``: hand-made cases (written by hand, never overwritten)
  and ``cases/NAME.api.json``, the frontend's export;
* ``object_info.json``: the server's ``/object_info`` the export ran against.

An export that throws in the frontend is stored as ``{"__error__": message}``.
Chromium is required (``apt-get install -y chromium``); nothing here skips.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from websockets.sync.client import ClientConnection, connect

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "workflows" / "corpus"
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "chrome")


def find_chromium() -> str:
    """The Chromium binary (``CHROMIUM`` overrides); RuntimeError when there is none."""
    override = os.environ.get("CHROMIUM")
    if override:
        return override
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    raise RuntimeError("no Chromium found: install it (apt-get install -y chromium)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as resp:
        return json.loads(resp.read())


class Frontend:
    """One headless Chromium tab showing the server's frontend, driven by DevTools."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self._next_id = 0

    def evaluate(self, expression: str, timeout: float = 120.0) -> Any:
        """Evaluate ``expression`` in the page (promises awaited); its JSON value."""
        self._next_id += 1
        message_id = self._next_id
        self.ws.send(
            json.dumps(
                {
                    "id": message_id,
                    "method": "Runtime.evaluate",
                    "params": {
                        "expression": expression,
                        "awaitPromise": True,
                        "returnByValue": True,
                    },
                }
            )
        )
        deadline = time.monotonic() + timeout
        while True:
            raw = self.ws.recv(timeout=max(0.1, deadline - time.monotonic()))
            reply = json.loads(raw)
            if reply.get("id") != message_id:
                continue  # an event
            result = reply.get("result", {})
            if "exceptionDetails" in result:
                details = result["exceptionDetails"]
                text = details.get("exception", {}).get("description") or details.get("text")
                raise RuntimeError(str(text))
            return result.get("result", {}).get("value")

    def export(self, workflow: Mapping[str, Any], name: str) -> Any:
        """The frontend's API export of a UI workflow, or ``{"__error__": ...}``."""
        script = (
            "(async () => { try {"
            f" await window.app.loadGraphData({json.dumps(workflow)}, true, true, "
            f"{json.dumps(name)});"
            " return JSON.stringify((await window.app.graphToPrompt()).output);"
            " } catch (e) { return JSON.stringify({__error__: String(e && e.message || e)}); }"
            " })()"
        )
        return json.loads(self.evaluate(script))


@contextlib.contextmanager
def open_frontend(comfy_url: str, *, ready_timeout: float = 90.0) -> Iterator[Frontend]:
    """Start Chromium on ``comfy_url`` with a fresh profile; yield a :class:`Frontend`."""
    port = _free_port()
    profile = tempfile.mkdtemp(prefix="frontend-oracle-")
    cmd = [
        find_chromium(),
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--remote-debugging-port={port}",
        f"--user-data-dir={profile}",
        comfy_url.rstrip("/") + "/",
    ]
    proc = subprocess.Popen(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + ready_timeout
        ws_url = None
        while ws_url is None:
            if proc.poll() is not None:
                raise RuntimeError(f"chromium exited with {proc.returncode}")
            if time.monotonic() > deadline:
                raise RuntimeError("chromium's DevTools endpoint did not come up")
            try:
                targets = _get_json(f"http://127.0.0.1:{port}/json")
            except OSError:
                time.sleep(0.2)
                continue
            pages = [t for t in targets if t.get("type") == "page"]
            ws_url = pages[0]["webSocketDebuggerUrl"] if pages else None
            if ws_url is None:
                time.sleep(0.2)
        with connect(ws_url, max_size=None, open_timeout=30) as ws:
            frontend = Frontend(ws)
            while not frontend.evaluate("!!(window.app && window.app.graph && window.LiteGraph)"):
                if time.monotonic() > deadline:
                    raise RuntimeError("the frontend did not load in Chromium")
                time.sleep(0.3)
            yield frontend
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        shutil.rmtree(profile, ignore_errors=True)


def template_files(site_packages: Path) -> list[Path]:
    """Every UI template the server ships (``index*.json`` skipped), sorted by name."""
    found = [
        path
        for path in site_packages.glob("comfyui_workflow_templates*/templates/*.json")
        if not path.name.startswith("index")
    ]
    return sorted(found, key=lambda p: p.name)


def server_site_packages() -> Path:
    from comfy_api_client.local_server import provision

    install = provision()
    candidates = sorted((install.root / "venv" / "lib").glob("python3*/site-packages"))
    if not candidates:
        raise RuntimeError(f"no site-packages in the server's venv under {install.root}")
    return candidates[0]


def dumps(data: Any) -> str:
    """Compact, stable JSON as committed (one line, non-ASCII kept)."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n"


def export_corpus(comfy_url: str) -> dict[str, str]:
    """Every corpus file's content as the live server and frontend give it now.

    Keys are paths relative to the corpus folder. Hand-made ``cases/*.ui.json``
    are read from the committed corpus, templates from the server's venv.
    """
    files: dict[str, str] = {}
    object_info = _get_json(comfy_url.rstrip("/") + "/api/object_info")
    files["object_info.json"] = dumps(object_info)
    workflows: dict[str, Any] = {}
    for path in template_files(server_site_packages()):
        ui = json.loads(path.read_text(encoding="utf-8"))
        name = f"templates/{path.stem}"
        files[f"{name}.ui.json"] = dumps(ui)
        workflows[name] = ui
    for path in sorted((CORPUS / "cases").glob("*.ui.json")):
        name = f"cases/{path.name.removesuffix('.ui.json')}"
        workflows[name] = json.loads(path.read_text(encoding="utf-8"))
    with open_frontend(comfy_url) as frontend:
        for name, ui in workflows.items():
            files[f"{name}.api.json"] = dumps(frontend.export(ui, name.split("/")[-1]))
    return files


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="a running ComfyUI server (default: start one)")
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    args = parser.parse_args(argv)
    if args.url:
        files = export_corpus(args.url)
    else:
        from comfy_api_client.local_server import LocalServer, provision

        with LocalServer(provision()) as server:
            files = export_corpus(server.url)
    changed = [
        rel
        for rel, text in files.items()
        if not (CORPUS / rel).exists() or (CORPUS / rel).read_text(encoding="utf-8") != text
    ]
    if args.check:
        for rel in changed:
            print(f"differs: {rel}")
        return 1 if changed else 0
    for rel in changed:
        (CORPUS / rel).parent.mkdir(parents=True, exist_ok=True)
        (CORPUS / rel).write_text(files[rel], encoding="utf-8")
    print(f"{len(files)} files, {len(changed)} written")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
