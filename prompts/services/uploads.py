"""Direct uploads: presign -> (browser PUT) -> complete -> moderate -> variants.

`Upload.state` moves presigned -> uploaded -> moderated -> ready (or rejected), and to submitted
when a prompt takes it. Every step is owned by one user, checks the state it starts from, and is
safe to call twice (the browser may retry).
"""

from __future__ import annotations

import contextvars
import hashlib
import logging
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import connections, transaction
from django.db.models import Q
from django.utils import timezone
from django_q.tasks import async_task

from prompts import ai, timing
from prompts.media import direct_upload, generation, images, metadata, sanitize, storage, video
from prompts.models import ModerationAction, Prompt, Severity, Upload
from prompts.services import ratelimit
from prompts.services.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    ServiceUnavailable,
    TooLarge,
    UnsupportedType,
)
from prompts.services.plans import is_premium

logger = logging.getLogger(__name__)

IMAGE_TYPES = {"jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png", "gif": "image/gif", "webp": "image/webp"}
VIDEO_TYPES = {"mp4": "video/mp4", "m4v": "video/mp4", "webm": "video/webm", "mov": "video/quicktime"}
# What browsers also send for the same files.
TYPE_ALIASES = {"image/jpg": "image/jpeg", "image/pjpeg": "image/jpeg", "video/x-m4v": "video/mp4"}
UNSUPPORTED_TYPE = "File type not supported. Please upload JPG, PNG, GIF, WebP, MP4, WebM, or MOV."


def accepted_types() -> dict:
    """What the upload page may offer, for its script: {extension: [media type, content type]}, and the refusal."""
    return {
        "types": {ext: ["image", kind] for ext, kind in IMAGE_TYPES.items()}
        | {ext: ["video", kind] for ext, kind in VIDEO_TYPES.items()},
        "unsupported": UNSUPPORTED_TYPE,
    }


HOURLY_LIMIT_MESSAGE = (
    "You've reached the maximum of {limit} uploads per hour. Please wait a bit before uploading more."
)
WEEKLY_LIMIT_MESSAGE = (
    "You've reached the maximum of {limit} uploads this week. Upgrade to Premium for unlimited uploads, "
    "or try again in {wait}."
)
MISSING_FILE = "We didn't receive your file. Please try uploading it again."
# Counted against the weekly limit; presigned uploads count too while their URL can still be used.
COUNTED_STATES = [
    Upload.State.CHECKING,
    Upload.State.UPLOADED,
    Upload.State.MODERATED,
    Upload.State.READY,
    Upload.State.SUBMITTED,
    Upload.State.REJECTED,
]
STILL_CHECKING = "This upload is still being checked. Please wait a moment."
CHANGED_AFTER_CHECK = "This file changed after it was checked. Please upload it again."
MODERATION_FAILED_NOTE = (
    "We couldn't finish checking this image right away. We'll keep checking in the background, and until "
    "then it stays private; if the check can't be finished, a moderator will look at it before it is published."
)
UNCHECKED_NOTE = (
    "No automatic content check is set up on this site, so a moderator will look at your image before it is published."
)
UNCHECKED_ALLOWED_NOTE = (
    "Nothing was checked: no automatic content check is set up on this site, and it lets unchecked images through."
)
# The notes and messages above and below are written for images; `for_media` words them for a video.
SEVERITY_ACTIONS = {
    Severity.NONE: ModerationAction.ALLOW,
    Severity.LOW: ModerationAction.ALLOW,
    Severity.MEDIUM: ModerationAction.ALLOW,
    Severity.HIGH: ModerationAction.REVIEW,
    Severity.CRITICAL: ModerationAction.REJECT,
}
MODERATION_MESSAGES = {
    ModerationAction.ALLOW: "Your image passed our content guidelines.",
    ModerationAction.REVIEW: ("Your image may contain content that needs admin review before it can be published."),
    ModerationAction.REJECT: "This image contains content that violates our community guidelines.",
}


STORAGE_DOWN = "Our storage service isn't answering right now. Please try again."


@contextmanager
def storage_errors(message: str = STORAGE_DOWN):
    """Storage failures as a person reads them: a missing object means the file never arrived (400),
    anything else is an outage (503) to retry. Every storage call of the upload flow goes through it."""
    try:
        yield
    except storage.ObjectMissing as exc:
        raise InvalidInput(MISSING_FILE) from exc
    except storage.StorageError as exc:
        raise ServiceUnavailable(message) from exc


@dataclass(frozen=True)
class PresignedUpload:
    upload: Upload
    url: str
    headers: dict[str, str]
    expires_in: int


def megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f}"


