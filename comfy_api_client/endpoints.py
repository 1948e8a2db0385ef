"""The async client's route methods: one ``comfy_core.api`` flow each.

Every method here is a thin wrapper, so that ``comfy_api_client/sync/endpoints.py``
can be generated from this file by removing ``async``/``await`` (see
``scripts/generate_sync.py``; CI checks that the two agree). Keep it that way:
no asyncio calls, no I/O of its own. The original package's names are kept
(``get_embeddings``, ``upload_image``, ``cancel_prompts``...) beside clearer new
ones; docs/api.md lists each with its route.
"""

from __future__ import annotations

import contextlib
import io
import os
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, TypeVar

from comfy_api_client.base import ClientBase, Receipt
from comfy_api_client.media import ImageInput, to_upload_bytes
from comfy_core import api, jobs, routes
from comfy_core.api import CancelOutcome, FileList, JobInfo
from comfy_core.conclusions import PromptFailed, PromptSucceeded
from comfy_core.errors import ComfyError, StorageError, TransportError
from comfy_core.events import Event, NodeStarted, PreviewReceived
from comfy_core.flows import (
    Flow,
    Steps,
    check_download,
    download_flow,
    fetch_result_flow,
    read_flow,
)
from comfy_core.handles import PromptHandle
from comfy_core.http import Request, Response
from comfy_core.models import PromptResponse, QueueState, SystemStats, prompt_id_of
from comfy_core.outputs import OutputFile
from comfy_core.progress import Progress
from comfy_core.results import ImageItem, PromptResult
from comfy_core.schema import NodeSchema
from comfy_core.uploads import UploadedFile, read_upload, upload_image, upload_mask
from comfy_core.workflows import (
    MissingNodes,
    ObjectInfoCache,
    Workflow,
    WorkflowSource,
    check_workflow_flow,
    load_workflow,
    prepare_workflow,
)
from comfy_transports.base import AsyncTransport

if TYPE_CHECKING:
    from PIL.Image import Image

__all__ = ["AsyncEndpoints"]

T = TypeVar("T")
ImageUploadResponse = UploadedFile  # the original package's name


def _page_text(request: Request, response: Response) -> str:
    routes.raise_for_status(request, response)
    return str(response.text)


def _remove(path: Path) -> None:
    """Remove what a failed download left; never a directory the caller named by mistake."""
    with contextlib.suppress(OSError):  # nothing there, or a name the system refuses
        if not path.is_dir():
            path.unlink(missing_ok=True)


def _open_for_writing(path: Path) -> BinaryIO:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return path.open("wb")
    except (OSError, ValueError) as exc:  # a directory, a NUL, a name too long, no room
        raise StorageError(f"cannot write {str(path)[:200]!r}: {type(exc).__name__}") from exc


