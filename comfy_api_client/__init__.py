"""comfy_api_client: drive ComfyUI servers from Python.

    from comfy_api_client import create_client, utils

    async with create_client("localhost:8188") as client:
        prompt = await client.submit_workflow(utils.read_json("workflow.json"))
        result = await prompt.future
        image = result.output_images[0].image

The protocol lives in ``comfy_core`` (sans-I/O), the I/O in ``comfy_transports``.

Every name below is imported on first use (PEP 562): ``import comfy_api_client``
(or a submodule such as ``comfy_api_client.hookspecs``) loads no transport,
and ``from comfy_api_client import PromptResult`` only what that needs.
``AsyncClient`` is another name for :class:`ComfyAPIClient`.
"""

from __future__ import annotations

import importlib
import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from comfy_api_client import utils
    from comfy_api_client.base import Receipt
    from comfy_api_client.batch import BatchItem
    from comfy_api_client.client import ComfyAPIClient
    from comfy_api_client.client import ComfyAPIClient as AsyncClient
    from comfy_api_client.create import create_client
    from comfy_api_client.feeds import PollingFeed, WebSocketFeed
    from comfy_api_client.hookspecs import hookimpl
    from comfy_api_client.plugins import Hooks
    from comfy_api_client.pool import AsyncPool, create_pool
    from comfy_api_client.pooling import PoolReceipt, PromptRequeued, ServerEvent, ServerStatus
    from comfy_api_client.trackers import (
        BaseComfyStateTracker,
        HTTPStateTracker,
        WebsocketStateTracker,
        create_comfy_state_tracker,
    )
    from comfy_core.api import CancelOutcome, FileList
    from comfy_core.conclusions import PromptFailed, PromptQueued, PromptSucceeded
    from comfy_core.errors import (
        AmbiguousNodeError,
        BodyTooLarge,
        ClientClosedError,
        ComfyError,
        ComfyExecutionError,
        ConnectError,
        HTTPStatusError,
        ImageDecodeError,
        ImageTooLargeError,
        InputError,
        InputNotFoundError,
        InvalidArgument,
        InvalidArgumentType,
        InvalidURL,
        LinkedInputError,
        LocalProtocolError,
        MediaNotFound,
        MissingNode,
        MissingNodeTypesError,
        NameNotFound,
        NetworkError,
        NodeError,
        NodeExecutionError,
        NodeNotFoundError,
        ParameterError,
        PluginError,
        PromptInterruptedError,
        PromptLostError,
        PromptNotFinishedError,
        ProtocolError,
        ReadOnlyError,
        RemoteProtocolError,
        StorageError,
        TransportError,
        TransportTimeout,
        UnreadableAnswerError,
        WaitTimeout,
        WebSocketClosed,
        WorkflowEditError,
        WorkflowFormatError,
        WorkflowRecursionError,
        WorkflowValidationError,
    )
    from comfy_core.events import (
        ComponentDisplayed,
        Event,
        ExecutionBlocked,
        ExecutionCached,
        ExecutionFailed,
        ExecutionFinished,
        ExecutionInterrupted,
        ExecutionStarted,
        ExecutionSucceeded,
        FeatureFlagsReceived,
        LogsReceived,
        NodeExecuted,
        NodeProgress,
        NodeStarted,
        PreviewReceived,
        ProgressStateUpdated,
        ProgressUpdated,
        StatusReported,
        TextReceived,
        UnknownMessage,
    )
    from comfy_core.flows import Call, Flow, Gather, Sleep, Steps
    from comfy_core.http import Request, Response
    from comfy_core.jobs import JobInfo
    from comfy_core.models import (
        DeviceInfo,
        PromptResponse,
        QueueEntry,
        QueueState,
        SystemInfo,
        SystemStats,
    )
    from comfy_core.outputs import NodeOutput, OutputFile
    from comfy_core.progress import Progress
    from comfy_core.prompt_state import PromptState
    from comfy_core.results import ImageItem, PromptResult
    from comfy_core.routing import NoCapableServer
    from comfy_core.schema import InputSpec, NodeSchema, OutputSpec
    from comfy_core.tracker import PromptTracker
    from comfy_core.uploads import UploadedFile
    from comfy_core.urls import ServerURL
    from comfy_core.workflows import (
        MissingNodes,
        NodeInfo,
        NodeMap,
        Parameter,
        Template,
        Workflow,
        WorkflowSource,
    )
    from comfy_transports.base import (
        AsyncTransport,
        AsyncWebSocket,
        SyncTransport,
        SyncWebSocket,
    )

