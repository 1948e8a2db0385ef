"""Keep credentials out of the log records that the HTTP and WebSocket libraries write.

httpx logs every request URL at INFO (query included, so ``?token=``), and
websockets logs the handshake headers at DEBUG (``Authorization`` included).
Transports put :data:`REDACTING_FILTER` on those loggers; it rewrites a
record's message through :func:`comfy_core.redact.redact_secrets` before any
handler sees it, and leaves records without credentials untouched. Each live
transport tells the filter its own credentials (:meth:`RedactingFilter.remember`),
so values no pattern recognises (a custom header's) are caught too.
"""

from __future__ import annotations

import logging
import threading
import weakref

from comfy_core.redact import redact_secrets

__all__ = ["HTTPCORE_LOGGERS", "REDACTING_FILTER", "RedactingFilter", "redact_logger"]

# A logger's filters see only its own records, not its children's: each by name.
HTTPCORE_LOGGERS = ("httpcore.connection", "httpcore.http11", "httpcore.http2", "httpcore.proxy")


class RedactingFilter(logging.Filter):
    def __init__(self) -> None:
        super().__init__()
        self._owners: weakref.WeakKeyDictionary[object, tuple[str, ...]] = (
            weakref.WeakKeyDictionary()
        )
        self._lock = threading.Lock()

    def remember(self, owner: object, secrets: tuple[str, ...]) -> None:
        """Redact ``secrets`` too, for as long as ``owner`` (a transport) lives."""
        with self._lock:
            self._owners[owner] = secrets

    def secrets(self) -> tuple[str, ...]:
        with self._lock:
            return tuple(s for secrets in self._owners.values() for s in secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact_secrets(message, self.secrets())
        if clean != message:
            record.msg, record.args = clean, ()
        return True


REDACTING_FILTER = RedactingFilter()


def redact_logger(name: str) -> logging.Logger:
    """The logger ``name`` with :data:`REDACTING_FILTER` on it (added once)."""
    logger = logging.getLogger(name)
    if REDACTING_FILTER not in logger.filters:
        logger.addFilter(REDACTING_FILTER)
    return logger
