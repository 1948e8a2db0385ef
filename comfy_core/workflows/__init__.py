"""Workflows: UI-format workflows converted exactly as the official frontend converts them.

:class:`Workflow` is the value users handle: ``Workflow.load(source,
object_info)`` reads an API prompt, a UI workflow or a PNG/WebP ComfyUI saved;
``to_api()`` gives what ``POST /prompt`` takes; ``ui`` is the UI workflow to
send along in ``extra_pnginfo``. The modules, from the bottom up:

* :mod:`~comfy_core.workflows.nodedefs`: a node class's live layout from ``/object_info``;
* :mod:`~comfy_core.workflows.live`: the live nodes, inputs, widgets and links;
* :mod:`~comfy_core.workflows.graph`: the UI JSON configured into them;
* :mod:`~comfy_core.workflows.subgraphs`: how a subgraph instance binds to its definition;
* :mod:`~comfy_core.workflows.links`: link resolution (bypass, reroutes, subgraphs);
* :mod:`~comfy_core.workflows.convert`: the export itself (``graphToPrompt``);
* :mod:`~comfy_core.workflows.text`: dynamic prompts and ``%date:%`` replacements;
* :mod:`~comfy_core.workflows.embedded`: PNG text chunks and WebP EXIF;
* :mod:`~comfy_core.workflows.model`: :class:`Workflow` and :class:`NodeInfo`;
* :mod:`~comfy_core.workflows.loading`: the client's flow (``/object_info`` cached);
* :mod:`~comfy_core.workflows.addressing`: nodes and inputs by id, title or class_type;
* :mod:`~comfy_core.workflows.editing`: ``Workflow.set``;
* :mod:`~comfy_core.workflows.params`: the widget inputs as typed :class:`Parameter` records;
* :mod:`~comfy_core.workflows.seeds`: seeds across a batch;
* :mod:`~comfy_core.workflows.template`: :class:`Template` and its manifest;
* :mod:`~comfy_core.workflows.rows`: a batch's parameter rows, read from a file and rendered.
"""

from comfy_core.workflows.embedded import read_text_metadata
from comfy_core.workflows.loading import (
    ObjectInfoCache,
    WorkflowSource,
    check_workflow_flow,
    load_workflow,
    prepare_workflow,
)
from comfy_core.workflows.model import MissingNodes, NodeInfo, NodeMap, Workflow, is_ui_workflow
from comfy_core.workflows.params import Parameter
from comfy_core.workflows.rows import coerce, read_rows, render_row
from comfy_core.workflows.seeds import SEED_MODES, SeedPolicy
from comfy_core.workflows.template import Template

__all__ = [
    "MissingNodes",
    "NodeInfo",
    "NodeMap",
    "ObjectInfoCache",
    "Parameter",
    "SEED_MODES",
    "SeedPolicy",
    "Template",
    "Workflow",
    "WorkflowSource",
    "check_workflow_flow",
    "coerce",
    "is_ui_workflow",
    "load_workflow",
    "prepare_workflow",
    "read_rows",
    "read_text_metadata",
    "render_row",
]
