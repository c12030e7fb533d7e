"""Where a prompt's files live: the SEO rename, and deleting files nothing points at any more.

The rename copies every file to `renamed/<keywords>-<generator>-prompt-<time>-<uuid8>/` and points
the prompt at the copies in one save; the old keys are remembered (`stale_media_keys`) and deleted
a grace period later, so a page rendered just before the rename never shows a broken image.
Uploads never submitted are swept after a day.
"""
from __future__ import annotations

import logging
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from prompts.media import storage
from prompts.models import Prompt, Upload
from prompts.services.uploads import incoming_key

logger = logging.getLogger(__name__)

ORPHAN_UPLOAD_HOURS = 24
STALE_GRACE = timedelta(minutes=10)


def _extension(key: str) -> str:
    return key.rsplit(".", 1)[-1] if "." in key.rsplit("/", 1)[-1] else "bin"


def renamed_keys(prompt: Prompt) -> dict[str, str]:
    # The time in the name is to the second, and titles repeat: a piece of the prompt's own UUID
    # keeps two prompts from ever sharing a folder.
    folder = f"renamed/{prompt.seo_filename_base}-{prompt.processing_uuid.hex[:8]}"
    return {name: f"{folder}/{name}.{_extension(key)}" for name, key in prompt.media_keys.items() if key}


_URL_FIELDS = {"thumb": "b2_thumb_url", "medium": "b2_medium_url", "large": "b2_large_url", "webp": "b2_webp_url"}


def _url_fields(prompt: Prompt, keys: dict[str, str]) -> dict[str, str]:
    fields = {field: storage.public_url(keys[name]) for name, field in _URL_FIELDS.items() if name in keys}
    if "original" in keys:
        fields["b2_video_url" if prompt.media_type == "video" else "b2_image_url"] = storage.public_url(keys["original"])
    return fields


def rename_files_for_seo(*, prompt_id: int) -> str:
    """Copy every file to its SEO name and point the prompt at the copies in one save.

    Safe to run again after a crash at any point: copies are repeatable, the prompt only ever
    points at files that exist, and the old keys are remembered (`stale_media_keys`) until
    purge_stale_media deletes them after a grace period.
    """
    prompt = Prompt.objects.filter(id=prompt_id).first()
    if prompt is None or prompt.is_deleted:
        return "skipped"
    if not prompt.processing_complete or not prompt.seo_filename_base:
        return "not-ready"
    targets = renamed_keys(prompt)
    if targets != prompt.media_keys:
        for name, source in prompt.media_keys.items():
            if source and source != targets[name]:
                storage.copy(source, targets[name])
        with transaction.atomic():
            current = Prompt.objects.select_for_update().get(id=prompt_id)
            if current.is_deleted:
                moved = [key for name, key in targets.items() if key != current.media_keys.get(name)]
                transaction.on_commit(lambda: _delete_quietly(moved))
                return "skipped"
            old = [key for name, key in current.media_keys.items() if key and key != targets.get(name)]
            current.stale_media_keys = sorted(set(current.stale_media_keys) | set(old))
            current.media_keys = targets
            for field, url in _url_fields(current, targets).items():
                setattr(current, field, url)
            current.save()
        prompt = current
    # The old files are deleted by purge_stale_media once no page rendered before the rename can
    # still be loading them.
    return "renamed"


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
        purged += 1
    return {"purged": purged, "kept_for_retry": failed}


def _delete_quietly(keys: list[str]) -> None:
    for key in keys:
        try:
            storage.delete(key)
        except storage.StorageError as exc:
            logger.warning("could not delete %s: %s", key, exc)


def sweep_orphaned_uploads(*, now=None) -> dict:
    """Uploads never submitted within 24 hours: their objects, then their rows."""
    now = now or timezone.now()
    stale = Upload.objects.filter(created_at__lt=now - timedelta(hours=ORPHAN_UPLOAD_HOURS)).exclude(
        state=Upload.State.SUBMITTED
    ).filter(prompt__isnull=True)
    removed = failed = 0
    for upload in stale.iterator():
        try:
            for key in [incoming_key(upload), upload.file_key, *upload.variant_keys.values()]:
                storage.delete(key)
        except storage.StorageError as exc:
            logger.warning("orphan sweep: keeping upload %s for the next run: %s", upload.id, exc)
            failed += 1
            continue
        upload.delete()
        removed += 1
    return {"removed": removed, "kept_for_retry": failed}
