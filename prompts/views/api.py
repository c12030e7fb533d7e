"""JSON endpoints: parse -> call a service -> JsonResponse. Errors are {"error": "..."} with the right status."""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import time
from typing import Annotated, TypeVar

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth import get_user
from django.core.exceptions import RequestDataTooBig
from django.core.handlers.asgi import ASGIRequest
from django.core.serializers.json import DjangoJSONEncoder
from django.db import close_old_connections
from django.http import HttpResponse, JsonResponse, StreamingHttpResponse
from django.http.request import RawPostDataException
from django.utils.cache import add_never_cache_headers
from django.views.decorators.cache import never_cache
from pydantic import BaseModel, ConfigDict, StringConstraints, ValidationError

from prompts import selectors, timing
from prompts.models import Upload
from prompts.services import ai_content, uploads
from prompts.services.errors import DomainError, InvalidInput, TooLarge
from prompts.views.accounts import verified_email_required

logger = logging.getLogger(__name__)


def json_error(
    message: str, status: int, headers: dict[str, str] | None = None, extra: dict | None = None
) -> JsonResponse:
    response = JsonResponse({"error": message, **(extra or {})}, status=status)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def api_view(*methods: str):
    """Login required, allowed methods only, domain errors turned into JSON answers in one place."""

    def decorate(view):
        @functools.wraps(view)
        @never_cache
        def wrapper(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return json_error("Please log in to continue.", 401)
            if request.method not in methods:
                return json_error(f"Use {' or '.join(methods)} for this address.", 405, {"Allow": ", ".join(methods)})
            try:
                return view(request, *args, **kwargs)
            except DomainError as exc:
                return json_error(exc.message, exc.status, exc.headers, exc.extra)

        return wrapper

    return decorate


MAX_BODY_BYTES = 64 * 1024


class RequestBody(BaseModel):
    """A JSON request body: strict types (no "12" for 12, no true for 1), unknown keys ignored."""

    model_config = ConfigDict(strict=True, extra="ignore")


class PresignBody(RequestBody):
    filename: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]
    content_type: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    file_size: int


class UploadBody(RequestBody):
    upload_id: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


Body = TypeVar("Body", bound=RequestBody)


def parse_body(request, model: type[Body]) -> Body:
    """The request's JSON body as `model`, or an InvalidInput/TooLarge with a sentence a person can read."""
    try:
        raw = request.body
    except RequestDataTooBig:  # over DATA_UPLOAD_MAX_MEMORY_SIZE
        raise TooLarge("The request is too large.") from None
    except RawPostDataException:  # a form or multipart body, already parsed (for its CSRF field)
        raise InvalidInput("The request body must be JSON.") from None
    if len(raw) > MAX_BODY_BYTES:
        raise InvalidInput("The request is too large.")
    try:
        data = json.loads(raw or b"{}")
    except (ValueError, RecursionError):  # bad JSON or UTF-8, a number too long to convert, nesting too deep
        raise InvalidInput("The request body must be JSON.") from None
    if not isinstance(data, dict):
        raise InvalidInput("The request body must be a JSON object.")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput(_first_problem(exc)) from exc


def _first_problem(exc: ValidationError) -> str:
    error = exc.errors(include_url=False, include_input=False)[0]
    name = str(error["loc"][0]) if error["loc"] else "body"
    if error["type"] == "string_too_long":
        return f"'{name}' is too long."
    if error["type"] in ("int_type", "int_parsing"):
        return f"'{name}' must be a whole number."
    return f"'{name}' is required."


@api_view("POST")
@verified_email_required(json=True)
def presign(request):
    body = parse_body(request, PresignBody)
    signed = uploads.presign_upload(
        user=request.user,
        filename=body.filename,
        content_type=body.content_type,
        file_size=body.file_size,
    )
    return JsonResponse(
        {
            "upload_id": str(signed.upload.id),
            "file_key": signed.upload.file_key,
            "presigned_url": signed.url,
            "method": "PUT",
            "headers": signed.headers,
            "expires_in": signed.expires_in,
        }
    )


@api_view("POST")
@verified_email_required(json=True)
def complete(request):
    upload = uploads.complete_upload(user=request.user, upload_id=parse_body(request, UploadBody).upload_id)
    return JsonResponse(_completed(upload))


