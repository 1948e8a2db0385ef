"""The live layout of a node class, as the frontend builds it from ``/object_info``.

A UI workflow stores a node's widget values by position (``widgets_values``) and
its links by input name, so converting it needs what the frontend derives from
a class definition: the ordered input specs, which of them become widgets (and
the extra widgets some add: a seed's ``control_after_generate``, a combo's
filter list, an image loader's upload button), and the input sockets in the
order the frontend creates them. :func:`node_layout` computes that once per
class; the rules follow the frontend version ComfyUI 0.3.75 pins (1.32.9).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["CONTROL_MODES", "InputSlot", "NodeLayout", "WidgetSlot", "node_layout"]

# Spec types the frontend has a widget constructor for (core widgets plus the
# core extensions' getCustomWidgets). A spec of any other type is a socket.
WIDGET_TYPES = frozenset(
    {
        "INT",
        "FLOAT",
        "BOOLEAN",
        "STRING",
        "MARKDOWN",
        "COMBO",
        "IMAGEUPLOAD",
        "COLOR",
        "IMAGECOMPARE",
        "CHART",
        "GALLERIA",
        "TEXTAREA",
        "AUDIO_UI",
        "AUDIOUPLOAD",
        "AUDIO_RECORD",
        "WEBCAM",
        "LOAD_3D",
        "PREVIEW_3D",
    }
)
CONTROL_MODES = ("fixed", "increment", "decrement", "randomize", "increment-wrap")
_AUDIO_UI_NODES = frozenset(
    {"LoadAudio", "SaveAudio", "PreviewAudio", "SaveAudioMP3", "SaveAudioOpus", "RecordAudio"}
)
_UPLOAD_FLAGS = ("image_upload", "video_upload", "animated_image_upload")
_PREVIEW_3D_NODES = frozenset({"SaveGLB", "Preview3D"})
# Titles the frontend (1.32.9) shows from its own English locale where they differ
# from the server's display_name: the prompt's _meta.title uses them.
FRONTEND_TITLES = {
    "EmptyHunyuanLatentVideo": "EmptyHunyuanLatentVideo",
    "Load3D": "Load 3D",
    "Preview3D": "Preview 3D",
    "PreviewAny": "Preview Any",
}
_EMPTY_STRING_WIDGETS = frozenset({"PREVIEW_3D", "LOAD_3D", "WEBCAM"})


@dataclass(frozen=True, slots=True)
class WidgetSlot:
    """One widget of a live node.

    ``persisted``: it takes a ``widgets_values`` slot. ``in_prompt``: its value
    goes into the API prompt under ``name``. ``control_of`` names the widget a
    ``control_after_generate`` widget drives.
    """

    name: str
    type: str
    default: Any
    persisted: bool = True
    in_prompt: bool = True
    control_of: str | None = None
    dynamic_prompts: bool = False
    text_replacements: bool = False
    options: tuple[Any, ...] = ()


@dataclass(frozen=True, slots=True)
class InputSlot:
    """One input socket of a live node; ``widget`` names the widget it can replace."""

    name: str
    type: str
    widget: str | None = None


@dataclass(frozen=True, slots=True)
class NodeLayout:
    """What the frontend builds for one node class."""

    class_type: str
    title: str
    widgets: tuple[WidgetSlot, ...]
    inputs: tuple[InputSlot, ...]
    outputs: tuple[str, ...]
    # For the pre-1.16 forceInput migration: (input name, is forceInput, slot count)
    # over the definition's widget and forceInput specs in object order.
    legacy_slots: tuple[tuple[str, bool, int], ...]


_SAVE_NODES = frozenset(
    {
        "SaveImage",
        "SaveVideo",
        "SaveAnimatedWEBP",
        "SaveWEBM",
        "SaveAudio",
        "SaveGLB",
        "SaveAnimatedPNG",
        "CLIPSave",
        "VAESave",
        "ModelSave",
        "LoraSave",
        "SaveLatent",
    }
)


def _spec(raw: Any) -> tuple[str, dict[str, Any], tuple[Any, ...]]:
    """(type, options, combo choices) of one V1 input spec."""
    spec = raw if isinstance(raw, list) else [raw]
    kind = spec[0] if spec else "*"
    options = dict(spec[1]) if len(spec) > 1 and isinstance(spec[1], Mapping) else {}
    if isinstance(kind, list):
        return "COMBO", options, tuple(kind)
    choices = options.get("options")
    return str(kind), options, tuple(choices) if isinstance(choices, list) else ()


def _default(kind: str, options: Mapping[str, Any], choices: tuple[Any, ...]) -> Any:
    default = options.get("default")
    if kind in _EMPTY_STRING_WIDGETS:
        return ""
    if kind in ("INT", "FLOAT"):
        return 0 if default is None else default
    if kind == "STRING":
        return "" if default is None else default
    if kind == "BOOLEAN":
        return False if default is None else default
    if kind == "COMBO":
        return default or (choices[0] if choices else None)
    return default


def _control_names(options: Mapping[str, Any]) -> tuple[str, str]:
    def name(default_name: str) -> str:
        own = options.get(default_name)
        if isinstance(own, str):
            return own
        prefix = options.get("control_prefix")
        return f"{prefix} {default_name}" if prefix else default_name

    return name("control_after_generate"), name("control_filter_list")


def node_layout(class_type: str, info: Mapping[str, Any]) -> NodeLayout:
    """The live layout of ``class_type`` from its ``/object_info`` entry."""
    sections = info.get("input") if isinstance(info.get("input"), Mapping) else {}
    assert isinstance(sections, Mapping)
    required = dict(sections.get("required") or {})
    optional = dict(sections.get("optional") or {})
    # Specs the core extensions add in beforeRegisterNodeDef.
    for name, raw in list(required.items()):
        kind, options, _ = _spec(raw)
        if kind == "COMBO" and any(options.get(flag) is True for flag in _UPLOAD_FLAGS):
            required["upload"] = ["IMAGEUPLOAD", {**options, "imageInputName": name}]
            break
    if class_type in _PREVIEW_3D_NODES:
        required["image"] = ["PREVIEW_3D"]
    if class_type in _AUDIO_UI_NODES:
        required["audioUI"] = ["AUDIO_UI", {}]
    audio = required.get("audio")
    if audio is not None and _spec(audio)[1].get("audio_upload") is True:
        required["upload"] = ["AUDIOUPLOAD", {}]

    specs: dict[str, tuple[str, dict[str, Any], tuple[Any, ...], bool]] = {}
    for name, raw in required.items():
        specs[str(name)] = (*_spec(raw), False)
    for name, raw in optional.items():
        specs.setdefault(str(name), (*_spec(raw), True))

    order = info.get("input_order") if isinstance(info.get("input_order"), Mapping) else None
    names: list[str] = []
    if order is not None:
        names += [n for n in order.get("required") or [] if n in specs and not specs[n][3]]
        names += [n for n in order.get("optional") or [] if n in specs and specs[n][3]]
    names += [n for n in specs if n not in names]

    def is_widget(name: str) -> bool:
        kind, options, _, is_optional = specs[name]
        force = options.get("forceInput") or (is_optional and options.get("defaultInput"))
        return kind in WIDGET_TYPES and not force

    sockets = [InputSlot(n, specs[n][0]) for n in names if not is_widget(n)]
    widgets: list[WidgetSlot] = []
    for name in names:
        if not is_widget(name):
            continue
        kind, options, choices, _ = specs[name]
        if kind == "IMAGEUPLOAD" or kind == "AUDIOUPLOAD":
            widgets.append(WidgetSlot(name, kind, "image", in_prompt=False))
            continue
        if kind == "AUDIO_UI":
            widgets.append(WidgetSlot(name, kind, None, persisted=False, in_prompt=True))
            sockets.append(InputSlot(name, kind, name))
            continue
        widgets.append(
            WidgetSlot(
                name,
                kind,
                _default(kind, options, choices),
                dynamic_prompts=kind == "STRING" and bool(options.get("dynamicPrompts")),
                text_replacements=class_type in _SAVE_NODES and name == "filename_prefix",
                options=choices,
            )
        )
        control, filter_list = _control_names(options)
        wants_control = options.get("control_after_generate")
        if kind == "INT" and (
            wants_control if wants_control is not None else name in ("seed", "noise_seed")
        ):
            widgets.append(
                WidgetSlot(control, "combo", "randomize", in_prompt=False, control_of=name)
            )
        elif kind == "COMBO" and wants_control:
            widgets.append(
                WidgetSlot(control, "combo", "randomize", in_prompt=False, control_of=name)
            )
            widgets.append(WidgetSlot(filter_list, "string", "", in_prompt=False))
        sockets.append(InputSlot(name, kind, name))

    if class_type == "PreviewAny":  # its extension adds a read-only text widget
        widgets.append(WidgetSlot("preview", "MARKDOWN", "", persisted=False))

    legacy: list[tuple[str, bool, int]] = []
    widget_names = {w.name for w in widgets}
    for name, (_kind, options, _, is_optional) in specs.items():
        force = bool(options.get("forceInput") or (is_optional and options.get("defaultInput")))
        if name in widget_names or force:
            doubled = bool(options.get("control_after_generate")) or name in ("seed", "noise_seed")
            legacy.append((name, force, 2 if doubled else 1))

    outputs = info.get("output") if isinstance(info.get("output"), list) else []
    assert isinstance(outputs, list)
    title = FRONTEND_TITLES.get(class_type) or info.get("display_name") or info.get("name")
    title = title or class_type
    return NodeLayout(
        class_type=class_type,
        title=str(title),
        widgets=tuple(widgets),
        inputs=tuple(sockets),
        outputs=tuple(str(t) if not isinstance(t, list) else "COMBO" for t in outputs),
        legacy_slots=tuple(legacy),
    )