def _weekly_uploads(user, *, exclude: Upload | None = None):
    """This week's uploads that count: finished or being finished, and presigned ones in flight."""
    now = timezone.now()
    in_flight = Q(
        state=Upload.State.PRESIGNED, created_at__gte=now - timedelta(seconds=settings.PRESIGN_EXPIRES_SECONDS)
    )
    uploads = Upload.objects.filter(owner=user, created_at__gte=now - timedelta(days=7)).filter(
        Q(state__in=COUNTED_STATES) | in_flight
    )
    return uploads.exclude(id=exclude.id) if exclude is not None else uploads


def weekly_upload_count(user) -> int:
    return _weekly_uploads(user).count()


def _check_rate_limits(user) -> None:
    """Both limits count real rows (uploads), not cache events, and answer like every other limit:
    a `ratelimit.Decision`, raised as `RateLimited` (429 + Retry-After)."""
    now = timezone.now()
    hour = 3600
    recent = Upload.objects.filter(owner=user, created_at__gte=now - timedelta(seconds=hour))
    limit = settings.UPLOAD_HOURLY_PRESIGN_LIMIT
    ratelimit.from_timestamps(
        recent.values_list("created_at", flat=True), limit=limit, window=hour, now=now
    ).raise_if_denied(HOURLY_LIMIT_MESSAGE.format(limit=limit))
    check_weekly_limit(user)


def check_weekly_limit(user, *, exclude: Upload | None = None) -> None:
    """Refuse one more upload this week (besides `exclude`, the one being finished) past the limit.

    Checked at presign, again at complete and at submit: uploads presigned in parallel are counted
    while in flight, and a limit lowered meanwhile still applies. Callers lock the user's row first.
    """
    if is_premium(user):
        return
    limit = settings.UPLOAD_WEEKLY_LIMIT
    ratelimit.from_timestamps(
        _weekly_uploads(user, exclude=exclude).values_list("created_at", flat=True),
        limit=limit,
        window=7 * 86400,
        now=timezone.now(),
    ).raise_if_denied(WEEKLY_LIMIT_MESSAGE.format(limit=limit, wait="{wait}"))


def lock_user(user) -> None:
    """Serialise one user's uploads (presign, claim, submit), so two requests cannot both pass a limit."""
    get_user_model().objects.select_for_update().filter(pk=user.pk).first()


def validate_file(*, filename: str, content_type: str, file_size: int) -> tuple[str, str, str]:
    """(extension, canonical content type, media type) for an acceptable file, or a DomainError."""
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    content_type = TYPE_ALIASES.get(content_type.lower().strip(), content_type.lower().strip())
    if extension in IMAGE_TYPES:
        media_type, expected, limit, noun = "image", IMAGE_TYPES[extension], settings.UPLOAD_MAX_IMAGE_BYTES, "Image"
    elif extension in VIDEO_TYPES:
        media_type, expected, limit, noun = "video", VIDEO_TYPES[extension], settings.UPLOAD_MAX_VIDEO_BYTES, "Video"
    else:
        raise UnsupportedType(UNSUPPORTED_TYPE)
    if content_type != expected:
        raise UnsupportedType(
            f"The file's type ({content_type or 'unknown'}) doesn't match its .{extension} extension. "
            "Please upload the original JPG, PNG, GIF, WebP, MP4, WebM, or MOV file."
        )
    if file_size <= 0:
        raise InvalidInput("This file is empty. Please choose another one.")
    if file_size > limit:
        raise TooLarge(f"{noun} must be under {limit // (1024 * 1024)}MB. Your file is {megabytes(file_size)} MB.")
    return {"jpeg": "jpg", "m4v": "mp4"}.get(extension, extension), expected, media_type


def _clean_filename(filename: str) -> str:
    """The user's file name, kept only as data: no path, no control characters, bounded."""
    name = filename.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable())
    return name[:200]


def presign_upload(*, user, filename: str, content_type: str, file_size: int) -> PresignedUpload:
    extension, content_type, media_type = validate_file(
        filename=filename, content_type=content_type, file_size=file_size
    )
    upload_id = uuid.uuid4()
    with transaction.atomic():
        lock_user(user)
        _check_rate_limits(user)
        upload = Upload.objects.create(
            id=upload_id,
            owner=user,
            file_key=f"uploads/{upload_id}/original.{extension}",
            original_filename=_clean_filename(filename),
            content_type=content_type,
            declared_size=file_size,
            media_type=media_type,
        )
    try:
        signed = direct_upload.presign_put(
            key=incoming_key(upload),
            content_type=content_type,
            size=file_size,
            expires_in=settings.PRESIGN_EXPIRES_SECONDS,
        )
    except storage.StorageError as exc:
        logger.error("presign failed for upload %s: %s", upload.id, exc)
        upload.delete()
        raise ServiceUnavailable(
            "Our storage service isn't answering right now. Please try again in a minute."
        ) from exc
    return PresignedUpload(upload=upload, url=signed.url, headers=signed.headers, expires_in=signed.expires_in)


