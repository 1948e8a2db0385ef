"""comfy_api_client: drive ComfyUI servers from Python.

    from comfy_api_client import create_client, utils

    async with create_client("localhost:8188") as client:
        prompt = await client.submit_workflow(utils.read_json("workflow.json"))
        result = await prompt.future
        image = result.output_images[0].image

The protocol lives in ``comfy_core`` (sans-I/O), the I/O in ``comfy_transports``.
"""

import logging

from comfy_api_client import utils
from comfy_api_client.client import ComfyAPIClient
from comfy_api_client.create import create_client
from comfy_api_client.hookspecs import hookimpl
from comfy_api_client.trackers import (
    BaseComfyStateTracker,
    HTTPStateTracker,
    WebsocketStateTracker,
    create_comfy_state_tracker,
)
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
from comfy_core.models import PromptResponse, QueueEntry, QueueState, SystemStats
from comfy_core.outputs import NodeOutput, OutputFile
from comfy_core.results import ImageItem, PromptResult
from comfy_core.workflows import NodeInfo, NodeMap, Parameter, Template, Workflow

__version__ = "0.2.0"

# A library logs, the application decides where it goes (no "last resort" stderr output).
logging.getLogger("comfy_api_client").addHandler(logging.NullHandler())

__all__ = [
    "AmbiguousNodeError",
    "BaseComfyStateTracker",
    "BodyTooLarge",
    "ClientClosedError",
    "ComfyAPIClient",
    "ComfyError",
    "ComfyExecutionError",
    "ConnectError",
    "HTTPStateTracker",
    "HTTPStatusError",
    "ImageDecodeError",
    "ImageItem",
    "ImageTooLargeError",
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
    "NodeExecutionError",
    "NodeInfo",
    "NodeMap",
    "NodeNotFoundError",
    "NodeOutput",
    "OutputFile",
    "Parameter",
    "ParameterError",
    "PluginError",
    "PromptInterruptedError",
    "PromptLostError",
    "PromptNotFinishedError",
    "PromptResponse",
    "PromptResult",
    "ProtocolError",
    "ReadOnlyError",
    "QueueEntry",
    "QueueState",
    "RemoteProtocolError",
    "StorageError",
    "SystemStats",
    "Template",
    "TransportError",
    "TransportTimeout",
    "UnreadableAnswerError",
    "WaitTimeout",
    "WebSocketClosed",
    "WebsocketStateTracker",
    "Workflow",
    "WorkflowEditError",
    "WorkflowFormatError",
    "WorkflowRecursionError",
    "WorkflowValidationError",
    "create_client",
    "create_comfy_state_tracker",
    "hookimpl",
    "utils",
    "__version__",
]