def _completed(upload) -> dict:
    return {
        "upload_id": str(upload.id),
        "state": "uploaded",
        "size": upload.size,
        "content_type": upload.content_type,
        "width": upload.width,
        "height": upload.height,
        "media_type": upload.media_type,
        "found_prompt": uploads.found_prompt(upload),
    }


def _moderated(upload) -> dict:
    return {
        "upload_id": str(upload.id),
        "severity": upload.moderation_severity,
        "action": upload.moderation_action,
        "violations": upload.moderation_violations,
        "checked": upload.moderation_checked,
        "message": uploads.moderation_message(upload),
    }


@api_view("POST")
@verified_email_required(json=True)
def moderate(request):
    upload = uploads.moderate_upload(user=request.user, upload_id=parse_body(request, UploadBody).upload_id)
    return JsonResponse(_moderated(upload))


@api_view("POST")
def finish(request):
    """complete + moderate + variants in one request (moderation and variants side by side):
    {...complete's answer, "state": "ready"/"rejected", "moderation": {...moderate's answer},
    "variants": {...} (ready only), "blurhash"}."""
    upload = uploads.finish_upload(user=request.user, upload_id=parse_body(request, UploadBody).upload_id)
    ready = upload.state in (Upload.State.READY, Upload.State.SUBMITTED)
    return JsonResponse(
        {
            **_completed(upload),
            "state": "ready" if ready else upload.state,
            "moderation": _moderated(upload),
            "variants": uploads.variant_urls(upload) if ready else None,
            "blurhash": upload.blurhash if ready else "",
        }
    )


@api_view("POST")
@verified_email_required(json=True)
def variants(request):
    upload = uploads.make_upload_variants(user=request.user, upload_id=parse_body(request, UploadBody).upload_id)
    return JsonResponse(
        {
            "upload_id": str(upload.id),
            "state": "ready",
            "variants": uploads.variant_urls(upload),
            "blurhash": upload.blurhash,
        }
    )


def csrf_failure(request, reason=""):
    """CSRF failures answer JSON on the API and a readable page elsewhere."""
    from django.views.csrf import csrf_failure as default_failure

    if request.path.startswith("/api/"):
        return json_error(
            "Your session has expired or the request was not sent from this site. Reload the page and try again.", 403
        )
    return default_failure(request, reason=reason)


class NotLoggedIn(DomainError):
    status = 401


def logged_in_user(request):
    """The request's user (a session and a user read); NotLoggedIn for a visitor."""
    user = get_user(request)
    if not user.is_authenticated:
        raise NotLoggedIn("Please log in to continue.")
    return user


def async_api_view(*methods: str):
    """`api_view` for an async view. Its database work runs on the executor (`blocking`), and it finds
    the user there itself (`logged_in_user`) in its first trip: a trip costs a thread hand-off and a
    connection check, and a long poll's session, user and status reads make one trip, not two."""

    def decorate(view):
        @functools.wraps(view)
        async def wrapper(request, *args, **kwargs):
            try:
                if request.method in methods:
                    response = await view(request, *args, **kwargs)
                else:
                    await blocking(request, logged_in_user)(request)  # 401 before 405, as api_view
                    response = json_error(
                        f"Use {' or '.join(methods)} for this address.", 405, {"Allow": ", ".join(methods)}
                    )
            except DomainError as exc:
                response = json_error(exc.message, exc.status, exc.headers, exc.extra)
            add_never_cache_headers(response)
            return response

        return wrapper

    return decorate


def blocking(request, function):
    """`function` made awaitable: under ASGI on the shared executor, whose long-lived threads check
    their connection first as every request does; under WSGI in the request's own thread (and its
    transaction, in tests)."""
    if not isinstance(request, ASGIRequest):
        return sync_to_async(function, thread_sensitive=True)

    def checked(*args, **kwargs):
        close_old_connections()
        return function(*args, **kwargs)

    return sync_to_async(checked, thread_sensitive=False)


def _wait_seconds(request) -> float:
    try:
        return float(request.GET.get("wait", "0"))
    except ValueError:
        return 0.0