def get_owned_upload(*, user, upload_id) -> Upload:
    try:
        return Upload.objects.get(id=uuid.UUID(str(upload_id)), owner=user)
    except (Upload.DoesNotExist, ValueError, TypeError, AttributeError):
        raise NotFound("This upload was not found. Please upload your file again.") from None


def incoming_key(upload: Upload) -> str:
    """Where the browser's PUT lands. Nothing reads it after complete: the verified bytes move to
    `file_key`, which no upload URL can write, so reusing a URL within its hour changes nothing."""
    folder, name = upload.file_key.rsplit("/", 1)
    return f"{folder}/incoming.{name.rsplit('.', 1)[-1]}"


def _size_limit(upload: Upload) -> int:
    return settings.UPLOAD_MAX_VIDEO_BYTES if upload.media_type == "video" else settings.UPLOAD_MAX_IMAGE_BYTES


def _discard_object(upload: Upload) -> None:
    for key in (incoming_key(upload), upload.file_key, *upload.variant_keys.values()):
        try:
            storage.delete(key)
        except storage.StorageError as exc:  # the orphan sweep deletes it later
            logger.warning("could not delete rejected object %s: %s", key, exc)


def complete_upload(*, user, upload_id) -> Upload:
    """Check the object really is in storage, within its limit, and really the declared kind.

    Exactly one call checks an upload: it claims it (presigned -> checking) with a conditional update;
    another call answers 409 while it runs and the first call's answer once it is done. The bytes are
    read from the incoming key once, after the claim, and everything after works from those bytes:
    whatever is PUT to the incoming key later is never read (our own upload URL refuses it anyway).
    """
    return _complete(user=user, upload_id=upload_id)[0]


def _complete(*, user, upload_id, inspected=None) -> tuple[Upload, bytes | None]:
    """complete_upload, and the checked bytes it stored (None when it was checked before).

    `inspected(upload, data, info)`, if given, is called once an image's bytes are known to be one (see
    finish_upload's early variants)."""
    upload, claim = _claim(user=user, upload_id=upload_id)
    if claim is None:
        return upload, None  # already verified: a retried request gets the same answer
    try:
        checked = _check_and_store(upload, claim=claim, inspected=inspected)
    except BaseException:
        _release(upload, claim=claim)  # e.g. a PUT cut short: the same URL may be used again
        raise
    return upload, checked


def _claim(*, user, upload_id) -> tuple[Upload, object]:
    """(upload, claim token), or (upload, None) when it was checked already."""
    with transaction.atomic():
        lock_user(user)
        upload = get_owned_upload(user=user, upload_id=upload_id)
        now = timezone.now()
        lease = timedelta(seconds=settings.UPLOAD_CLAIM_LEASE_SECONDS)
        if upload.state == Upload.State.CHECKING and upload.claimed_at and upload.claimed_at > now - lease:
            raise Conflict(STILL_CHECKING, headers={"Retry-After": "2"})
        if upload.state == Upload.State.REJECTED:
            raise Conflict("This upload was rejected. Please upload a different file.")
        if upload.state not in (Upload.State.PRESIGNED, Upload.State.CHECKING):
            return upload, None
        check_weekly_limit(user, exclude=upload)
        # A claim older than the lease belongs to a request that died; it is taken over.
        taken = Upload.objects.filter(id=upload.id, state=upload.state, claimed_at=upload.claimed_at).update(
            state=Upload.State.CHECKING, claimed_at=now, updated_at=now
        )
        if not taken:
            raise Conflict(STILL_CHECKING, headers={"Retry-After": "2"})
    upload.state, upload.claimed_at = Upload.State.CHECKING, now
    return upload, now


def _release(upload: Upload, *, claim) -> None:
    Upload.objects.filter(id=upload.id, state=Upload.State.CHECKING, claimed_at=claim).update(
        state=Upload.State.PRESIGNED, claimed_at=None, updated_at=timezone.now()
    )