__version__ = "0.2.0"

# A library logs, the application decides where it goes (no "last resort" stderr output).
logging.getLogger("comfy_api_client").addHandler(logging.NullHandler())

__all__ = [
    "AsyncPool",
    "BatchItem",
    "NoCapableServer",
    "PoolReceipt",
    "PromptRequeued",
    "ServerEvent",
    "ServerStatus",
    "create_pool",
    "PollingFeed",
    "Receipt",
    "WebSocketFeed",
    "AmbiguousNodeError",
    "AsyncClient",
    "AsyncTransport",
    "AsyncWebSocket",
    "BaseComfyStateTracker",
    "BodyTooLarge",
    "CancelOutcome",
    "ClientClosedError",
    "ComfyAPIClient",
    "ComfyError",
    "ComfyExecutionError",
    "ComponentDisplayed",
    "ConnectError",
    "DeviceInfo",
    "Event",
    "ExecutionBlocked",
    "ExecutionCached",
    "ExecutionFailed",
    "ExecutionFinished",
    "ExecutionInterrupted",
    "ExecutionStarted",
    "ExecutionSucceeded",
    "FeatureFlagsReceived",
    "FileList",
    "Flow",
    "HTTPStateTracker",
    "HTTPStatusError",
    "Hooks",
    "ImageDecodeError",
    "ImageItem",
    "ImageTooLargeError",
    "InputError",
    "InputNotFoundError",
    "InputSpec",
    "InvalidArgument",
    "InvalidArgumentType",
    "InvalidURL",
    "JobInfo",
    "LinkedInputError",
    "LocalProtocolError",
    "LogsReceived",
    "MediaNotFound",
    "MissingNode",
    "MissingNodeTypesError",
    "MissingNodes",
    "NameNotFound",
    "NetworkError",
    "NodeError",
    "NodeExecuted",
    "NodeExecutionError",
    "NodeInfo",
    "NodeMap",
    "NodeNotFoundError",
    "NodeOutput",
    "NodeProgress",
    "NodeSchema",
    "NodeStarted",
    "OutputFile",
    "OutputSpec",
    "Parameter",
    "ParameterError",
    "PluginError",
    "PreviewReceived",
    "Progress",
    "ProgressStateUpdated",
    "ProgressUpdated",
    "PromptFailed",
    "PromptInterruptedError",
    "PromptLostError",
    "PromptNotFinishedError",
    "PromptQueued",
    "PromptResponse",
    "PromptResult",
    "PromptState",
    "PromptSucceeded",
    "PromptTracker",
    "ProtocolError",
    "QueueEntry",
    "QueueState",
    "ReadOnlyError",
    "RemoteProtocolError",
    "Request",
    "Response",
    "ServerURL",
    "Sleep",
    "Call",
    "Gather",
    "Steps",
    "StatusReported",
    "StorageError",
    "SyncTransport",
    "SyncWebSocket",
    "SystemInfo",
    "SystemStats",
    "Template",
    "TextReceived",
    "TransportError",
    "TransportTimeout",
    "UnknownMessage",
    "UnreadableAnswerError",
    "UploadedFile",
    "WaitTimeout",
    "WebSocketClosed",
    "WebsocketStateTracker",
    "Workflow",
    "WorkflowEditError",
    "WorkflowFormatError",
    "WorkflowRecursionError",
    "WorkflowSource",
    "WorkflowValidationError",
    "create_client",
    "create_comfy_state_tracker",
    "hookimpl",
    "utils",
    "__version__",
]

