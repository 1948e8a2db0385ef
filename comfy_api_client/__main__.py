"""``python -m comfy_api_client``: the command line."""

import sys

from comfy_api_client.cli import main

sys.exit(main())
