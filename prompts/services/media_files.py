"""Where a prompt's files live: public under SEO names once published, private otherwise; and
deleting files nothing points at any more.

Placing copies every file to its target (`public/<keywords>-<generator>-prompt-<time>-<uuid8>/`
when published, `prompts/<processing uuid>/` when it stops being public) and points the prompt at
the copies in one save. Replaced private files are remembered (`stale_media_keys`) and deleted a
grace period later, so a page rendered just before never shows a broken image; replaced public
files are deleted at once. Uploads never submitted are swept after a day.

Every file an upload's steps write (the incoming PUT, the checked original, a video's poster and
frames, the variants) lives under the upload's own folder, `uploads/<upload id>/`, known from the
row made at presign, before anything is written. The sweeps delete by that folder, not by the keys
a row happens to record: files written by a step whose database save then failed (an outage, a
crash) are found too, whatever set of files the variant planner makes.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_q.tasks import async_task

from prompts.media import storage
from prompts.models import Prompt, Upload
from prompts.services.uploads import incoming_key

logger = logging.getLogger(__name__)

ORPHAN_UPLOAD_HOURS = 24
STALE_GRACE = timedelta(minutes=10)


def upload_prefix(upload_id) -> str:
    """The folder holding every file of one upload (incoming, original, poster, frames, variants)."""
    return f"uploads/{upload_id}/"


def _extension(key: str) -> str:
    return key.rsplit(".", 1)[-1] if "." in key.rsplit("/", 1)[-1] else "bin"


def renamed_keys(prompt: Prompt) -> dict[str, str]:
    """Where a published prompt's files live: public, under SEO names."""
    # The time in the name is to the second, and titles repeat: a piece of the prompt's own UUID
    # keeps two prompts from ever sharing a folder.
    folder = f"{storage.PUBLIC_PREFIX}{prompt.seo_filename_base}-{prompt.processing_uuid.hex[:8]}"
    return {name: f"{folder}/{name}.{_extension(key)}" for name, key in prompt.media_keys.items() if key}


def private_keys(prompt: Prompt) -> dict[str, str]:
    """Where an unpublished prompt's files go back to when they were public: a private folder only its
    author and staff can read (see selectors.may_see_media)."""
    folder = f"prompts/{prompt.processing_uuid.hex}"
    return {name: f"{folder}/{name}.{_extension(key)}" for name, key in prompt.media_keys.items() if key}


def placed_keys(prompt: Prompt) -> dict[str, str]:
    """Where the prompt's files belong now: public (SEO names) when published, private otherwise."""
    if prompt.is_published and prompt.seo_filename_base:
        return renamed_keys(prompt)
    if any(storage.is_public_key(key) for key in prompt.media_keys.values() if key):
        return private_keys(prompt)
    return dict(prompt.media_keys)  # private already (the upload's own keys)


def place_media_soon(prompt: Prompt) -> None:
    """Queue the move of the prompt's files to where its (new) visibility says, after the commit."""
    prompt_id = prompt.id
    transaction.on_commit(
        lambda: async_task("prompts.tasks.rename_files_for_seo", prompt_id, task_name=f"seo_rename_{prompt_id}")
    )


_URL_FIELDS = {"thumb": "b2_thumb_url", "medium": "b2_medium_url", "large": "b2_large_url", "webp": "b2_webp_url"}


def _url_fields(prompt: Prompt, keys: dict[str, str]) -> dict[str, str]:
    fields = {field: storage.public_url(keys[name]) for name, field in _URL_FIELDS.items() if name in keys}
    if "original" in keys:
        fields["b2_video_url" if prompt.media_type == "video" else "b2_image_url"] = storage.public_url(
            keys["original"]
        )
    return fields


def rename_files_for_seo(*, prompt_id: int) -> str:
    """Put the prompt's files where its visibility says: copied to public SEO names once published,
    back to a private folder when it is unpublished (draft, held, rejected, trashed).

    Safe to run again after a crash at any point: copies are repeatable and the prompt only ever points
    at files that exist. Private files replaced by public copies are remembered (`stale_media_keys`)
    until purge_stale_media deletes them after a grace period; public files replaced by private copies
    are deleted at once, so unpublished media stops being public as soon as this has run.
    """
    for _attempt in range(3):
        prompt = Prompt.objects.filter(id=prompt_id).first()
        if prompt is None or prompt.files_deleted_at is not None:
            return "skipped"
        targets = placed_keys(prompt)
        if targets == prompt.media_keys:
            return "in-place"
        for name, source in prompt.media_keys.items():
            if source and source != targets[name]:
                storage.copy(source, targets[name])
        with transaction.atomic():
            current = Prompt.objects.select_for_update().get(id=prompt_id)
            if placed_keys(current) != targets or current.media_keys != prompt.media_keys:
                # Published or unpublished meanwhile: drop these copies and place it again.
                made = [key for name, key in targets.items() if key != current.media_keys.get(name)]
                transaction.on_commit(lambda made=made: _delete_quietly(made))
                continue
            old = [key for name, key in current.media_keys.items() if key and key != targets.get(name)]
            public_old = [key for key in old if storage.is_public_key(key)]
            current.stale_media_keys = sorted(set(current.stale_media_keys) | set(old))
            current.media_keys = targets
            for field, url in _url_fields(current, targets).items():
                setattr(current, field, url)
            current.save()
        if public_old:
            _unpublish_files(prompt_id, public_old)
        # The other old (private) files are deleted by purge_stale_media once no page rendered before
        # the move can still be loading them.
        return "renamed" if current.is_published else "made-private"
    return "busy"


