"""Keep credentials out of the exception chains the transports raise.

A library's exception often holds the URL it was asked for (requests:
``Max retries exceeded with url: /api/system_stats?token=...``), the response
it refused (websockets' ``InvalidStatus`` keeps the body a server echoed the
request into) or a redirect's ``Location``. Chaining it with ``raise ... from``
keeps all of that reachable through ``__cause__`` and ``__context__``, and
prints it in every formatted traceback.

So a transport maps the library's exception as usual and, on the way out,
:func:`scrub` replaces every foreign exception in the chain by a
:class:`RedactedLibraryError`: the original's qualified type name, its
message with every credential redacted, its traceback frames, and the same
chain below it (scrubbed in turn). The SDK's own exceptions stay in place, with
their messages redacted too. Nothing else of the original is kept.
"""

from __future__ import annotations

from collections.abc import Iterable
from types import TracebackType

from comfy_core.errors import ComfyError
from comfy_core.redact import redact_secrets

__all__ = ["RedactedLibraryError", "scrub", "scrubbed"]


class RedactedLibraryError(Exception):
    """Stands for a library's exception in a chain, without its credentials.

    ``original`` is the qualified name of the exception it replaces
    (``"requests.exceptions.ConnectionError"``); the message is the original's,
    redacted.
    """

    def __init__(self, original: str, message: str) -> None:
        self.original = original
        super().__init__(f"{original}: {message}" if message else original)


def _name(error: BaseException) -> str:
    kind = type(error)
    return (
        kind.__qualname__
        if kind.__module__ == "builtins"
        else f"{kind.__module__}.{kind.__qualname__}"
    )


def scrub(error: BaseException, secrets: Iterable[str]) -> BaseException:
    """``error`` with its chain rid of credentials (see the module docstring).

    The SDK's own exceptions are kept and changed in place; a foreign one is
    returned as a :class:`RedactedLibraryError`.
    """
    return _Scrubber(tuple(secrets)).clean(error)


class _Scrubber:
    def __init__(self, secrets: tuple[str, ...]) -> None:
        self.secrets = secrets
        self.done: dict[int, BaseException] = {}

    def clean(self, error: BaseException) -> BaseException:
        known = self.done.get(id(error))
        if known is not None:
            return known
        if isinstance(error, ComfyError):
            clean: BaseException = error
            self.done[id(error)] = error
            error.args = tuple(
                redact_secrets(a, self.secrets) if isinstance(a, str) else a for a in error.args
            )
        else:
            clean = RedactedLibraryError(_name(error), redact_secrets(str(error), self.secrets))
            clean.__traceback__ = error.__traceback__
            self.done[id(error)] = clean
        cause, context = error.__cause__, error.__context__
        clean.__cause__ = None if cause is None else self.clean(cause)
        clean.__context__ = None if context is None else self.clean(context)
        clean.__suppress_context__ = error.__suppress_context__
        return clean


class scrubbed:  # lower case: used as the function it replaced, ``with scrubbed(...)``
    """Scrub the chain of any SDK exception leaving the block (it leaves as itself).

    A class, not a ``@contextmanager``: it wraps every request and every WebSocket
    message, and a generator-based one costs several times as much to enter and leave.
    """

    __slots__ = ("_secrets",)

    def __init__(self, secrets: Iterable[str]) -> None:
        self._secrets = secrets

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if isinstance(error, ComfyError):
            scrub(error, self._secrets)  # and it goes on as itself