@api_view("GET")
def prompt_status(request, processing_uuid):
    """The processing page's status; with ?wait=N a long poll that answers when the prompt completes.

    This is the WSGI view (runserver, the tests' client, every server without the ASGI worker): a
    waiting request holds its thread, so at most PROCESSING_LONG_POLLS_PER_PROCESS wait at once. Under
    the Procfile's ASGI worker the same address is served by `prompt_status_async`.
    """
    wait = _wait_seconds(request)
    if wait > 0:
        with timing.phase("wait"):
            answer = selectors.wait_for_status(user=request.user, processing_uuid=processing_uuid, wait_seconds=wait)
    else:
        answer = selectors.status_of(user=request.user, processing_uuid=processing_uuid)
    return JsonResponse(answer)


@async_api_view("GET")
async def prompt_status_async(request, processing_uuid):
    """`prompt_status` for the ASGI worker (prompts/long_poll_handler.py): a waiting page holds no
    thread and no database connection. The reads run on the loop's shared executor, the first of them
    finding the user too; an answer that is not final yet is a `WaitingAnswer`, which the handler sends
    once the prompt is complete or the wait is over."""
    wait = _wait_seconds(request)
    if not wait > 0:
        return JsonResponse(await blocking(request, _StatusReads(request).first)(processing_uuid))
    waiting, answer = await _start_waiting(request, processing_uuid, wait)
    return JsonResponse(answer) if waiting is None else WaitingAnswer(waiting)


class _StatusReads:
    """The status reads of one async status request: the first finds the user too (one trip to the
    executor); the later ones read for that user without the request (a waiting page does not keep it)."""

    def __init__(self, request) -> None:
        self.request, self.user = request, None

    def first(self, key) -> dict:
        self.user, self.request = logged_in_user(self.request), None
        return selectors.status_of(user=self.user, processing_uuid=key)

    def again(self, key) -> dict:
        return selectors.status_of(user=self.user, processing_uuid=key)


async def _start_waiting(request, processing_uuid, wait: float) -> tuple[selectors.StatusWait | None, dict | None]:
    """A `StatusWait` started for the request's user, and None; or None and the answer, when it is final
    at once (complete, or no room left to wait)."""
    reads = _StatusReads(request)
    waiting = selectors.StatusWait(
        processing_uuid=processing_uuid,
        wait_seconds=wait,
        read=blocking(request, reads.first),
        limit=settings.PROCESSING_ASYNC_LONG_POLLS_PER_PROCESS,
    )
    try:
        answer = await waiting.start()
    except BaseException:
        waiting.close()
        raise
    if answer is not None:
        waiting.close()
        return None, answer
    waiting.read = blocking(request, reads.again)
    return waiting, None


# --- the processing page's event stream (Server-Sent Events) --------------------------------------

# How soon a page reconnects after a stream that ended on purpose (its wait was over).
EVENTS_RECONNECT_MS = 250


def status_event(answer: dict, *, retry_ms: int | None = None) -> bytes:
    """One `status` event of a text/event-stream, with the reconnection delay the page should use."""
    retry = f"retry: {retry_ms}\n" if retry_ms is not None else ""
    return f"{retry}event: status\ndata: {json.dumps(answer, cls=DjangoJSONEncoder)}\n\n".encode()


def _retry_ms(answer: dict) -> int:
    """A page whose status request could not wait (no room) reconnects on the plain polling rhythm."""
    return EVENTS_RECONNECT_MS if answer.get("waited") else settings.PROCESSING_POLL_MS


@api_view("GET")
def prompt_events(request, processing_uuid):
    """The processing page's event stream under WSGI (runserver, the tests' client): one `status` event
    once the prompt is complete or the long poll's wait is over, then the stream ends and the browser's
    EventSource reconnects: a long poll in the stream's format, holding its thread as the long poll does.
    Under the Procfile's ASGI worker the same address is `prompt_events_async`, one stream per page."""
    wait = settings.PROCESSING_LONG_POLL_SECONDS
    answer = selectors.wait_for_status(user=request.user, processing_uuid=processing_uuid, wait_seconds=wait)
    retry = _retry_ms(answer) if wait > 0 else settings.PROCESSING_POLL_MS
    return HttpResponse(status_event(answer, retry_ms=retry), content_type="text/event-stream")


