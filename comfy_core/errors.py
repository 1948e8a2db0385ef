"""Every exception the SDK raises, in one tree rooted at :class:`ComfyError`.

Three families:

* protocol errors: :class:`LocalProtocolError` (the caller misused the core) and
  :class:`RemoteProtocolError` (the server sent something we cannot read);
* transport errors: :class:`TransportError` and its children, raised by the
  transports in ``comfy_transports`` with the library's exception chained;
* prompt outcomes: :class:`ComfyExecutionError` (the original package's name,
  kept as the base) for a rejected, failed, interrupted or lost prompt, and
  :class:`HTTPStatusError` for any other 4xx/5xx answer.

Any other exception escaping the SDK is a bug.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "BodyTooLarge",
    "ClientClosedError",
    "ComfyError",
    "ComfyExecutionError",
    "ConnectError",
    "HTTPStatusError",
    "ImageDecodeError",
    "ImageTooLargeError",
    "InputError",
    "InvalidArgument",
    "InvalidArgumentType",
    "InvalidURL",
    "LocalProtocolError",
    "MediaNotFound",
    "MissingNode",
    "NameNotFound",
    "NetworkError",
    "NodeError",
    "NodeExecutionError",
    "PluginError",
    "PromptInterruptedError",
    "PromptLostError",
    "PromptNotFinishedError",
    "ProtocolError",
    "ReadOnlyError",
    "RemoteProtocolError",
    "StorageError",
    "TransportError",
    "TransportTimeout",
    "UnreadableAnswerError",
    "WaitTimeout",
    "WebSocketClosed",
    "MissingNodeTypesError",
    "AmbiguousNodeError",
    "InputNotFoundError",
    "LinkedInputError",
    "NodeNotFoundError",
    "ParameterError",
    "WorkflowEditError",
    "WorkflowFormatError",
    "WorkflowRecursionError",
    "WorkflowValidationError",
]


class ComfyError(Exception):
    """Base class of every error raised by this SDK."""


class ProtocolError(ComfyError):
    """The ComfyUI protocol was not followed, by us or by the server."""


class LocalProtocolError(ProtocolError):
    """The caller used the core in a way the protocol does not allow."""


class InvalidArgument(LocalProtocolError, ValueError):
    """An argument has the right type but a value the SDK cannot take; the message names it.

    A ``ValueError`` too, so code written against the builtin keeps working.
    """


class InvalidArgumentType(LocalProtocolError, TypeError):
    """An argument is of a type the SDK does not take; the message names it and the type given.

    A ``TypeError`` too, so code written against the builtin keeps working.
    """


class InvalidURL(InvalidArgument):
    """A server URL cannot be used: empty, not http(s), without a host, or with a bad port."""


class MediaNotFound(LocalProtocolError, FileNotFoundError):
    """A file given to upload does not exist; the message names it.

    A ``FileNotFoundError`` too, as ``open`` would have raised.
    """


class NameNotFound(LocalProtocolError, KeyError):
    """A lookup by name found nothing (an input of a node schema, ...); the message says what.

    A ``KeyError`` too, as the mapping-like lookups it comes from promise.
    """

    def __str__(self) -> str:
        # KeyError shows its argument's repr (the quoted key); this one holds a sentence.
        return str(self.args[0]) if len(self.args) == 1 else super().__str__()


class ReadOnlyError(LocalProtocolError, AttributeError):
    """An attribute of an immutable object (a ``Workflow``) was assigned.

    An ``AttributeError`` too, as for frozen dataclasses.
    """


class WorkflowFormatError(LocalProtocolError):
    """A workflow file cannot be read or converted: malformed JSON, a broken node or link.

    ``node_id`` (an execution id such as ``"12:5"`` inside subgraphs), ``title``
    and ``node_type`` name the offending node when there is one.
    """

    def __init__(
        self,
        message: str,
        *,
        node_id: str | None = None,
        title: str | None = None,
        node_type: str | None = None,
    ) -> None:
        self.node_id = node_id
        self.title = title
        self.node_type = node_type
        super().__init__(message)


class WorkflowRecursionError(WorkflowFormatError):
    """Links or subgraphs of a workflow form a cycle the conversion cannot leave."""


@dataclass(frozen=True, slots=True, kw_only=True)
class MissingNode:
    """One node whose type the server does not have."""

    node_id: str
    node_type: str
    title: str | None = None


class MissingNodeTypesError(WorkflowFormatError):
    """A UI workflow uses node types the server's ``/object_info`` lacks.

    ``missing`` lists every such node (id, type, title), ``types`` the types.
    Convert with ``missing_nodes="drop"`` to leave them out as the frontend does.
    """

    def __init__(self, missing: tuple[MissingNode, ...]) -> None:
        self.missing = missing
        self.types = tuple(dict.fromkeys(m.node_type for m in missing))
        parts = []
        for kind in self.types:
            nodes = ", ".join(
                m.node_id + (f" ({m.title})" if m.title else "")
                for m in missing
                if m.node_type == kind
            )
            parts.append(f"{kind!r}: node {nodes}")
        super().__init__(
            "the server has no node type "
            + "; ".join(parts)
            + " (install the custom nodes, or convert with missing_nodes='drop')",
            node_id=missing[0].node_id if missing else None,
            title=missing[0].title if missing else None,
            node_type=missing[0].node_type if missing else None,
        )


class WorkflowEditError(LocalProtocolError):
    """A workflow edit (addressing a node, setting a value, rendering a template) was refused.

    ``node_id``, ``title``, ``node_type`` and ``input_name`` say where, when known;
    ``parameter`` names the template parameter or address the caller gave.
    """

    def __init__(
        self,
        message: str,
        *,
        node_id: str | None = None,
        title: str | None = None,
        node_type: str | None = None,
        input_name: str | None = None,
        parameter: str | None = None,
    ) -> None:
        self.node_id = node_id
        self.title = title
        self.node_type = node_type
        self.input_name = input_name
        self.parameter = parameter
        super().__init__(message)


class NodeNotFoundError(WorkflowEditError, LookupError):
    """No node has this id, title or class_type; ``suggestions`` lists close matches."""

    def __init__(self, message: str, *, reference: str, suggestions: tuple[str, ...]) -> None:
        self.reference = reference
        self.suggestions = suggestions
        super().__init__(message, parameter=reference)


class AmbiguousNodeError(WorkflowEditError, LookupError):
    """Several nodes match a title or class_type; ``candidates`` holds (id, title, class_type)."""

    def __init__(
        self,
        message: str,
        *,
        reference: str,
        candidates: tuple[tuple[str, str | None, str | None], ...],
    ) -> None:
        self.reference = reference
        self.candidates = candidates
        super().__init__(message, parameter=reference)


class InputNotFoundError(WorkflowEditError, LookupError):
    """The node has no such input; ``inputs`` lists the ones it has."""

    def __init__(self, message: str, *, inputs: tuple[str, ...], **where: Any) -> None:
        self.inputs = inputs
        super().__init__(message, **where)


class LinkedInputError(WorkflowEditError):
    """The input holds a link; setting a value there needs ``replace_links=True``."""


class ParameterError(WorkflowEditError, ValueError):
    """A template parameter is missing, unknown, or its value is not allowed.

    ``allowed`` says what would be (a type, a range, the choices), when known.
    """

    def __init__(self, message: str, *, allowed: str | None = None, **where: Any) -> None:
        self.allowed = allowed
        super().__init__(message, **where)


class RemoteProtocolError(ProtocolError):
    """The server sent a message or body that does not have the documented shape."""


class TransportError(ComfyError):
    """The transport could not complete an exchange (the library's error is chained)."""


class ConnectError(TransportError):
    """No connection could be made (refused, DNS, TLS handshake, rejected upgrade)."""


class TransportTimeout(TransportError):
    """A connect, read, write or pool wait ran out of time."""


class NetworkError(TransportError):
    """An established connection failed (reset, closed mid-exchange)."""


class BodyTooLarge(TransportError):
    """A response body passed the bound its request set (``Request.max_body``).

    Raised for in-memory downloads over ``max_download_size``: stream large
    files to disk with ``download_to`` instead.
    """

    def __init__(self, message: str, *, limit: int) -> None:
        self.limit = limit
        super().__init__(message)


class WebSocketClosed(TransportError):
    """The WebSocket is closed; no more messages will arrive on it."""


class WaitTimeout(ComfyError, TimeoutError):
    """A wait for a prompt or a reply ran past its timeout (the prompt itself goes on)."""


class StorageError(ComfyError):
    """An output could not be written where it was to go (the ``OSError`` or
    ``ValueError`` of the file system is chained)."""


class ImageDecodeError(RemoteProtocolError):
    """An output image's bytes could not be decoded (Pillow's error is chained)."""


class ImageTooLargeError(ImageDecodeError):
    """Pillow refused an image as a possible decompression bomb (more pixels than
    ``PIL.Image.MAX_IMAGE_PIXELS`` allows; raise that bound to decode it anyway)."""


class ClientClosedError(ComfyError):
    """The client was closed while this operation or prompt was still pending."""


class HTTPStatusError(ComfyError):
    """The server answered a request with a 4xx or 5xx status.

    ``message`` is the server's own text where it sent one (JSON ``error``,
    ComfyUI's plain-text 500 page) and is empty for the many empty error bodies.
    """

    def __init__(self, *, status: int, method: str, route: str, message: str = "") -> None:
        self.status = status
        self.method = method
        self.route = route
        self.message = message
        text = f"{method} {route} returned {status}"
        super().__init__(f"{text}: {message}" if message else text)


class ComfyExecutionError(ComfyError):
    """A prompt did not produce a result (the original package's error name).

    ``prompt_id`` is None only when the server rejected a prompt whose id it
    never accepted.
    """

    prompt_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class InputError:
    """One validation error the server reported for a node (``node_errors[n].errors[i]``)."""

    type: str
    message: str
    details: str = ""
    input_name: str | None = None
    extra_info: Mapping[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        where = f"input {self.input_name!r}: " if self.input_name else ""
        detail = f" ({self.details})" if self.details and self.details != self.input_name else ""
        return f"{where}{self.message}{detail} [{self.type}]"


@dataclass(frozen=True, slots=True, kw_only=True)
class NodeError:
    """All validation errors of one node, with the output nodes they block."""

    node_id: str
    class_type: str | None
    errors: tuple[InputError, ...]
    dependent_outputs: tuple[str, ...] = ()

    def describe(self) -> str:
        head = f"node {self.node_id}" + (f" ({self.class_type})" if self.class_type else "")
        return "; ".join(f"{head} {err.describe()}" for err in self.errors) or head


class WorkflowValidationError(ComfyExecutionError):
    """The workflow was refused before it ran: a 400 from ``POST /prompt``.

    Also raised before any request when the workflow is not API-format at all
    (then ``status`` is None). ``node_errors`` holds one :class:`NodeError` per
    offending node, each naming its inputs; ``error_type`` is the server's
    top-level type such as ``prompt_outputs_failed_validation`` or
    ``invalid_prompt``.
    """

    def __init__(
        self,
        *,
        error_type: str,
        message: str,
        details: str = "",
        node_errors: tuple[NodeError, ...] = (),
        status: int | None = 400,
        raw: Mapping[str, Any] | None = None,
    ) -> None:
        self.error_type = error_type
        self.message = message
        self.details = details
        self.node_errors = node_errors
        self.status = status
        self.raw: Mapping[str, Any] = raw or {}
        parts = [f"{message} [{error_type}]"]
        if details and not node_errors:  # with node errors, details repeats the first one
            parts.append(details)
        parts.extend(n.describe() for n in node_errors)
        super().__init__("; ".join(parts))


class NodeExecutionError(ComfyExecutionError):
    """A node raised while the prompt ran (``execution_error``)."""

    def __init__(
        self,
        *,
        prompt_id: str,
        node_id: str,
        node_type: str,
        exception_type: str,
        exception_message: str,
        traceback: tuple[str, ...] = (),
        executed: tuple[str, ...] = (),
    ) -> None:
        self.prompt_id = prompt_id
        self.node_id = node_id
        self.node_type = node_type
        self.exception_type = exception_type
        self.exception_message = exception_message.strip()
        self.traceback = traceback
        self.executed = executed
        super().__init__(
            f"prompt {prompt_id} failed in node {node_id} ({node_type}): "
            f"{exception_type}: {self.exception_message}"
        )


class PluginError(ComfyExecutionError):
    """A plugin's hook raised while the client finished a prompt (storing its outputs,
    reporting it done). The plugin's own exception is chained as ``__cause__``;
    ``plugin`` and ``hook`` name where it came from."""

    def __init__(self, *, plugin: str, hook: str, prompt_id: str | None = None) -> None:
        self.plugin = plugin
        self.hook = hook
        self.prompt_id = prompt_id
        where = f" for prompt {prompt_id}" if prompt_id else ""
        super().__init__(f"plugin {plugin!r} failed in {hook}{where}")

    def __str__(self) -> str:
        cause = self.__cause__
        text = super().__str__()
        return f"{text}: {type(cause).__name__}: {cause}" if cause is not None else text


class PromptInterruptedError(ComfyExecutionError):
    """The prompt was interrupted (``execution_interrupted``)."""

    def __init__(self, *, prompt_id: str, node_id: str | None, node_type: str | None) -> None:
        self.prompt_id = prompt_id
        self.node_id = node_id
        self.node_type = node_type
        at = f" at node {node_id} ({node_type})" if node_id else ""
        super().__init__(f"prompt {prompt_id} was interrupted{at}")


class PromptNotFinishedError(ComfyExecutionError):
    """Results were asked for while the prompt is still queued or running."""

    def __init__(self, *, prompt_id: str, state: str) -> None:
        self.prompt_id = prompt_id
        self.state = state
        super().__init__(
            f"prompt {prompt_id} is still {state}; wait for it before fetching results"
        )


class UnreadableAnswerError(ComfyExecutionError, RemoteProtocolError):
    """The server kept answering what the prompt's outcome depends on (its queue or
    history) with a body that cannot be read; the last RemoteProtocolError is chained.

    Raised after as many tries as an empty history gets, so a server answering
    garbage cannot hold a wait without a timeout for ever.
    """

    def __init__(self, *, prompt_id: str, error: RemoteProtocolError) -> None:
        self.prompt_id = prompt_id
        self.__cause__ = error
        super().__init__(f"cannot read the server's answer about prompt {prompt_id}: {error}")


class PromptLostError(ComfyExecutionError):
    """The prompt is neither queued, running nor in the history.

    The server restarted, the queue was cleared, the prompt was deleted, or its
    history entry was evicted or removed. Its result can no longer be had.
    """

    def __init__(self, *, prompt_id: str, reason: str = "") -> None:
        self.prompt_id = prompt_id
        self.reason = reason
        super().__init__(
            f"prompt {prompt_id} is in neither the queue nor the history"
            + (f" ({reason})" if reason else "")
        )
