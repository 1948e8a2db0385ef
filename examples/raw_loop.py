"""Drive comfy_core by hand: httpx does the I/O, the core decides everything else.

python examples/raw_loop.py [URL]
"""

import json
import sys
import time
import uuid
from pathlib import Path

import httpx

from comfy_core import PromptFailed, PromptSucceeded, PromptTracker, Request, Response, submit_flow

http = httpx.Client(base_url=sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8188")


def send(request: Request) -> Response:
    answer = http.request(
        request.method,
        request.path,
        params=request.params,
        headers=request.headers,
        content=request.body,
    )
    return Response(status=answer.status_code, body=answer.content)


tracker = PromptTracker()
workflow = json.loads((Path(__file__).parent / "workflow.json").read_text())
# Always send a client_id: ComfyUI leaves cached outputs out of the history otherwise.
flow = submit_flow(
    workflow, prompt_id=str(uuid.uuid4()), client_id=uuid.uuid4().hex, tracker=tracker
)
request = next(flow)  # a flow yields its requests and is sent their answers
assert isinstance(request, Request)
try:
    flow.send(send(request))
except StopIteration as done:
    print("queued", done.value.prompt_id)

while tracker.tracked:  # HTTP polling: one queue check, then history reads for what left it
    if (check := tracker.reconcile()) is not None:
        tracker.receive_response(check, send(check.request))
    for out in tracker.requests_to_send():
        time.sleep(out.delay)
        tracker.receive_response(out, send(out.request))
    while (event := tracker.next_event()) is not None:
        if isinstance(event, PromptSucceeded):
            print("done:", [f.filename for f in event.result.files])
        elif isinstance(event, PromptFailed):
            print("failed:", event.error)
    time.sleep(0.2)
