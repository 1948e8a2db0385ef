"""Keep credentials out of the log records that the HTTP and WebSocket libraries write.

httpx logs every request URL at INFO (query included, so ``?token=``), and
websockets logs the handshake headers at DEBUG (``Authorization`` included).
Transports put :data:`REDACTING_FILTER` on those loggers; it rewrites a
record's message through :func:`comfy_core.redact.redact_text` before any
handler sees it, and leaves records without credentials untouched.
"""

from __future__ import annotations

import logging

from comfy_core.redact import redact_text

__all__ = ["REDACTING_FILTER", "RedactingFilter", "redact_logger"]


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact_text(message)
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
