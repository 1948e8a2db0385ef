"""comfy_plugins: the first-party plugins of comfy-api-client.

* :mod:`comfy_plugins.logs`: logging through the standard library (on by default);
* :mod:`comfy_plugins.retry`: ``RetryPlugin``, backoff with jitter (on by default);
* :mod:`comfy_plugins.storage`: ``LocalStorage`` and ``FsspecStorage`` (opt-in).

Each is a module or class of ``@hookimpl`` functions; see
``comfy_api_client.hookspecs`` for the hooks.
"""
