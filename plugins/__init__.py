"""comfy_plugins: first-party plugins of comfy-api-client (logging, retries, storage).

Installed under the import name ``comfy_plugins``. The plugin hooks and the
built-in plugins arrive with the plugin system; this package reserves the name.
"""