def _check_and_store(upload: Upload, *, claim, inspected=None) -> bytes:
    limit = _size_limit(upload)
    with storage_errors():
        size, _stored_type = storage.head(incoming_key(upload))
    noun = "Video" if upload.media_type == "video" else "Image"
    if size > limit:
        _discard_object(upload)
        raise TooLarge(f"{noun} must be under {limit // (1024 * 1024)}MB. Your file is {megabytes(size)} MB.")
    if size == 0:
        _discard_object(upload)
        raise InvalidInput(MISSING_FILE)
    if size != upload.declared_size:
        # B2 refuses a body of another length than the signed one; a storage that doesn't, or a PUT cut
        # off half-way, must not pass either. The same URL can be used again until it expires.
        _discard_object(upload)
        error = TooLarge if size > upload.declared_size else InvalidInput
        raise error(
            f"We received {size:,} bytes, but the file you chose has {upload.declared_size:,} bytes. "
            "Please upload it again."
        )
    incoming = incoming_key(upload)  # before a MOV is renamed .mp4
    with storage_errors(), timing.phase("read"):
        data = storage.read_bytes(incoming, limit=limit)
    if len(data) != upload.declared_size:  # replaced between the HEAD and the read
        raise InvalidInput(MISSING_FILE)
    try:
        if upload.media_type == "image":
            with timing.phase("inspect"):
                info = images.inspect_image(data)
            if info.content_type != upload.content_type:
                raise images.ImageProcessingError(
                    "This file's contents don't match its type. Please upload the original image file."
                )
            width, height = info.width, info.height
        else:
            clip = video.examine(data)
            width, height = clip.info.width, clip.info.height
    except (images.ImageProcessingError, video.VideoError) as exc:
        _discard_object(upload)
        raise UnsupportedType(str(exc)) from exc
    if inspected is not None and upload.media_type == "image":
        inspected(upload, data, info)
    upload.sha256 = hashlib.sha256(data).hexdigest()
    _refuse_own_duplicate(upload)
    if upload.media_type == "image":
        with timing.phase("sanitize"):
            data = _sanitized_image(upload, data, info)
    else:
        data = _prepare_video(upload, data, clip)
    with timing.phase("store"):
        _store_verified(upload, data, incoming=incoming)
    upload.checked_sha256 = hashlib.sha256(data).hexdigest()
    upload.duplicate_of = _same_image_from_someone_else(upload)
    upload.size = len(data)
    upload.width, upload.height = width, height
    upload.state = Upload.State.UPLOADED
    upload.updated_at = timezone.now()
    fields = [
        "size",
        "width",
        "height",
        "sha256",
        "checked_sha256",
        "dhash",
        "generation_metadata",
        "duplicate_of",
        "state",
        "file_key",
        "content_type",
        "variant_keys",
        "updated_at",
    ]
    finished = Upload.objects.filter(id=upload.id, state=Upload.State.CHECKING, claimed_at=claim).update(
        **{name: getattr(upload, name) for name in fields}
    )
    if not finished:
        # Our claim outlived its lease and another call took the upload over: its answer stands. (If
        # our write above landed after its own, the hash check before moderation refuses the bytes.)
        raise Conflict(STILL_CHECKING, headers={"Retry-After": "2"})
    return data


def _sanitized_image(upload: Upload, data: bytes, info) -> bytes:
    """The image without metadata, stealth bits or provenance manifests; what they said is kept on the row."""
    upload.generation_metadata = metadata.read_generation_metadata(data)
    upload.dhash = images.perceptual_hash(data)
    try:
        data = sanitize.strip_metadata(data, info.format, orientation=images.orientation_of(data))
    except sanitize.DamagedImage as exc:  # e.g. a GIF cut off inside a frame: verify() reads no frame data
        _discard_object(upload)
        raise UnsupportedType(str(exc)) from exc
    # Stealth pixel bits and C2PA manifests outlive metadata stripping; what they said is read above.
    return generation.remove_provenance(generation.clear_stealth_bits(data, info.format), info.format)


def _prepare_video(upload: Upload, data: bytes, clip: video.Examined) -> bytes:
    """The original without metadata (stored as MP4 when it came as MOV: same packets, a container
    every browser plays), and the pictures the next steps need, so no later step decodes the video:
    the poster (variants, AI content) and the contact sheet of frames (moderation)."""
    try:
        stripped = video.strip_metadata(data)
    except video.VideoError as exc:
        _discard_object(upload)
        raise UnsupportedType(str(exc)) from exc
    folder = upload.file_key.rsplit("/", 1)[0]
    upload.file_key = f"{folder}/original.{clip.info.extension}"
    upload.content_type = clip.info.content_type
    pictures = {"poster": video.encode_jpeg(clip.poster, quality=92), "frames": video.contact_sheet(clip.frames)}
    keys = {name: f"{folder}/{name}.jpg" for name in pictures}
    with storage_errors():
        for name, blob in pictures.items():
            storage.save_bytes(keys[name], blob, content_type="image/jpeg")
    upload.variant_keys = keys
    return stripped