class AsyncEndpoints(ClientBase):
    """Route and prompt methods; the driver supplies ``run_flow``, ``send``, ``transport``,
    and the two waits, ``_result`` and ``_next_of``."""

    transport: AsyncTransport
    _jobs_api: bool | None = None  # asked once per client, by has_jobs_api

    async def run_flow(self, flow: Flow[T] | Steps[T]) -> T:
        raise NotImplementedError

    async def send(self, request: Request, *, idempotent: bool | None = None) -> Any:
        raise NotImplementedError

    async def _result(self, future: Any, timeout: float | None, prompt_id: str) -> PromptResult:
        """The future's result; :class:`WaitTimeout` after ``timeout`` seconds."""
        raise NotImplementedError

    async def _next_of(self, handle: PromptHandle) -> Event | None:
        """The handle's next event, waiting for it; None when none is to come."""
        raise NotImplementedError

    # -- prompts ----------------------------------------------------------------

    async def submit_workflow(
        self,
        workflow: WorkflowSource,
        return_future: bool = True,
        *,
        prompt_id: str | None = None,
        number: float | None = None,
        front: bool = False,
        extra_data: Mapping[str, Any] | None = None,
        partial_execution_targets: Sequence[str] | None = None,
        on_progress: Callable[[Progress], Any] | None = None,
        on_node: Callable[[NodeStarted], Any] | None = None,
        on_preview: Callable[[PreviewReceived], Any] | None = None,
        validate: bool = False,
    ) -> Receipt:
        """Queue ``workflow`` and return the server's receipt.

        ``workflow`` is an API-format dict, a :class:`~comfy_core.workflows.Workflow`,
        a UI-format dict, or a path/bytes/text :meth:`load_workflow` reads (a PNG
        ComfyUI saved, say); UI workflows are converted with the server's
        ``/object_info`` and sent along in ``extra_pnginfo.workflow``.

        With ``return_future`` the receipt's ``future`` (asyncio's in the async
        client, ``concurrent.futures``' in the sync one) resolves to the
        :class:`PromptResult` (images downloaded) or fails with the prompt's
        error; :meth:`wait` waits with a timeout. A workflow the server refuses
        raises :class:`WorkflowValidationError` at once.

        With ``validate`` it is checked first, offline, with the client's cached
        ``/object_info`` (:meth:`Workflow.validate <comfy_core.workflows.Workflow.validate>`):
        a workflow the server would refuse raises before anything is sent.

        ``on_progress`` gets a :class:`Progress` (per node and overall) as the
        prompt runs, ``on_node`` each node that starts, ``on_preview`` each
        preview image; :meth:`events` yields every event of the prompt.
        Callbacks run in the order of the events, outside the client's lock
        (in the sync client, on its background threads).
        """
        workflow, extra_data = await self._prepare_workflow(workflow, extra_data, validate)
        handle, flow = self._submission(
            workflow,
            return_future=return_future,
            prompt_id=prompt_id,
            number=number,
            front=front,
            extra_data=extra_data,
            partial_execution_targets=partial_execution_targets,
            on_progress=on_progress,
            on_node=on_node,
            on_preview=on_preview,
        )
        try:
            return self._receipt(await self.run_flow(flow), handle)
        except BaseException:
            self._abandon(handle)
            raise
        finally:
            self._pump()

    async def events(self, prompt: PromptResponse | str) -> AsyncIterator[Event]:
        """Every event of a tracked prompt, from its submission on, ending with its
        ``PromptSucceeded`` or ``PromptFailed``. The events of the newest settled
        prompts are kept for a late call; for a prompt submitted without a future,
        or long settled, it yields nothing.
        """
        handle = self._attach(prompt)
        if handle is None:
            return
        try:
            while (event := await self._next_of(handle)) is not None:
                yield event
                if isinstance(event, (PromptSucceeded, PromptFailed)):
                    return
        finally:
            self._detach(handle)

    async def wait(
        self, prompt: PromptResponse | str, timeout: float | None = None
    ) -> PromptResult:
        """Wait for a submitted prompt's result; :class:`WaitTimeout` after ``timeout``.

        ``timeout`` defaults to the client's. The prompt keeps running on the
        server when the wait times out or is cancelled.
        """
        limit = self.timeout if timeout is None else timeout
        return await self._result(self._future_of(prompt), limit, prompt_id_of(prompt))

    async def run(
        self, workflow: WorkflowSource, *, timeout: float | None = None, **options: Any
    ) -> PromptResult:
        """Submit ``workflow`` and wait for its result (see :meth:`submit_workflow`)."""
        prompt = await self.submit_workflow(workflow, **options)
        return await self.wait(prompt, timeout)

    async def fetch_results(self, prompt: PromptResponse | str) -> PromptResult:
        """Read a finished prompt's result from the server's history, images downloaded.

        Raises the prompt's error if it failed, :class:`PromptNotFinishedError`
        while it is queued or running, :class:`PromptLostError` if the server
        no longer knows it.
        """
        result = await self.run_flow(fetch_result_flow(prompt_id_of(prompt)))
        return await self.download_images(result)

    async def download(self, ref: OutputFile) -> bytes:
        """The bytes of one output file (any kind: images, latents, video, audio).

        Larger than ``max_download_size`` (256 MiB by default) it raises
        :class:`BodyTooLarge`: stream such files with :meth:`download_to`.
        """
        return await self.run_flow(download_flow(ref, self.max_download_size))

    async def download_images(self, result: PromptResult) -> PromptResult:
        """``result`` with ``output_images`` filled in (concurrently in the async client)."""
        return await self.run_flow(self._images(result))

    # -- introspection ----------------------------------------------------------

    async def get_index(self) -> str:
        """``GET /``: the frontend's index page (HTML)."""
        return await self.run_flow(read_flow(routes.get_index(), _page_text))

    async def get_system_stats(self) -> SystemStats:
        """``GET /system_stats``: versions, RAM and devices."""
        return await self.run_flow(read_flow(routes.get_system_stats(), routes.read_system_stats))

    async def get_features(self) -> dict[str, Any]:
        """``GET /features``: the server's feature flags (``{}`` on servers without them)."""
        return await self.run_flow(api.features())

    async def get_object_info(self) -> dict[str, NodeSchema]:
        """``GET /object_info``: every node class as a typed schema."""
        return await self.run_flow(api.object_info())

    async def get_workflow_templates(self) -> dict[str, list[str]]:
        """``GET /workflow_templates``: custom node pack → its example workflow names."""
        return await self.run_flow(api.workflow_templates())

    async def get_global_subgraphs(self) -> dict[str, Any]:
        """``GET /global_subgraphs``: subgraph blueprints shipped by custom nodes, by id."""
        return await self.run_flow(api.global_subgraphs())

    async def get_global_subgraph(self, subgraph_id: str) -> dict[str, Any] | None:
        """``GET /global_subgraphs/{id}``: one blueprint with its data (None if unknown)."""
        return await self.run_flow(api.global_subgraph(subgraph_id))

    # -- workflows --------------------------------------------------------------

    def _object_info_cache(self) -> ObjectInfoCache:
        cache = vars(self).get("_workflow_object_info")
        if cache is None:
            cache = vars(self).setdefault("_workflow_object_info", ObjectInfoCache())
        assert isinstance(cache, ObjectInfoCache)
        return cache

    async def load_workflow(
        self, source: WorkflowSource, *, missing_nodes: MissingNodes = "error"
    ) -> Workflow:
        """A :class:`Workflow` from a path, JSON text, bytes, dict or saved PNG/WebP.

        UI workflows are converted as the frontend converts them, with this
        server's ``/object_info`` (fetched once per client, fetched again when
        a node type is unknown). See docs/workflows.md.
        """
        cache = self._object_info_cache()
        return await self.run_flow(load_workflow(source, cache, missing_nodes=missing_nodes))

    async def _prepare_workflow(
        self,
        workflow: WorkflowSource,
        extra_data: Mapping[str, Any] | None,
        validate: bool = False,
    ) -> tuple[Mapping[str, Any], Mapping[str, Any] | None]:
        cache = self._object_info_cache()
        prompt, extra = await self.run_flow(prepare_workflow(workflow, cache, extra_data))
        if validate:
            await self.run_flow(check_workflow_flow(prompt, cache))
        return prompt, extra

    async def get_node_info(self, node_class: str) -> NodeSchema | None:
        """``GET /object_info/{class}``: one node class, or None if the server has none."""
        return await self.run_flow(api.node_info(node_class))

    async def get_embeddings(self) -> FileList:
        """``GET /embeddings``: embedding names."""
        return await self.run_flow(api.embeddings())

    async def get_extensions(self) -> FileList:
        """``GET /extensions``: the frontend extension scripts."""
        return await self.run_flow(api.extensions())

    async def get_models(self, folder: str | None = None) -> FileList:
        """``GET /models`` (folder names) or ``GET /models/{folder}`` (files in it)."""
        return await self.run_flow(api.models(folder))

    # -- queue and history ------------------------------------------------------

    async def get_queue(self) -> QueueState:
        """``GET /queue``: the running prompt and the pending ones in run order."""
        return await self.run_flow(read_flow(routes.get_queue(), routes.read_queue))

    async def get_queue_remaining(self) -> int:
        """``GET /prompt``: how many prompts are pending or running."""
        return await self.run_flow(api.queue_remaining())

    async def delete_from_queue(self, prompt_ids: Iterable[str]) -> None:
        """``POST /queue {"delete": ids}``: drop pending prompts."""
        await self.run_flow(api.delete_from_queue(prompt_ids))

    async def clear_queue(self) -> None:
        """``POST /queue {"clear": true}``: drop every pending prompt (everyone's)."""
        await self.run_flow(api.clear_queue())

    async def cancel(self, prompt: PromptResponse | str) -> CancelOutcome:
        """Delete the prompt if pending, interrupt it if running, else say it already finished."""
        return await self.run_flow(api.cancel(prompt_id_of(prompt)))

    async def cancel_prompts(self, prompt_ids: Iterable[str]) -> list[CancelOutcome]:
        """:meth:`cancel` each prompt (the original sent a key the server ignores)."""
        return [await self.cancel(prompt_id) for prompt_id in prompt_ids]

    async def interrupt(self, prompt: PromptResponse | str | None = None) -> None:
        """``POST /interrupt``: stop this prompt if it runs; with None, whatever runs."""
        await self.run_flow(api.interrupt(None if prompt is None else prompt_id_of(prompt)))

    async def interrupt_processing(self) -> None:
        """``POST /interrupt``: stop whatever is running now (anyone's prompt)."""
        await self.run_flow(api.interrupt())

    async def free_memory(self, unload_models: bool = False, free_memory: bool = False) -> None:
        """``POST /free``: unload models and/or free memory when the server is idle."""
        await self.run_flow(api.free(unload_models, free_memory))

    async def get_history(
        self, prompt_id: str | None = None, max_items: int | None = None, offset: int | None = None
    ) -> dict[str, Any]:
        """``GET /history[/{id}]``: one prompt's raw entry (``{}`` if none), or a page."""
        return await self.run_flow(api.history(prompt_id, max_items, offset))

    async def get_completed_prompts(self) -> dict[str, Any]:
        """The history entries whose status says completed, by prompt id."""
        entries = await self.get_history()
        return {
            prompt_id: entry
            for prompt_id, entry in entries.items()
            if isinstance(entry, dict) and (entry.get("status") or {}).get("completed")
        }

    async def remove_from_history(self, prompt_ids: Iterable[str]) -> None:
        """``POST /history {"delete": ids}``."""
        await self.run_flow(api.delete_from_history(prompt_ids))

    async def clear_history(self) -> None:
        """``POST /history {"clear": true}`` (everyone's history)."""
        await self.run_flow(api.clear_history())

    async def has_jobs_api(self) -> bool:
        """Whether the server has the jobs API (ComfyUI 0.6+); asked once per client."""
        if self._jobs_api is None:
            self._jobs_api = await self.run_flow(jobs.has_jobs_api())
        return self._jobs_api

    async def get_job(self, prompt: PromptResponse | str) -> JobInfo:
        """A prompt's status: ``GET /api/jobs/{id}`` where the server has it, else
        ``/queue`` and ``/history/{id}``."""
        use = self._jobs_api is not False
        return await self.run_flow(jobs.get_job(prompt_id_of(prompt), use_jobs_api=use))

    async def list_jobs(
        self,
        *,
        status: str | Iterable[str] | None = None,
        workflow_id: str | None = None,
        sort_by: str = "created_at",
        sort_order: str = "desc",
        limit: int | None = None,
        offset: int = 0,
    ) -> list[JobInfo]:
        """Jobs by ``status`` (``pending``, ``in_progress``, ``completed``, ``failed``)
        and ``workflow_id``, sorted by ``created_at`` or ``execution_duration`` and
        paged: ``GET /api/jobs``, or the same built from ``/queue`` and ``/history``
        on servers without the jobs API."""
        flow = jobs.list_jobs(
            status=status,
            workflow_id=workflow_id,
            sort_by=sort_by,
            sort_order=sort_order,
            limit=limit,
            offset=offset,
            use_jobs_api=await self.has_jobs_api(),
        )
        return await self.run_flow(flow)

    # -- files --------------------------------------------------------------------

    async def upload_image(
        self,
        name: str,
        image: ImageInput,
        subfolder: str | None = None,
        overwrite: bool = True,
        type: str = "input",
        *,
        format: str | None = None,
    ) -> UploadedFile:
        """``POST /upload/image``: bytes, a path, a file object or a PIL image, sent as is
        (``format`` re-encodes). Use the returned name: the server may rename on a clash."""
        data = to_upload_bytes(image, name, format)
        request = upload_image(name, data, subfolder=subfolder, overwrite=overwrite, type=type)
        return await self.run_flow(read_flow(request, read_upload))

    async def upload_mask(
        self,
        name: str,
        image: ImageInput,
        original_reference: UploadedFile,
        subfolder: str | None = None,
        overwrite: bool = True,
        type: str = "input",
        *,
        format: str | None = None,
    ) -> UploadedFile:
        """``POST /upload/mask``: put ``image``'s alpha channel into ``original_reference``."""
        data = to_upload_bytes(image, name, format)
        request = upload_mask(
            name, data, original_reference, subfolder=subfolder, overwrite=overwrite, type=type
        )
        return await self.run_flow(read_flow(request, read_upload))

    async def retrieve_image(
        self, filename: str, subfolder: str | None = None, type: str | None = None
    ) -> ImageItem | None:
        """``GET /view`` of an image, decoded lazily; None when the server has no such file."""
        response = await self.run_flow(api.view(filename, subfolder or "", type, missing_ok=True))
        if response is None:
            return None
        ref = OutputFile(node_id="", kind="images", filename=filename, subfolder=subfolder or "",
                         type=type or "output")  # fmt: skip
        return ImageItem.from_download(ref, response.body)

    async def download_image(self, ref: OutputFile) -> Image:
        """An output file decoded as a PIL image."""
        from PIL import Image as PILImage

        decoded = PILImage.open(io.BytesIO(await self.download(ref)))
        decoded.load()
        return decoded

    async def download_to(self, ref: OutputFile, path: str | os.PathLike[str]) -> Path:
        """``GET /view`` of an output file streamed into ``path`` (for large files); the path.

        Goes through the plugins' header and observer hooks (not retried: the file
        is half written by then). On any failure no file is left behind.
        """
        self._check_open()
        request = self.hooks.request_headers(routes.view_file(ref), 0)
        target = Path(path)
        sent = time.monotonic()
        try:
            with _open_for_writing(target) as sink:
                response = await self.transport.stream_async_request(request, sink.write)
        except BaseException as exc:
            _remove(target)
            if isinstance(exc, TransportError):
                self.hooks.request_failed(request, exc, time.monotonic() - sent)
            raise
        self.hooks.response_received(request, response, time.monotonic() - sent)
        if response.status >= 300:  # a 3xx body is no file either: redirects are not followed
            _remove(target)
        try:
            check_download(request, response)
        except ComfyError as exc:  # its message quotes the server
            self._scrub(exc)
            raise
        return target

    async def view_metadata(self, folder_name: str, filename: str) -> dict[str, Any] | None:
        """``GET /view_metadata/{folder}``: a safetensors file's metadata, or None."""
        return await self.run_flow(api.view_metadata(folder_name, filename))

    async def retrieve_metadata(self, folder_name: str, filename: str) -> dict[str, Any] | None:
        """The original package's name for :meth:`view_metadata`."""
        return await self.view_metadata(folder_name, filename)

    # -- users, settings, user data -----------------------------------------------

    async def get_users(self) -> dict[str, Any]:
        """``GET /users``."""
        return await self.run_flow(api.users())

    async def create_user(self, username: str) -> str:
        """``POST /users``: the new user's id (multi-user servers)."""
        return await self.run_flow(api.create_user(username))

    async def get_settings(self) -> dict[str, Any]:
        """``GET /settings``."""
        return await self.run_flow(api.settings())

    async def get_setting(self, setting_id: str) -> Any:
        """``GET /settings/{id}`` (None when unset)."""
        return await self.run_flow(api.get_setting(setting_id))

    async def set_setting(self, setting_id: str, value: Any) -> None:
        """``POST /settings/{id}``."""
        await self.run_flow(api.set_setting(setting_id, value))

    async def set_settings(self, values: Mapping[str, Any]) -> None:
        """``POST /settings``: merge ``values`` into the settings."""
        await self.run_flow(api.set_settings(values))

    async def list_userdata(
        self, directory: str, *, recurse: bool = False, full_info: bool = False, split: bool = False
    ) -> list[Any]:
        """``GET /userdata?dir=``: the files in a user-data folder."""
        return await self.run_flow(
            api.list_userdata(directory, recurse=recurse, full_info=full_info, split=split)
        )

    async def get_userdata(self, file: str) -> bytes:
        """``GET /userdata/{file}``: a user-data file's bytes."""
        return await self.run_flow(api.get_userdata(file))

    async def put_userdata(self, file: str, data: bytes | str, *, overwrite: bool = True) -> str:
        """``POST /userdata/{file}``: store a user-data file; its path."""
        return await self.run_flow(api.put_userdata(file, data, overwrite=overwrite))

    async def delete_userdata(self, file: str) -> None:
        """``DELETE /userdata/{file}``."""
        await self.run_flow(api.delete_userdata(file))

    async def move_userdata(self, file: str, destination: str, *, overwrite: bool = False) -> str:
        """``POST /userdata/{file}/move/{dest}``: the new path."""
        return await self.run_flow(api.move_userdata(file, destination, overwrite=overwrite))
