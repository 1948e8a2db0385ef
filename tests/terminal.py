"""Run a command on a pseudo-terminal and read its screen, as a person would see it."""

from __future__ import annotations

import os
import pty
import select
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import pyte


def on_terminal(
    argv: Sequence[str],
    env: Mapping[str, str],
    *,
    cwd: Path | None = None,
    size: tuple[int, int] = (120, 30),
    timeout: float = 120,
) -> tuple[int, str]:
    """The command's exit code and its final screen (``size`` columns x lines)."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: the command on the pseudo-terminal
        if cwd is not None:
            os.chdir(cwd)
        os.execve(argv[0], list(argv), dict(env))
    screen = pyte.Screen(*size)
    stream = pyte.ByteStream(screen)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.5)
        if not ready:
            continue
        try:
            data = os.read(fd, 65536)
        except OSError:  # the child closed the terminal
            break
        if not data:
            break
        stream.feed(data)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), "\n".join(screen.display)