def _refuse_own_duplicate(upload: Upload) -> None:
    """The same person sharing the same file again is told at once, before anything is processed."""
    existing = (
        Prompt.objects.filter(author_id=upload.owner_id, sha256=upload.sha256, is_deleted=False)
        .exclude(upload=upload)
        .order_by("created_on")
        .first()
    )
    if existing is None:
        return
    _discard_object(upload)
    upload.state = Upload.State.REJECTED
    upload.moderation_note = "duplicate of your own prompt"
    upload.save(update_fields=["sha256", "state", "moderation_note", "updated_at"])
    raise Conflict(
        for_media(upload, "You already shared this image."), extra={"existing_url": existing.get_absolute_url()}
    )


def _same_image_from_someone_else(upload: Upload):
    """Someone else's *published* prompt with the same file: the upload is then held for a moderator.

    Only published prompts count: holding an upload because of another person's draft would tell the
    uploader that a private prompt with those bytes exists.
    """
    return (
        Prompt.objects.filter(sha256=upload.sha256, status=Prompt.Status.PUBLISHED, is_deleted=False)
        .exclude(author_id=upload.owner_id)
        .order_by("created_on")
        .first()
    )


def _store_verified(upload: Upload, data: bytes, *, incoming: str) -> None:
    """The checked bytes (without EXIF/GPS, XMP, text chunks or video metadata) at the upload's own key."""
    with storage_errors():
        storage.save_bytes(upload.file_key, data, content_type=upload.content_type)
    try:
        storage.delete(incoming)
    except storage.StorageError as exc:  # harmless: nothing reads it; the sweeps delete it later
        logger.warning("could not delete %s: %s", incoming, exc)


# --- Moderation -------------------------------------------------------------------------


class ChangedAfterCheck(Conflict):
    """The stored bytes are not the ones `complete` checked (and moderation looked at)."""

    def __init__(self):
        super().__init__(CHANGED_AFTER_CHECK)


def analysis_cache_key(sha256: str) -> str:
    """The analysis image is cached by the SHA-256 of the checked bytes, never by a storage key: the
    same key holding other bytes cannot reuse an earlier answer."""
    return f"ai_image_cache:{sha256}"


def content_image_cache_key(sha256: str) -> str:
    """The image the AI content task sends (see `content_image`), by the SHA-256 of the checked bytes."""
    return f"ai_content_image:{sha256}"


def content_image(sha256: str) -> tuple[bytes, str] | None:
    """What the AI writes the title, description and tags from: the 600 px JPEG variant our server made
    from the checked bytes when the upload became ready (upright, sRGB, ~50 KB instead of an original of
    up to 3 MB; the model looks at 512 px anyway), or None when it is no longer cached (the caller then
    sends the checked original). Moderation never uses it: it looks at the checked original itself."""
    if not sha256:
        return None
    try:
        return cache.get(content_image_cache_key(sha256))
    except Exception as exc:  # the cache away costs the original's read, not the AI call
        logger.warning("could not read the content image from the cache: %s", exc)
        return None


def read_checked_bytes(key: str, *, sha256: str, limit: int | None = None) -> bytes:
    """The bytes at `key`, only if their SHA-256 is `sha256` (what was checked); ChangedAfterCheck otherwise."""
    data = storage.read_bytes(key, limit=limit)
    if not sha256 or hashlib.sha256(data).hexdigest() != sha256:
        logger.warning("refusing %s: its bytes are not the checked ones", key)
        raise ChangedAfterCheck()
    return data


def checked_analysis_image(*, key: str, sha256: str, content_type: str) -> tuple[bytes, str]:
    """The image an AI looks at, from checked bytes only, cached by their SHA-256."""
    cache_key = analysis_cache_key(sha256)
    cached = cache.get(cache_key) if sha256 else None
    if cached is not None:
        return cached
    data = read_checked_bytes(key, sha256=sha256, limit=settings.UPLOAD_MAX_IMAGE_BYTES)
    cache.set(cache_key, (data, content_type), timeout=settings.IMAGE_CACHE_SECONDS)
    return data, content_type


def analysis_image(upload: Upload) -> tuple[bytes, str]:
    """The bytes an AI looks at: the checked image itself, or a video's poster (made at complete)."""
    if upload.media_type == "video":
        return storage.read_bytes(upload.variant_keys["poster"]), "image/jpeg"
    return checked_analysis_image(key=upload.file_key, sha256=upload.checked_sha256, content_type=upload.content_type)


