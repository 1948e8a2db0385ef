"""One plugin manager per client, and one typed wrapper per hook.

:func:`make_plugin_manager` builds a fresh ``pluggy.PluginManager`` for each
client (there is no global one): the hookspecs, the built-in plugins
(:data:`BUILTIN_PLUGINS`: ``comfy_plugins.logs`` and a default
``comfy_plugins.retry.RetryPlugin``), third-party plugins from the entry-point
group ``comfy_api_client``, and the plugins given explicitly. A plugin given
explicitly whose ``replaces_builtin`` attribute names a built-in (as
``RetryPlugin`` does: two retry policies would each get a say, and the default
one would retry what the user's gave up on) is registered instead of it. Two
environment variables limit what is loaded:

* ``COMFY_API_CLIENT_DISABLE_PLUGIN_AUTOLOAD=1`` loads no entry points;
* ``COMFY_API_CLIENT_PLUGINS=name1,name2`` loads only those entry points.

The client calls hooks only through :class:`Hooks`, whose methods are typed
and turn the hooks' list results into what the client needs. A hook that only
observes (events, responses, failed prompts) and raises is logged and does
not disturb the client; a decision hook that raises propagates. The hooks that
finish a prompt (``comfy_store_output``, ``comfy_prompt_finished``) raise
:class:`PluginError` naming the plugin and the hook, its exception chained, so
the client can fail that prompt's future with it.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import logging
import os
from collections.abc import Iterable, Mapping
from types import TracebackType
from typing import Any

import pluggy

from comfy_api_client import hookspecs
from comfy_core.errors import ComfyExecutionError, PluginError
from comfy_core.events import Event
from comfy_core.http import Request, Response
from comfy_core.outputs import OutputFile
from comfy_core.results import PromptResult

__all__ = ["ALLOWLIST_ENV", "AUTOLOAD_ENV", "BUILTIN_PLUGINS", "Hooks", "make_plugin_manager"]

AUTOLOAD_ENV = "COMFY_API_CLIENT_DISABLE_PLUGIN_AUTOLOAD"
ALLOWLIST_ENV = "COMFY_API_CLIENT_PLUGINS"
log = logging.getLogger("comfy_api_client.plugins")

# The built-in plugins, by registration name: a module ("package.module"), registered as
# it is, or a class ("package.module:Class"), registered as an instance made without
# arguments. Named, not imported, so that importing the SDK loads no plugin.
BUILTIN_PLUGINS: tuple[tuple[str, str], ...] = (
    ("comfy.logs", "comfy_plugins.logs"),
    ("comfy.retry", "comfy_plugins.retry:RetryPlugin"),
)
_RECORDER = "comfy_plugins.recorder:Recorder"
_RECORD_ENV = "comfy_plugins.recorder:RECORD_ENV"


def _resolve(target: str) -> Any:
    """The module ``target`` names, or its attribute after the colon."""
    module, _, attribute = target.partition(":")
    loaded = importlib.import_module(module)
    return getattr(loaded, attribute) if attribute else loaded


def _builtin(target: str) -> object:
    """The plugin ``target`` names: the module itself, or an instance of the class."""
    plugin = _resolve(target)
    return plugin() if ":" in target else plugin


def _raising_plugin(hook: Any, tb: TracebackType | None) -> str:
    """The name of the plugin whose implementation of ``hook`` is in traceback ``tb``."""
    codes = {impl.function.__code__: impl.plugin_name for impl in hook.get_hookimpls()}
    # The innermost implementation frame raised (or called what raised).
    found = "unknown"
    while tb is not None:
        found = codes.get(tb.tb_frame.f_code, found)
        tb = tb.tb_next
    return found


def _load_entry_points(pm: pluggy.PluginManager) -> None:
    if os.environ.get(AUTOLOAD_ENV, "").strip() not in ("", "0"):
        return
    allowed = os.environ.get(ALLOWLIST_ENV)
    if allowed is None:
        pm.load_setuptools_entrypoints(hookspecs.PROJECT)
        return
    wanted = {name.strip() for name in allowed.split(",") if name.strip()}
    available = {ep.name for ep in importlib.metadata.entry_points(group=hookspecs.PROJECT)}
    for name in sorted(wanted & available):
        pm.load_setuptools_entrypoints(hookspecs.PROJECT, name=name)


def make_plugin_manager(
    plugins: Iterable[object] | None = (),
    *,
    builtins: bool = True,
    load_entrypoints: bool = True,
    record: str | os.PathLike[str] | None = None,
) -> pluggy.PluginManager:
    """A new plugin manager with the built-ins, entry points and ``plugins`` registered.

    ``plugins=None`` means none beyond those. A plugin among ``plugins`` whose
    ``replaces_builtin`` attribute is the name of a built-in (``RetryPlugin``'s
    is ``"comfy.retry"``) is registered instead of that built-in; pass
    ``builtins=False`` for no built-in plugin at all. ``record`` (or the
    ``COMFY_API_CLIENT_RECORD`` environment variable) adds a recorder writing
    the session's transcript to that path.
    """
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    plugins = list(plugins or ())
    if builtins:
        replaced = {getattr(p, "replaces_builtin", None) for p in plugins}
        for name, target in BUILTIN_PLUGINS:
            if name not in replaced:
                pm.register(_builtin(target), name=name)
    if load_entrypoints:
        _load_entry_points(pm)
    for plugin in plugins:
        pm.register(plugin)
    record = record or os.environ.get(_resolve(_RECORD_ENV)) or None
    if record is not None:
        pm.register(_resolve(_RECORDER)(record), name="comfy.recorder")
    pm.check_pending()
    return pm


class Hooks:
    """Typed calls into a plugin manager's hooks (the only way the client calls them)."""

    def __init__(self, pm: pluggy.PluginManager) -> None:
        self.pm = pm
        self._hook = pm.hook

    def _observe(self, call: Any, **kwargs: Any) -> None:
        if not call.get_hookimpls():  # most hooks have no plugin: skip pluggy's call
            return
        try:
            call(**kwargs)
        except Exception:
            log.exception("a plugin failed in %s", getattr(call, "name", call))

    def _finishing(self, call: Any, of_prompt: str, **kwargs: Any) -> Any:
        try:
            return call(**kwargs)
        except Exception as exc:
            plugin = _raising_plugin(call, exc.__traceback__)
            raise PluginError(plugin=plugin, hook=call.name, prompt_id=of_prompt) from exc

    def client_opened(self, client: object) -> None:
        self._observe(self._hook.comfy_client_opened, client=client)

    def client_closed(self, client: object) -> None:
        self._observe(self._hook.comfy_client_closed, client=client)

    def request_headers(self, request: Request, attempt: int) -> Request:
        """``request`` with the headers plugins add (the first registered plugin wins)."""
        call = self._hook.comfy_request_headers
        if not call.get_hookimpls():  # as in _observe: no plugin adds headers, skip pluggy
            return request
        added: dict[str, str] = {}
        # pluggy calls the last registered first, so the first registered updates last and wins.
        for headers in call(request=request, attempt=attempt):
            added.update(headers or {})
        if not added:
            return request
        present = {k.lower() for k, _ in request.headers}
        extra = tuple((k, v) for k, v in added.items() if k.lower() not in present)
        return Request(
            method=request.method,
            path=request.path,
            params=request.params,
            headers=request.headers + extra,
            body=request.body,
        )

    def response_received(self, request: Request, response: Response, elapsed: float) -> None:
        self._observe(
            self._hook.comfy_response_received, request=request, response=response, elapsed=elapsed
        )

    def request_failed(self, request: Request, error: Exception, elapsed: float) -> None:
        self._observe(
            self._hook.comfy_request_failed, request=request, error=error, elapsed=elapsed
        )

    def retry_delay(
        self,
        request: Request,
        *,
        attempt: int,
        elapsed: float,
        response: Response | None = None,
        error: Exception | None = None,
        idempotent: bool,
    ) -> float | None:
        """Seconds to wait before sending ``request`` again, or None to give up."""
        delay = self._hook.comfy_retry_delay(
            request=request,
            attempt=attempt,
            elapsed=elapsed,
            response=response,
            error=error,
            idempotent=idempotent,
        )
        return None if delay is None else max(0.0, float(delay))

    def websocket_opened(self, client_id: str) -> None:
        self._observe(self._hook.comfy_websocket_opened, client_id=client_id)

    def websocket_message(self, client_id: str, message: str | bytes, sent: bool) -> None:
        self._observe(
            self._hook.comfy_websocket_message, client_id=client_id, message=message, sent=sent
        )

    def websocket_closed(self, client_id: str) -> None:
        self._observe(self._hook.comfy_websocket_closed, client_id=client_id)

    def event(self, event: Event) -> None:
        self._observe(self._hook.comfy_event, event=event)

    @property
    def stores_outputs(self) -> bool:
        """True when some plugin implements ``comfy_store_output``."""
        return bool(self._hook.comfy_store_output.get_hookimpls())

    def store_output(self, prompt_id: str, output: OutputFile, data: bytes) -> list[str]:
        """Every location the storage plugins report for this output; :class:`PluginError`
        if one of them raises."""
        results = self._finishing(
            self._hook.comfy_store_output, prompt_id, prompt_id=prompt_id, output=output, data=data
        )
        return [str(r) for r in results if r is not None]

    def prompt_finished(self, result: PromptResult, stored: Mapping[str, list[str]]) -> None:
        """Tell the plugins a prompt is done; :class:`PluginError` if one of them raises."""
        self._finishing(
            self._hook.comfy_prompt_finished, result.prompt_id, result=result, stored=stored
        )

    def prompt_failed(self, prompt_id: str, error: ComfyExecutionError) -> None:
        self._observe(self._hook.comfy_prompt_failed, prompt_id=prompt_id, error=error)