def _unpublish_files(prompt_id: int, keys: list[str]) -> None:
    """Delete public copies at once; any that fail stay in stale_media_keys for purge_stale_media."""
    deleted = []
    for key in keys:
        try:
            storage.delete(key)
            deleted.append(key)
        except storage.StorageError as exc:
            logger.warning("public file %s of prompt %s kept for the next purge: %s", key, prompt_id, exc)
    with transaction.atomic():
        prompt = Prompt.objects.select_for_update().get(id=prompt_id)
        prompt.stale_media_keys = [key for key in prompt.stale_media_keys if key not in deleted]
        prompt.save(update_fields=["stale_media_keys"])


def purge_stale_media(*, now=None) -> dict:
    """Delete the files a rename replaced, STALE_GRACE after the prompt last changed."""
    now = now or timezone.now()
    purged = failed = 0
    for prompt in Prompt.objects.exclude(stale_media_keys=[]).filter(updated_on__lt=now - STALE_GRACE):
        try:
            for key in prompt.stale_media_keys:
                storage.delete(key)
        except storage.StorageError as exc:
            logger.warning("stale media of prompt %s kept for the next run: %s", prompt.id, exc)
            failed += 1
            continue
        Prompt.objects.filter(id=prompt.id, stale_media_keys=prompt.stale_media_keys).update(stale_media_keys=[])
        _sweep_left_behind(prompt)
        purged += 1
    return {"purged": purged, "kept_for_retry": failed}


def _sweep_left_behind(prompt: Prompt) -> None:
    """Once none of the prompt's files lives in its upload's folder any more, whatever is still there
    (e.g. a file a failed step wrote and never recorded) belongs to nothing: delete it."""
    if not prompt.upload_id:
        return
    prefix = upload_prefix(prompt.upload_id)
    if any(key.startswith(prefix) for key in prompt.media_keys.values() if key):
        return
    try:
        storage.delete_prefix(prefix)
    except storage.StorageError as exc:
        logger.warning("files left in %s kept for the next run: %s", prefix, exc)


def _delete_quietly(keys: list[str]) -> None:
    for key in keys:
        try:
            storage.delete(key)
        except storage.StorageError as exc:
            logger.warning("could not delete %s: %s", key, exc)


def sweep_orphaned_uploads(*, now=None) -> dict:
    """Uploads never submitted within 24 hours: every object in their folder, then their rows."""
    now = now or timezone.now()
    stale = (
        Upload.objects.filter(created_at__lt=now - timedelta(hours=ORPHAN_UPLOAD_HOURS))
        .exclude(state=Upload.State.SUBMITTED)
        .filter(prompt__isnull=True)
    )
    removed = failed = 0
    for upload in stale.iterator():
        try:
            for key in [incoming_key(upload), upload.file_key, *upload.variant_keys.values()]:
                storage.delete(key)
            storage.delete_prefix(upload_prefix(upload.id))  # and what no row recorded
        except storage.StorageError as exc:
            logger.warning("orphan sweep: keeping upload %s for the next run: %s", upload.id, exc)
            failed += 1
            continue
        upload.delete()
        removed += 1
    return {"removed": removed, "kept_for_retry": failed, "incoming_deleted": _sweep_late_incoming(now)}


def _sweep_late_incoming(now) -> int:
    """A presigned S3 URL still accepts PUTs after `complete` (until it expires); such bytes are never
    read, and this deletes them once the URL has expired (each upload is seen by two hourly runs)."""
    expired = now - timedelta(seconds=settings.PRESIGN_EXPIRES_SECONDS + 300)
    late = Upload.objects.filter(created_at__lt=expired, created_at__gte=expired - timedelta(hours=2)).exclude(
        state__in=[Upload.State.PRESIGNED, Upload.State.CHECKING]
    )
    deleted = 0
    for upload in late.iterator():
        try:
            storage.delete(incoming_key(upload))
            deleted += 1
        except storage.StorageError as exc:
            logger.warning("orphan sweep: incoming file of upload %s kept: %s", upload.id, exc)
    return deleted