def moderate_upload(*, user, upload_id, checked_image: bytes | None = None) -> Upload:
    """The content check. `checked_image`: the image's checked bytes when the caller has them in
    memory (finish_upload, right after complete stored them): no read back from storage."""
    upload = get_owned_upload(user=user, upload_id=upload_id)
    if upload.state in (Upload.State.MODERATED, Upload.State.READY, Upload.State.REJECTED, Upload.State.SUBMITTED):
        return upload
    if upload.state != Upload.State.UPLOADED:
        raise Conflict("This upload isn't finished yet. Please wait for the upload to complete.")
    with storage_errors():
        # ChangedAfterCheck (409) when an image's bytes were swapped; a video's frames were made at complete.
        if upload.media_type == "image" and checked_image is not None:
            data, content_type = checked_image, upload.content_type
        else:
            data, content_type = moderation_input(upload)
    try:
        with timing.phase("ai"):
            result = _moderate_within_the_request(upload, data, content_type)
        severity, violations, checked, note = result.severity, list(result.violations), result.checked, ""
    except ai.AIError as exc:
        # Fail closed but kind: an unchecked image is held, never published, and the worker finishes
        # the check with its own, longer budget (late_moderation); a moderator if that fails too.
        logger.warning("moderation failed for upload %s (%s): %s", upload.id, exc.reason, exc)
        severity, violations, checked, note = Severity.HIGH, [], False, for_media(upload, MODERATION_FAILED_NOTE)
        finish_moderation_later = True
    else:
        finish_moderation_later = False
    action = SEVERITY_ACTIONS[Severity(severity)]
    if not checked and action == ModerationAction.ALLOW and not settings.AI_ALLOW_UNCHECKED:
        # No classifier looked at it (the local provider): in production a person must.
        action, note = ModerationAction.REVIEW, for_media(upload, UNCHECKED_NOTE)
    elif not checked and action == ModerationAction.ALLOW:
        note = for_media(upload, UNCHECKED_ALLOWED_NOTE)  # never "passed our guidelines" when nobody looked
    upload.moderation_severity = severity
    upload.moderation_action = action
    upload.moderation_violations = violations[:20]
    upload.moderation_checked = checked
    upload.moderation_note = note
    upload.state = Upload.State.REJECTED if action == ModerationAction.REJECT else Upload.State.MODERATED
    upload.save(
        update_fields=[
            "moderation_severity",
            "moderation_action",
            "moderation_violations",
            "moderation_checked",
            "moderation_note",
            "state",
            "updated_at",
        ]
    )
    if action == ModerationAction.REJECT:
        _discard_object(upload)
        cache.delete(analysis_cache_key(upload.checked_sha256))
    if finish_moderation_later:
        upload_id = str(upload.id)
        transaction.on_commit(
            lambda: async_task("prompts.tasks.finish_moderation", upload_id, task_name=f"moderation_{upload_id}")
        )
    return upload


# Web threads one process lends to AI calls at once; the others stay free for everyone else.
_AI_SLOTS = threading.BoundedSemaphore(max(1, settings.AI_REQUEST_CONCURRENCY))
AI_SLOT_WAIT_SECONDS = 0.5


def _moderate_within_the_request(upload: Upload, data: bytes, content_type: str) -> ai.ModerationResult:
    """The AI's check, within the request's budget: one attempt of AI_REQUEST_TIMEOUT_SECONDS at most, in
    one of AI_REQUEST_CONCURRENCY slots. No free slot within half a second counts as a timeout."""
    if not _AI_SLOTS.acquire(timeout=AI_SLOT_WAIT_SECONDS):
        raise ai.AITimeout("every AI slot of this web process is busy")
    try:
        timeout = min(float(settings.AI_TIMEOUT_SECONDS), float(settings.AI_REQUEST_TIMEOUT_SECONDS))
        return moderate_with_ai(upload, data, content_type, timeout=timeout)
    finally:
        _AI_SLOTS.release()


def moderate_with_ai(upload: Upload, data: bytes, content_type: str, *, timeout: float | None = None):
    if upload.media_type == "video":
        return ai.moderate_video_frames(sheet_bytes=data, content_type=content_type, timeout=timeout)
    return ai.moderate_image(image_bytes=data, content_type=content_type, timeout=timeout)


def moderation_input(upload: Upload) -> tuple[bytes, str]:
    """What the AI's check looks at: an image's checked bytes, a video's contact sheet."""
    return _video_frames(upload) if upload.media_type == "video" else analysis_image(upload)


def discard_files(upload: Upload) -> None:
    """Delete an upload's objects (a rejected file); what fails is left to the orphan sweep."""
    _discard_object(upload)


def _video_frames(upload: Upload) -> tuple[bytes, str]:
    """The contact sheet made at complete: the poster and frames spread over the whole video."""
    return storage.read_bytes(upload.variant_keys["frames"]), "image/jpeg"


def moderation_message(upload: Upload) -> str:
    return upload.moderation_note or for_media(upload, MODERATION_MESSAGES[ModerationAction(upload.moderation_action)])


def for_media(upload: Upload, text: str) -> str:
    """A message written for images, worded for what this upload is."""
    if upload.media_type != "video":
        return text
    return text.replace("image", "video")


