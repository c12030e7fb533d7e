"""Media files: serving them (public or authorised) and receiving local direct uploads (signed PUT)."""

from django.conf import settings
from django.http import (
    Http404,
    HttpResponse,
    HttpResponseNotAllowed,
    HttpResponseRedirect,
    JsonResponse,
)
from django.views.decorators.csrf import csrf_exempt
from django.views.static import serve

from prompts import selectors
from prompts.media import direct_upload, storage
from prompts.models import Upload


def serve_media(request, path):
    """Media files, for both backends. Public keys (published prompts) are served to anyone (locally; on
    S3 the CDN serves them); any other key only to whom selectors.may_see_media allows, never cached by
    a shared cache: locally the file itself, on S3 a redirect to a short-lived signed URL."""
    if storage.is_public_key(path):
        if storage.is_s3():
            return HttpResponseRedirect(storage.public_url(path))
        return _serve_file(request, path, cache_control=storage.cache_control(path))
    if not selectors.may_see_media(user=request.user, key=path):
        raise Http404("Not found")
    if storage.is_s3():
        try:
            response = HttpResponseRedirect(storage.signed_get_url(path, expires_in=settings.PRIVATE_MEDIA_URL_SECONDS))
        except storage.StorageError:
            raise Http404("Not found") from None
    else:
        response = _serve_file(request, path, cache_control=storage.PRIVATE_CACHE_CONTROL)
    response["Cache-Control"] = storage.PRIVATE_CACHE_CONTROL
    response["Vary"] = "Cookie"
    return response


def _serve_file(request, path, *, cache_control: str):
    response = serve(request, path, document_root=settings.MEDIA_ROOT)
    response["Cache-Control"] = cache_control
    response["X-Content-Type-Options"] = "nosniff"
    return response


@csrf_exempt  # the signed URL is the credential, as with a storage presigned URL
def local_upload_put(request, key):
    """Local backend: accept the browser's PUT only with a valid, unexpired signature for this key.

    The body is streamed to disk and never buffered beyond the signed size; nothing appears at the
    key unless the whole body arrived.
    """
    if request.method != "PUT":
        return HttpResponseNotAllowed(["PUT"])
    if settings.MEDIA_BACKEND != "local":
        raise Http404("Uploads do not come here")
    try:
        limit = direct_upload.verify_local_put(
            key=key,
            content_type=request.GET.get("ct", ""),
            size=request.GET.get("size", ""),
            expires=request.GET.get("expires", ""),
            signature=request.GET.get("sig", ""),
        )
    except direct_upload.InvalidSignature as exc:
        return JsonResponse({"error": f"Upload refused: {exc}."}, status=403)
    if request.content_type != request.GET.get("ct"):
        return JsonResponse({"error": "Upload refused: the Content-Type does not match the signed type."}, status=403)
    folder, _, name = key.rpartition("/")
    if (
        not name.startswith("incoming.")
        or not Upload.objects.filter(
            file_key=f"{folder}/original.{name.split('.', 1)[1]}", state=Upload.State.PRESIGNED
        ).exists()
    ):
        # Once a `complete` call has claimed the upload (checking or done), its URL writes nothing more.
        return JsonResponse({"error": "Upload refused: this upload is already being checked or finished."}, status=409)
    declared = request.META.get("CONTENT_LENGTH")
    if declared and declared.isdigit() and int(declared) > limit:
        return JsonResponse({"error": "Upload refused: the file is larger than declared."}, status=413)

    def chunks():
        received = 0
        while True:
            chunk = request.read(256 * 1024)
            if not chunk:
                return
            received += len(chunk)
            if received > limit:
                raise BodyTooLarge
            yield chunk

    try:
        storage.write_local_stream(key, chunks())
    except BodyTooLarge:
        return JsonResponse({"error": "Upload refused: the file is larger than declared."}, status=413)
    return HttpResponse(status=200)


class BodyTooLarge(Exception):
    pass