@async_api_view("GET")
async def prompt_events_async(request, processing_uuid):
    """The processing page's event stream: the status at once, then again when the prompt completes (woken
    by its PROMPT_DONE notification) or every PROCESSING_EVENTS_EVERY_SECONDS (the estimate, and bytes
    that keep Heroku's router's 55 s window open). One request per page however long it waits: no
    request, session or user read per long poll. The handler (prompts/long_poll_handler.py) sends it."""
    every = settings.PROCESSING_EVENTS_EVERY_SECONDS
    waiting, answer = await _start_waiting(request, processing_uuid, every)
    if waiting is None:
        return HttpResponse(status_event(answer, retry_ms=_retry_ms(answer)), content_type="text/event-stream")
    return StatusEvents(waiting, every=every, for_seconds=settings.PROCESSING_EVENTS_MAX_SECONDS)


def _let_go_of_the_request(response) -> None:
    """Django closes the request with its answer (its `_resource_closers`), which keeps it alive as long:
    the request's work is done before a wait, so it is closed now and nothing of it is kept."""
    for close in response._resource_closers:
        close()
    response._resource_closers.clear()


class StatusEvents(StreamingHttpResponse):
    """A processing page's stream of `status` events, from a started `StatusWait` until the prompt is
    complete or `for_seconds` have passed (the page then reconnects). Like `WaitingAnswer`, it holds the
    wait, not the request."""

    def __init__(self, waiting: selectors.StatusWait, *, every: float, for_seconds: float) -> None:
        super().__init__(self._events(waiting, every, for_seconds), content_type="text/event-stream")
        self["X-Accel-Buffering"] = "no"  # a buffering proxy (nginx) passes each event on at once
        self.waiting = waiting

    @staticmethod
    async def _events(waiting: selectors.StatusWait, every: float, for_seconds: float):
        loop = asyncio.get_running_loop()
        until = loop.time() + for_seconds
        retry = EVENTS_RECONNECT_MS
        try:
            async for answer in waiting.updates(every):
                yield status_event(answer, retry_ms=retry)
                retry = None
                if loop.time() >= until:
                    return
        except Exception as exc:  # a read when woken failed (the database went away): the page reconnects
            logger.warning("status events: %s", exc)
        finally:
            waiting.close()

    def let_go_of_the_request(self) -> None:
        _let_go_of_the_request(self)

    def close(self) -> None:
        self.waiting.close()  # also when the stream never started (the page went away first)
        super().close()


class WaitingAnswer(JsonResponse):
    """A long poll's answer that is not final yet, as the request's middleware and view leave it: the
    handler (prompts/long_poll_handler.py) awaits `settle()` and only then sends it, so a waiting page
    holds this answer and its `StatusWait`, not a suspended request pipeline."""

    def __init__(self, waiting: selectors.StatusWait) -> None:
        super().__init__(waiting.answer)
        self.waiting = waiting

    def let_go_of_the_request(self) -> None:
        _let_go_of_the_request(self)

    async def settle(self) -> None:
        """Wait for the prompt or the deadline; the body (and its length, and Server-Timing) follow."""
        started = time.perf_counter()
        try:
            answer = await self.waiting.finish()
        except Exception as exc:  # a read when woken failed (e.g. the database went away): the first answer
            logger.warning("long poll: %s", exc)
            answer = {**self.waiting.answer, "waited": True}
        finally:
            self.waiting.close()
        self.content = JsonResponse(answer).content
        if self.has_header("Content-Length"):
            self["Content-Length"] = str(len(self.content))
        if self.has_header("Server-Timing"):
            self["Server-Timing"] += f", wait;dur={(time.perf_counter() - started) * 1000:.1f}"

    def close(self) -> None:
        self.waiting.close()  # also when the wait was cut short
        super().close()


@api_view("POST")
def prompt_retry(request, processing_uuid):
    prompt = ai_content.retry_ai_content(user=request.user, processing_uuid=processing_uuid)
    return JsonResponse({"processing_complete": prompt.processing_complete, "queued": True})