# --- Variants ---------------------------------------------------------------------------


def make_upload_variants(*, user, upload_id) -> Upload:
    """The JPEG and WebP (and AVIF) variants next to the original; for a video, from its poster frame."""
    upload = get_owned_upload(user=user, upload_id=upload_id)
    if upload.state in (Upload.State.READY, Upload.State.SUBMITTED):
        return upload
    if upload.state == Upload.State.REJECTED:
        raise Conflict("This upload was rejected and cannot be used.")
    if upload.state != Upload.State.MODERATED:
        raise Conflict("This upload hasn't been checked yet. Please wait for the content check.")
    made = _variant_files(upload)
    upload = _record_variants(upload, made)
    _remember_content_image(upload, made)
    return upload


@dataclass(frozen=True)
class VariantFiles:
    keys: dict[str, str]
    blurhash: str
    content_image: bytes | None = None  # an image's medium JPEG, for the AI content task (`content_image`)


def _variant_files(upload: Upload, checked_image: bytes | None = None) -> VariantFiles:
    """Make and store the variants of a checked upload; the row is not touched (see _record_variants).

    Needs no moderation verdict: the files stay under the upload's private folder until it is ready.
    `checked_image`: the image's checked bytes, when the caller has them in memory.
    """
    # A video's variants come from the poster made at complete: the video is not decoded again.
    source = upload.variant_keys.get("poster") if upload.media_type == "video" else upload.file_key
    with storage_errors():
        if upload.media_type == "video":
            data = storage.read_bytes(source, limit=_size_limit(upload))
        elif checked_image is not None:
            data = checked_image
        else:
            data = read_checked_bytes(source, sha256=upload.checked_sha256, limit=_size_limit(upload))
    try:
        with timing.phase("resize"):
            variants = images.make_variants(data, avif=settings.IMAGE_AVIF_VARIANTS and images.avif_supported())
    except images.ImageProcessingError as exc:
        raise UnsupportedType(str(exc)) from exc
    folder = upload.file_key.rsplit("/", 1)[0]
    keys = {}
    with storage_errors("We couldn't save the resized images. Please try again."), timing.phase("store"):
        for name, blob in variants.files.items():
            keys[name] = f"{folder}/{name}.{variants.extension(name)}"
            storage.save_bytes(keys[name], blob, content_type=variants.content_type(name))
    medium = variants.files.get("medium") if upload.media_type == "image" else None
    return VariantFiles(keys=keys, blurhash=variants.blurhash, content_image=medium)


def _record_variants(upload: Upload, made: VariantFiles) -> Upload:
    """The upload becomes ready with `made`, if its verdict allows it; a refused upload's files are deleted."""
    with transaction.atomic():
        current = Upload.objects.select_for_update().filter(id=upload.id).first()
        keep = current is not None and current.state in (Upload.State.MODERATED, Upload.State.READY)
        if keep and current.state == Upload.State.MODERATED:
            # A video keeps its poster and contact sheet next to the variants: they follow the prompt's files
            # (renamed, deleted with it), and a moderator can look at the frames the AI saw.
            current.variant_keys = {**current.variant_keys, **made.keys}
            current.blurhash = made.blurhash
            current.state = Upload.State.READY
            current.save(update_fields=["variant_keys", "blurhash", "state", "updated_at"])
    if keep:
        return current
    # Refused (or gone) while the variants were made: they must not outlive the verdict.
    _delete_quietly(made.keys.values())
    if current is not None and current.state == Upload.State.REJECTED:
        raise Conflict("This upload was rejected and cannot be used.")
    return current or upload


def _delete_quietly(keys) -> None:
    for key in keys:
        try:
            storage.delete(key)
        except storage.StorageError as exc:  # the orphan sweep deletes it later
            logger.warning("could not delete %s: %s", key, exc)


# Variants made while the moderation request waits for the AI: a few threads per web process (Pillow
# releases the GIL while it decodes, resizes and encodes).
_VARIANT_THREADS = ThreadPoolExecutor(
    max_workers=max(1, settings.UPLOAD_VARIANT_THREADS), thread_name_prefix="variants"
)


# Formats whose stored (sanitized) file draws exactly the pixels of the uploaded one: the JPEG stripper
# copies the entropy-coded data, its tables, the ICC profile and the Adobe transform as they are, and
# writes back the orientation `_decode_reduced` reads (prompts/media/sanitize.py). Their variants can be
# made from the uploaded bytes while complete still cleans and stores them. Not PNG: clearing stealth
# bits changes pixels (tests/test_critical_path.py compares the variants made both ways).
EARLY_VARIANT_FORMATS = {"JPEG"}


