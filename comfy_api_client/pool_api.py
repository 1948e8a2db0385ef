"""The async pool's methods: routing, failover and batches over one client per server.

Like ``endpoints.py``, this file holds no asyncio call and no I/O of its own, so
that ``comfy_api_client/sync/pool_api.py`` is generated from it by removing
``async``/``await`` (``scripts/generate_sync.py``; CI checks that the two agree).
The driver (``pool.py``, ``sync/pool.py``) supplies how a client is opened and
closed, how work is spawned, how to wait. The decisions are
:class:`~comfy_api_client.pooling.PoolBase`'s and the router's.
"""

from __future__ import annotations

import logging
import os
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from functools import partial
from pathlib import Path
from typing import Any

from comfy_api_client.batch import Batch, BatchItem
from comfy_api_client.ledger import LedgerItem
from comfy_api_client.media import ImageInput, to_upload_bytes
from comfy_api_client.pooling import (
    Attempt,
    PoolBase,
    PoolJob,
    PoolReceipt,
    PromptRequeued,
    ServerEvent,
    _Relay,
)
from comfy_core.api import CancelOutcome
from comfy_core.conclusions import PromptFailed, PromptSucceeded
from comfy_core.errors import (
    ClientClosedError,
    ComfyError,
    ConnectError,
    PromptLostError,
    PromptNotFinishedError,
    TransportError,
    WaitTimeout,
)
from comfy_core.results import PromptResult
from comfy_core.uploads import UploadedFile
from comfy_core.workflows import Template, Workflow, WorkflowSource, render_row

__all__ = ["AsyncPoolAPI"]

log = logging.getLogger("comfy_api_client.pool")


def _left(deadline: float | None) -> float | None:
    return None if deadline is None else max(0.0, deadline - time.monotonic())


