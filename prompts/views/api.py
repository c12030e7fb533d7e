"""JSON endpoints: parse -> call a service -> JsonResponse. Errors are {"error": "..."} (DESIGN.md)."""
from __future__ import annotations

import functools
import json

from django.core.exceptions import RequestDataTooBig
from django.http import JsonResponse
from django.http.request import RawPostDataException
from django.views.decorators.cache import never_cache

from prompts.services import processing, uploads
from prompts.services.errors import DomainError, InvalidInput, TooLarge


def json_error(message: str, status: int, headers: dict[str, str] | None = None, extra: dict | None = None) -> JsonResponse:
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


def read_json(request) -> dict:
    try:
        raw = request.body
    except RequestDataTooBig:  # over DATA_UPLOAD_MAX_MEMORY_SIZE
        raise TooLarge("The request is too large.")
    except RawPostDataException:  # a form or multipart body, already parsed (for its CSRF field)
        raise InvalidInput("The request body must be JSON.")
    if len(raw) > 64 * 1024:
        raise InvalidInput("The request is too large.")
    try:
        body = json.loads(raw or b"{}")
    except (ValueError, RecursionError):  # bad JSON or UTF-8, a number too long to convert, nesting too deep
        raise InvalidInput("The request body must be JSON.")
    if not isinstance(body, dict):
        raise InvalidInput("The request body must be a JSON object.")
    return body


def field(body: dict, name: str, kind: type, *, max_length: int = 500):
    value = body.get(name)
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidInput(f"'{name}' must be a whole number.")
        return value
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"'{name}' is required.")
    if len(value) > max_length:
        raise InvalidInput(f"'{name}' is too long.")
    return value


@api_view("POST")
def presign(request):
    body = read_json(request)
    signed = uploads.presign_upload(
        user=request.user,
        filename=field(body, "filename", str, max_length=1000),
        content_type=field(body, "content_type", str, max_length=200),
        file_size=field(body, "file_size", int),
    )
    return JsonResponse({
        "upload_id": str(signed.upload.id),
        "file_key": signed.upload.file_key,
        "presigned_url": signed.url,
        "method": "PUT",
        "headers": signed.headers,
        "expires_in": signed.expires_in,
    })


@api_view("POST")
def complete(request):
    upload = uploads.complete_upload(user=request.user, upload_id=field(read_json(request), "upload_id", str))
    return JsonResponse({
        "upload_id": str(upload.id), "state": "uploaded", "size": upload.size, "content_type": upload.content_type,
        "width": upload.width, "height": upload.height, "media_type": upload.media_type,
        "found_prompt": uploads.found_prompt(upload),
    })


@api_view("POST")
def moderate(request):
    upload = uploads.moderate_upload(user=request.user, upload_id=field(read_json(request), "upload_id", str))
    return JsonResponse({
        "upload_id": str(upload.id),
        "severity": upload.moderation_severity,
        "action": upload.moderation_action,
        "violations": upload.moderation_violations,
        "checked": upload.moderation_checked,
        "message": uploads.moderation_message(upload),
    })


@api_view("POST")
def variants(request):
    upload = uploads.make_upload_variants(user=request.user, upload_id=field(read_json(request), "upload_id", str))
    return JsonResponse({
        "upload_id": str(upload.id), "state": "ready", "variants": uploads.variant_urls(upload),
        "blurhash": upload.blurhash,
    })


def csrf_failure(request, reason=""):
    """CSRF failures answer JSON on the API and a readable page elsewhere."""
    from django.views.csrf import csrf_failure as default_failure

    if request.path.startswith("/api/"):
        return json_error("Your session has expired or the request was not sent from this site. Reload the page and try again.", 403)
    return default_failure(request, reason=reason)


@api_view("GET")
def prompt_status(request, processing_uuid):
    try:
        wait = float(request.GET.get("wait", "0"))
    except ValueError:
        wait = 0.0
    if wait > 0:
        answer = processing.wait_for_status(user=request.user, processing_uuid=processing_uuid, wait_seconds=wait)
    else:
        answer = processing.status_of(user=request.user, processing_uuid=processing_uuid)
    return JsonResponse(answer)


@api_view("POST")
def prompt_retry(request, processing_uuid):
    prompt = processing.retry_ai_content(user=request.user, processing_uuid=processing_uuid)
    return JsonResponse({"processing_complete": prompt.processing_complete, "queued": True})