class _EarlyVariants:
    """The variants of a JPEG, started as soon as complete has inspected it (`start` is complete's
    `inspected` hook) instead of after it cleaned, hashed, stored and recorded it."""

    def __init__(self) -> None:
        self.future = None

    def start(self, upload: Upload, data: bytes, info: images.ImageInfo) -> None:
        if info.format in EARLY_VARIANT_FORMATS:
            context = contextvars.copy_context()  # Server-Timing and the log ids follow the work
            self.future = _VARIANT_THREADS.submit(context.run, _variant_files, upload, data)

    def discard(self) -> None:
        """complete failed after the start: wait for the files, and delete them (never on the row)."""
        if self.future is None:
            return
        try:
            files = self.future.result()
        except Exception:  # noqa: BLE001 - complete's own error is the answer; what was saved is swept later
            return
        _delete_quietly(files.keys.values())


def finish_upload(*, user, upload_id) -> Upload:
    """complete, then moderation and the variants at the same time: one request from "uploaded" to "ready".

    The variants need the checked bytes, not the verdict; the verdict decides whether they are kept. They
    are made under the upload's private folder and recorded only once the upload is moderated: a refused
    upload's variants are deleted and never listed on the row, so nothing unmoderated is ever served.
    A JPEG's variants start even earlier, once complete has inspected it (EARLY_VARIANT_FORMATS); if
    complete then fails, they are deleted.
    Calling complete -> moderate -> variants one by one still works (and gives the same rows).
    """
    if settings.CRITICAL_PATH_SEQUENTIAL:
        upload, _checked = _complete(user=user, upload_id=upload_id)
        return _moderate_then_variants(user=user, upload=upload)
    early = _EarlyVariants()
    try:
        upload, checked = _complete(user=user, upload_id=upload_id, inspected=early.start)
    except BaseException:
        early.discard()
        raise
    if upload.state != Upload.State.UPLOADED:  # checked before (a retry): nothing was started
        return _moderate_then_variants(user=user, upload=upload)
    image = checked if upload.media_type == "image" else None  # the bytes complete just stored and hashed
    made = early.future
    if made is None:
        context = contextvars.copy_context()  # Server-Timing and the log ids follow the work into the thread
        made = _VARIANT_THREADS.submit(context.run, _variant_files, upload, image)
    try:
        upload = moderate_upload(user=user, upload_id=upload.id, checked_image=image)
    finally:
        with timing.phase("variants-wait"):
            files = made.result()  # always awaited: a refused upload's files are deleted below
    if upload.state == Upload.State.REJECTED:
        _delete_quietly(files.keys.values())
        return upload
    upload = _record_variants(upload, files)
    _remember_content_image(upload, files)
    return upload


def _moderate_then_variants(*, user, upload: Upload) -> Upload:
    upload = moderate_upload(user=user, upload_id=upload.id)
    if upload.state == Upload.State.MODERATED:
        upload = make_upload_variants(user=user, upload_id=upload.id)
    return upload


def _remember_content_image(upload: Upload, made: VariantFiles) -> None:
    """A ready image's medium JPEG, cached for the AI content task (`content_image`, by the checked hash);
    written after the answer's work is done, while the person types, rather than on the way to "ready"."""
    if made.content_image is None or upload.state != Upload.State.READY:
        return
    if transaction.get_connection().in_atomic_block:  # inside a caller's transaction: commit with it
        _cache_content_image(upload.checked_sha256, made.content_image)
    else:
        _VARIANT_THREADS.submit(_cache_content_image, upload.checked_sha256, made.content_image, True)


def _cache_content_image(sha256: str, data: bytes, own_thread: bool = False) -> None:
    try:
        cache.set(content_image_cache_key(sha256), (data, "image/jpeg"), timeout=settings.IMAGE_CACHE_SECONDS)
    except Exception as exc:  # a cache miss later only costs a read from storage
        logger.warning("could not cache the content image: %s", exc)
    finally:
        if own_thread:
            connections.close_all()  # this thread's own connection (a database cache), not kept idle


def variant_urls(upload: Upload) -> dict[str, str]:
    return {name: storage.public_url(key) for name, key in upload.variant_keys.items()}


def found_prompt(upload: Upload) -> dict | None:
    """What the page offers: 'We found the prompt in your image — use it?'"""
    found = upload.generation_metadata or {}
    if not found.get("prompt") and not found.get("generator"):
        return None
    # Without a prompt (a C2PA-signed ChatGPT/Gemini image) the page only preselects the generator.
    return {
        "prompt": found.get("prompt", ""),
        "negative_prompt": found.get("negative_prompt", ""),
        "generator": found.get("generator", ""),
        "source": found.get("source", ""),
    }