class AsyncPoolAPI(PoolBase):
    """A pool's prompt API (see :func:`comfy_api_client.create_pool`)."""

    # -- driver primitives ------------------------------------------------------------

    async def _open_client(self, url: str, relay: _Relay) -> Any:
        raise NotImplementedError

    async def _close_client(self, client: Any) -> None:
        raise NotImplementedError

    def _spawn(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run ``fn(*args)`` in the background; its future."""
        raise NotImplementedError

    async def _until(self, ready: Callable[[], bool], timeout: float | None) -> None:
        """Return once ``ready()``; :class:`WaitTimeout` after ``timeout`` seconds,
        :class:`ClientClosedError` if the pool closes first."""
        raise NotImplementedError

    async def _pause(self, seconds: float) -> None:
        """Sleep ``seconds``, less when the pool closes."""
        raise NotImplementedError

    async def _first(self, futures: Iterable[Any], timeout: float | None) -> set[Any]:
        """The futures done once at least one is (none after ``timeout``)."""
        raise NotImplementedError

    async def _result(self, future: Any, timeout: float | None) -> Any:
        raise NotImplementedError

    # -- servers ------------------------------------------------------------------------

    async def _connect(self, server: str) -> None:
        """Open the server's client and learn its node classes; it is up after this."""
        client = await self._open_client(self.urls[server], _Relay(self, server))
        try:
            object_info = await client.get_object_info()
            if self._closing:
                raise ClientClosedError("the pool closed")
        except BaseException:
            await self._close_client(client)
            raise
        self._came_back(server, client, object_info)

    async def _revive(self, server: str) -> None:
        try:
            await self._connect(server)
        except ComfyError as exc:
            log.debug("%s still down (%s)", server, exc)
        finally:
            self._end_revival(server)

    async def _start(self) -> None:
        """Connect every server (those that do not answer are down, and retried);
        :class:`ConnectError` naming each when none answers."""
        errors = {}
        for server in self.servers:
            try:
                await self._connect(server)
            except ComfyError as exc:
                errors[server] = f"{type(exc).__name__}: {exc}"
        if not self.router.up:
            details = "; ".join(f"{s}: {e}" for s, e in errors.items())
            raise ConnectError(f"no server of the pool answers ({details})")
        self._spawn(self._watch)

    async def _watch(self) -> None:
        """Health checks, every ``health_interval``, until the pool closes."""
        while not self._closing:
            for server in self.servers:
                if self._closing:
                    return
                try:
                    await self._check(server)
                except Exception:  # a bug must not end the health checks
                    log.exception("health check of %s failed", server)
            await self._pause(self.health_interval)

    async def _check(self, server: str) -> None:
        if self._is_down(server):
            if self._begin_revival(server):  # in the background: retries take seconds
                self._spawn(self._revive, server)
            return
        client = self._clients.get(server)
        if client is None:
            return
        offline = self._offline_for(server, client)
        if offline is None:  # no WebSocket: the queue tells its load, and that it answers
            try:
                self._answered(server, await client.get_queue_remaining())
                offline = 0.0
            except TransportError:
                offline = self._unanswered(server)
        if offline >= self.down_after:
            await self._mark_down(server, f"no answer for {offline:.1f} s", client)

    async def _mark_down(self, server: str, reason: str, client: Any) -> None:
        """Mark ``server`` down if ``client`` is still its client (not one since replaced)."""
        if self._went_down(server, client):
            log.warning("%s is down (%s); its prompts go elsewhere", server, reason)
            await self._close_client(client)

    # -- sending ------------------------------------------------------------------------

    async def _send(self, job: PoolJob, timeout: float | None) -> PoolReceipt:
        """Send the job to the least-loaded capable server (waiting up to ``timeout``
        for one to be free); a server that does not answer is marked down and the
        next one tried."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            server = self._route(job)
            if server is None:
                await self._until(partial(self._routable, job), _left(deadline))
                continue
            client = self._clients.get(server)
            attempt = self._attempt(job, server)
            try:
                response = await self._submit(job, attempt, client)
            except (TransportError, ClientClosedError) as exc:
                self._withdraw(job, attempt)
                if self._closing:
                    raise
                # No answer, or its client was closed meanwhile (marked down): next server.
                await self._mark_down(server, f"{type(exc).__name__}: {exc}", client)
                continue
            except BaseException:
                self._withdraw(job, attempt)
                raise
            response.future.add_done_callback(partial(self._on_done, job, attempt))
            return PoolReceipt(job, response)

    async def _submit(self, job: PoolJob, attempt: Attempt, client: Any) -> Any:
        if client is None:
            raise ConnectError(f"{attempt.server} is down")
        for name, data in self._files_for(job, attempt.server).items():
            folder, _, filename = name.rpartition("/")
            await client.upload_image(filename, data, subfolder=folder or None, overwrite=True)
            self._mark_uploaded(job, attempt.server, name)
        return await client.submit_workflow(
            job.prompt, prompt_id=attempt.prompt_id, extra_data=job.extra_data, **job.options
        )

    def _on_done(self, job: PoolJob, attempt: Attempt, future: Any) -> None:
        if self._settled(job, attempt, future):
            self._spawn(self._resend, job)

    async def _resend(self, job: PoolJob) -> None:
        try:
            await self._send(job, self.timeout)
        except BaseException as exc:
            self._fail(job, exc)

    # -- the prompt API -----------------------------------------------------------------

    async def submit_workflow(
        self,
        workflow: WorkflowSource,
        *,
        files: Mapping[str, ImageInput] | None = None,
        extra_data: Mapping[str, Any] | None = None,
        timeout: float | None = None,
        **options: Any,
    ) -> PoolReceipt:
        """Queue ``workflow`` on the least-loaded server that can run it.

        ``workflow`` is anything the client's ``submit_workflow`` takes; ``options``
        go to it as they are (``on_progress``, ``validate``...). ``files`` maps input
        names (``LoadImage``'s ``image`` value, ``subfolder/name`` allowed) to images,
        uploaded to the chosen server just before the prompt is queued there (as are
        files recorded by :meth:`upload_image` that the workflow names). With a
        per-server limit and every capable server full, it waits up to ``timeout``
        (the pool's by default) for one (:class:`WaitTimeout`). No server can run it:
        :class:`~comfy_core.routing.NoCapableServer`, naming what lacks where.
        """
        _, client = self._first_up()
        prompt, extra = await client._prepare_workflow(workflow, extra_data)
        data = {name: to_upload_bytes(image, name) for name, image in (files or {}).items()}
        job = self._new_job(dict(prompt), extra, options, data, None)
        return await self._send(job, self.timeout if timeout is None else timeout)

    async def wait(self, prompt: PoolReceipt | str, timeout: float | None = None) -> PromptResult:
        """The job's result, through any failover; :class:`WaitTimeout` after ``timeout``."""
        job = self._job_of(prompt)
        result: PromptResult = await self._result(
            job.future, self.timeout if timeout is None else timeout
        )
        return result

    async def run(
        self, workflow: WorkflowSource, *, timeout: float | None = None, **options: Any
    ) -> PromptResult:
        """Submit ``workflow`` and wait for its result (see :meth:`submit_workflow`)."""
        receipt = await self.submit_workflow(workflow, timeout=timeout, **options)
        return await self.wait(receipt, timeout)

    async def events(self, prompt: PoolReceipt | str) -> AsyncIterator[ServerEvent]:
        """Every event of the job, each with its server; a :class:`PromptRequeued`
        (from the server that lost it) where it moved, and the conclusion last."""
        job = self._job_of(prompt)
        index = 0
        while True:
            attempt = job.attempts[index]
            held = None
            client = self._clients.get(attempt.server)
            if client is not None:
                async for event in client.events(attempt.prompt_id):
                    if isinstance(event, PromptFailed):
                        held = event  # the pool may yet send it again
                        break
                    yield ServerEvent(attempt.server, event)
                    if isinstance(event, PromptSucceeded):
                        return
            await self._until(partial(self._moved_or_done, job, index), None)
            if len(job.attempts) > index + 1:
                moved = job.attempts[index + 1]
                event = PromptRequeued(
                    prompt_id=attempt.prompt_id,
                    server=moved.server,
                    new_prompt_id=moved.prompt_id,
                    reason=job.reasons.get(attempt.prompt_id, "lost"),
                )
                yield ServerEvent(attempt.server, event)
                index += 1
                continue
            if held is not None:
                yield ServerEvent(attempt.server, held)
            return

    async def cancel(self, prompt: PoolReceipt | str) -> CancelOutcome | None:
        """Cancel the job where it runs now; it is not sent again. None when its
        server is down (the job then fails with :class:`ClientClosedError`)."""
        job = self._job_of(prompt)
        job.cancelled = True
        attempt = job.current
        client = self._clients.get(attempt.server) if attempt is not None else None
        if client is None or attempt is None:
            self._fail(job, ClientClosedError("cancelled while its server was down"))
            return None
        outcome: CancelOutcome = await client.cancel(attempt.prompt_id)
        return outcome

    async def load_workflow(self, source: WorkflowSource, **options: Any) -> Workflow:
        """A :class:`Workflow`, converted with the first up server's ``/object_info``."""
        _, client = self._first_up()
        workflow: Workflow = await client.load_workflow(source, **options)
        return workflow

    async def upload_image(
        self,
        name: str,
        image: ImageInput,
        subfolder: str | None = None,
        *,
        format: str | None = None,
    ) -> UploadedFile:
        """Record an input image; it is uploaded (overwriting, so its name holds on
        every server) to each server a prompt that names it is sent to."""
        data = to_upload_bytes(image, name, format)
        uploaded = UploadedFile(name, subfolder or "", "input")
        self._record_file(uploaded.load_name, data)
        return uploaded

    # -- batches ------------------------------------------------------------------------

    async def map(
        self,
        items: Iterable[WorkflowSource | Mapping[str, Any]],
        *,
        template: Template | Workflow | str | os.PathLike[str] | None = None,
        out: str | os.PathLike[str] | None = None,
        window: int | None = None,
        timeout: float | None = None,
    ) -> AsyncIterator[BatchItem]:
        """Run every item; yield a :class:`BatchItem` for each, in completion order.

        Items are workflows, or rows (``{name: value}``) rendered with ``template``
        (a :class:`Template`, a :class:`Workflow`, or the path of either): names are
        the template's parameters or ``Title.input`` addresses, string values parsed
        by the parameter's type. At most ``window`` items (twice the servers by
        default) are in flight, so each goes to the server that is free first.

        With ``out``, the batch is durable: its ledger (``out/ledger.sqlite``) records
        each item's state and the outputs are written to ``out`` atomically, named
        ``{index:05d}_{node}_{file}``. Run the same items into the same ``out`` again
        (after a crash, say) and done items are skipped, queued ones collected from
        their server (or waited for; sent again if the server lost them), failed ones
        retried. A failed item is yielded with its ``error``; the batch goes on.
        :class:`WaitTimeout` when no item finishes within ``timeout`` seconds.
        """
        batch = Batch(await self._render(items, template), out)
        try:
            todo = deque(batch.todo)
            running: dict[Any, tuple[int, LedgerItem | PoolReceipt]] = {}
            for item in batch.recovering:  # queued by an earlier run: collect, wait, or resend
                running[self._spawn(self._recover, item)] = (item.index, item)
            limit = window or 2 * len(self.servers)
            wait = self.timeout if timeout is None else timeout
            while todo or running:
                while todo and len(running) < limit:
                    index = todo.popleft()
                    job = self._new_job(
                        batch.prompt(index), None, {}, {}, partial(batch.queued, index)
                    )
                    try:
                        receipt = await self._send(job, wait)
                    except ComfyError as exc:
                        yield batch.failed(index, None, None, exc)
                        continue
                    running[receipt.future] = (index, receipt)
                if not running:
                    continue
                done = await self._first(list(running), wait)
                if not done:
                    raise WaitTimeout(f"no item of the batch finished within {wait:g} s")
                for future in done:
                    index, where = running.pop(future)
                    outcome = await self._conclude(batch, index, where, future)
                    if outcome is None:  # recovered: its server lost it
                        batch.requeue(index)
                        todo.appendleft(index)
                    else:
                        yield outcome
        finally:
            batch.close()

    async def _conclude(
        self, batch: Batch, index: int, where: LedgerItem | PoolReceipt, future: Any
    ) -> BatchItem | None:
        """The item whose future is done, with its outputs saved; None if it must be sent."""
        server, prompt_id = where.server, where.prompt_id
        error = self._error_of(future)
        if error is not None:
            return batch.failed(index, server, prompt_id, error)
        result: PromptResult | None = future.result()
        if result is None or server is None:
            return None
        try:
            files = await self._save(batch, index, server, result)
        except ComfyError as exc:
            return batch.failed(index, server, prompt_id, exc)
        return batch.done(index, server, prompt_id, result, files)

    async def _render(
        self,
        items: Iterable[WorkflowSource | Mapping[str, Any]],
        template: Template | Workflow | str | os.PathLike[str] | None,
    ) -> list[dict[str, Any]]:
        server, client = self._first_up()
        if template is None:
            prompts = []
            for item in items:
                prompt, _ = await client._prepare_workflow(item, None)
                prompts.append(dict(prompt))
            return prompts
        object_info = self.router.server(server).object_info  # read when it came up
        if isinstance(template, (str, os.PathLike)):
            path = Path(template)
            if path.name.endswith(".template.json"):
                template = Template.load(path, object_info)
            else:
                template = await client.load_workflow(path)
        assert isinstance(template, (Template, Workflow))
        return [render_row(template, row, object_info).to_api() for row in items]  # type: ignore[arg-type]

    async def _recover(self, item: LedgerItem) -> PromptResult | None:
        """A prompt a previous run queued: its result when it finished (waiting while it
        runs), its error if it failed, None if its server lost it or is gone."""
        client = self._clients.get(item.server or "")
        if client is None or item.prompt_id is None:
            return None
        while True:
            try:
                result: PromptResult = await client.fetch_results(item.prompt_id)
                return result
            except PromptNotFinishedError:
                if self._closing:
                    raise ClientClosedError("the pool closed") from None
                await self._pause(self.health_interval)
            except (PromptLostError, TransportError, ClientClosedError):
                return None

    async def _save(self, batch: Batch, index: int, server: str, result: PromptResult) -> list[str]:
        """Write the result's outputs into the batch's folder, each atomically."""
        if batch.folder is None:
            return []
        names = []
        for ref, image in result.downloaded():
            name = batch.output_name(index, ref)
            if image is not None:
                batch.write(name, image.data)
            else:
                temp = batch.temp_path(name)
                try:
                    await self.client(server).download_to(ref, temp)
                    batch.commit(temp, name)
                finally:
                    temp.unlink(missing_ok=True)
            names.append(name)
        return names