# Where each public name lives; a module is imported when one of its names is first asked for.
_SOURCES: dict[str, tuple[str, ...]] = {
    "comfy_api_client.base": ("Receipt",),
    "comfy_api_client.batch": ("BatchItem",),
    "comfy_api_client.client": ("ComfyAPIClient",),
    "comfy_api_client.create": ("create_client",),
    "comfy_api_client.feeds": ("PollingFeed", "WebSocketFeed"),
    "comfy_api_client.hookspecs": ("hookimpl",),
    "comfy_api_client.plugins": ("Hooks",),
    "comfy_api_client.pool": ("AsyncPool", "create_pool"),
    "comfy_api_client.pooling": ("PoolReceipt", "PromptRequeued", "ServerEvent", "ServerStatus"),
    "comfy_api_client.trackers": (
        "BaseComfyStateTracker",
        "HTTPStateTracker",
        "WebsocketStateTracker",
        "create_comfy_state_tracker",
    ),
    "comfy_core.routing": ("NoCapableServer",),
    "comfy_core.api": (
        "CancelOutcome",
        "FileList",
    ),
    "comfy_core.conclusions": (
        "PromptFailed",
        "PromptQueued",
        "PromptSucceeded",
    ),
    "comfy_core.errors": (
        "AmbiguousNodeError",
        "BodyTooLarge",
        "ClientClosedError",
        "ComfyError",
        "ComfyExecutionError",
        "ConnectError",
        "HTTPStatusError",
        "ImageDecodeError",
        "ImageTooLargeError",
        "InputError",
        "InputNotFoundError",
        "InvalidArgument",
        "InvalidArgumentType",
        "InvalidURL",
        "LinkedInputError",
        "LocalProtocolError",
        "MediaNotFound",
        "MissingNode",
        "MissingNodeTypesError",
        "NameNotFound",
        "NetworkError",
        "NodeError",
        "NodeExecutionError",
        "NodeNotFoundError",
        "ParameterError",
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
        "WorkflowEditError",
        "WorkflowFormatError",
        "WorkflowRecursionError",
        "WorkflowValidationError",
    ),
    "comfy_core.events": (
        "ComponentDisplayed",
        "Event",
        "ExecutionBlocked",
        "ExecutionCached",
        "ExecutionFailed",
        "ExecutionFinished",
        "ExecutionInterrupted",
        "ExecutionStarted",
        "ExecutionSucceeded",
        "FeatureFlagsReceived",
        "LogsReceived",
        "NodeExecuted",
        "NodeProgress",
        "NodeStarted",
        "PreviewReceived",
        "ProgressStateUpdated",
        "ProgressUpdated",
        "StatusReported",
        "TextReceived",
        "UnknownMessage",
    ),
    "comfy_core.flows": (
        "Call",
        "Flow",
        "Gather",
        "Sleep",
        "Steps",
    ),
    "comfy_core.http": (
        "Request",
        "Response",
    ),
    "comfy_core.jobs": ("JobInfo",),
    "comfy_core.models": (
        "DeviceInfo",
        "PromptResponse",
        "QueueEntry",
        "QueueState",
        "SystemInfo",
        "SystemStats",
    ),
    "comfy_core.outputs": (
        "NodeOutput",
        "OutputFile",
    ),
    "comfy_core.progress": ("Progress",),
    "comfy_core.prompt_state": ("PromptState",),
    "comfy_core.results": (
        "ImageItem",
        "PromptResult",
    ),
    "comfy_core.schema": (
        "InputSpec",
        "NodeSchema",
        "OutputSpec",
    ),
    "comfy_core.tracker": ("PromptTracker",),
    "comfy_core.uploads": ("UploadedFile",),
    "comfy_core.urls": ("ServerURL",),
    "comfy_core.workflows": (
        "MissingNodes",
        "NodeInfo",
        "NodeMap",
        "Parameter",
        "Template",
        "Workflow",
        "WorkflowSource",
    ),
    "comfy_transports.base": (
        "AsyncTransport",
        "AsyncWebSocket",
        "SyncTransport",
        "SyncWebSocket",
    ),
}
_EXPORTS = {name: module for module, names in _SOURCES.items() for name in names}
_ALIASES = {"AsyncClient": ("comfy_api_client.client", "ComfyAPIClient")}
_SUBMODULES = frozenset({"utils"})


def __getattr__(name: str) -> Any:
    """The public attribute ``name``, imported on first access and kept."""
    if name in _SUBMODULES:
        value: Any = importlib.import_module(f"{__name__}.{name}")
    elif name in _ALIASES:
        module, attribute = _ALIASES[name]
        value = getattr(importlib.import_module(module), attribute)
    elif name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value  # later lookups skip this hook
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
