"""What happens to a prompt after processing: SEO rename, trash and restore, cleanups, recovery, AI retries."""
from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django_q.tasks import async_task

from prompts.media import storage
from prompts.models import Profile, Prompt, Upload
from prompts.services.errors import Conflict, NotFound

logger = logging.getLogger(__name__)

FREE_RETENTION_DAYS = 5
PREMIUM_RETENTION_DAYS = 30
ORPHAN_UPLOAD_HOURS = 24
STUCK_REQUEUE_AFTER = timedelta(minutes=10)
STALE_GRACE = timedelta(minutes=10)
STUCK_FALLBACK_AFTER = timedelta(minutes=30)
# Automatic AI retries after a failure: wait 1, 5, then 30 minutes; at most three tries.
AI_RETRY_DELAYS = [timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30)]
RETRYABLE_REASONS = {Prompt.ReviewReason.AI_TIMEOUT, Prompt.ReviewReason.AI_ERROR, Prompt.ReviewReason.DOWNLOAD_FAILED}


def after_processing(*, prompt_id: int, outcome: str, reason: str) -> None:
    """Called by the AI task once the prompt is complete: queue the rename, plan an AI retry."""
    async_task("prompts.tasks.rename_files_for_seo", prompt_id, task_name=f"seo_rename_{prompt_id}")
    if outcome == "fallback" and reason in RETRYABLE_REASONS:
        schedule_ai_retry(prompt_id=prompt_id)


def schedule_ai_retry(*, prompt_id: int) -> None:
    prompt = Prompt.objects.filter(id=prompt_id).only("id", "ai_attempts").first()
    if prompt is None:
        return
    automatic_tries_made = max(0, prompt.ai_attempts - 1)
    if automatic_tries_made >= len(AI_RETRY_DELAYS):
        Prompt.objects.filter(id=prompt_id).update(ai_next_retry_at=None)
        return  # given up: the prompt stays in the SEO review queue for a person
    Prompt.objects.filter(id=prompt_id).update(ai_next_retry_at=timezone.now() + AI_RETRY_DELAYS[automatic_tries_made])


def retry_failed_ai(*, now=None) -> dict:
    from prompts.services.processing import requeue_ai

    now = now or timezone.now()
    due = Prompt.objects.filter(
        ai_next_retry_at__lte=now, is_deleted=False, needs_seo_review=True, seo_review_reason__in=RETRYABLE_REASONS,
    )
    queued = 0
    for prompt in due:
        Prompt.objects.filter(id=prompt.id).update(ai_next_retry_at=None)
        try:
            requeue_ai(prompt=prompt)
            queued += 1
        except (Conflict, NotFound):
            continue
    return {"queued": queued}


# --- SEO rename -------------------------------------------------------------------------

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
        lambda: async_task("prompts.tasks.rename_files_for_seo", prompt_id, task_name=f"seo_rename_{prompt_id}"))


_URL_FIELDS = {"thumb": "b2_thumb_url", "medium": "b2_medium_url", "large": "b2_large_url", "webp": "b2_webp_url"}


def _url_fields(prompt: Prompt, keys: dict[str, str]) -> dict[str, str]:
    fields = {field: storage.public_url(keys[name]) for name, field in _URL_FIELDS.items() if name in keys}
    if "original" in keys:
        fields["b2_video_url" if prompt.media_type == "video" else "b2_image_url"] = storage.public_url(keys["original"])
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
        purged += 1
    return {"purged": purged, "kept_for_retry": failed}


def _delete_quietly(keys: list[str]) -> None:
    for key in keys:
        try:
            storage.delete(key)
        except storage.StorageError as exc:
            logger.warning("could not delete %s: %s", key, exc)


# --- Trash ------------------------------------------------------------------------------

def retention_days(user) -> int:
    premium = Profile.objects.filter(user=user, is_premium=True).exists()
    return PREMIUM_RETENTION_DAYS if premium else FREE_RETENTION_DAYS


def trash_prompt(*, prompt: Prompt, cancelled_during_processing: bool = False) -> Prompt:
    if prompt.is_deleted:
        return prompt
    with transaction.atomic():
        Prompt.objects.filter(id=prompt.id).update(is_deleted=True, deleted_at=timezone.now(), updated_on=timezone.now())
        place_media_soon(prompt)  # a trashed prompt's public files go private
        if cancelled_during_processing and settings.MEDIA_DELETE_ON_CANCEL:
            prompt_id = prompt.id
            transaction.on_commit(lambda: async_task("prompts.tasks.delete_prompt_files", prompt_id))
    prompt.refresh_from_db()
    return prompt


def restore_prompt(*, user, prompt_id: int) -> Prompt:
    prompt = Prompt.objects.filter(id=prompt_id, author=user, is_deleted=True).first()
    if prompt is None:
        raise NotFound("This prompt is not in your trash.")
    if prompt.moderation_status == Prompt.ModerationStatus.REJECTED or prompt.appealed_at is not None and \
            prompt.moderation_status == Prompt.ModerationStatus.PENDING:
        raise Conflict("A moderator removed this prompt, so it can't be restored. You can appeal the decision.")
    if prompt.files_deleted_at is not None:
        raise Conflict("This upload's files were already removed, so it can't be restored.")
    if prompt.deleted_at < timezone.now() - timedelta(days=retention_days(user)):
        raise Conflict("This prompt has been in the trash too long to restore.")
    with transaction.atomic():
        Prompt.objects.filter(id=prompt.id).update(is_deleted=False, deleted_at=None, updated_on=timezone.now())
        prompt.refresh_from_db()
        place_media_soon(prompt)
        if not prompt.processing_complete:
            from prompts.services.processing import queue_ai_content

            queue_ai_content(prompt)
    return prompt


def delete_prompt_files(*, prompt_id: int) -> int:
    """Delete every stored file of a trashed prompt (the row stays for the audit trail)."""
    prompt = Prompt.objects.filter(id=prompt_id, is_deleted=True).first()
    if prompt is None:
        return 0
    keys = [key for key in prompt.media_keys.values() if key] + list(prompt.stale_media_keys)
    for key in keys:
        storage.delete(key)
    Prompt.objects.filter(id=prompt_id).update(files_deleted_at=timezone.now(), stale_media_keys=[])
    return len(keys)


def cleanup_deleted_prompts(*, now=None) -> dict:
    """Files first, then the row, of prompts past their retention; a storage error keeps the row."""
    now = now or timezone.now()
    premium_ids = Profile.objects.filter(is_premium=True).values("user_id")
    expired = Prompt.objects.filter(is_deleted=True).exclude(
        moderation_status=Prompt.ModerationStatus.PENDING, appealed_at__isnull=False,  # an appeal is waiting
    ).filter(
        Q(deleted_at__lt=now - timedelta(days=FREE_RETENTION_DAYS)) & ~Q(author_id__in=premium_ids)
        | Q(deleted_at__lt=now - timedelta(days=PREMIUM_RETENTION_DAYS), author_id__in=premium_ids)
    )
    deleted = failed = 0
    for prompt in expired.iterator():
        try:
            for key in [k for k in prompt.media_keys.values() if k] + list(prompt.stale_media_keys):
                storage.delete(key)
        except storage.StorageError as exc:
            logger.warning("cleanup: keeping prompt %s for the next run: %s", prompt.id, exc)
            failed += 1
            continue
        upload_id = prompt.upload_id
        prompt.delete()
        if upload_id:
            Upload.objects.filter(id=upload_id).delete()
        deleted += 1
    return {"deleted": deleted, "kept_for_retry": failed}


def sweep_orphaned_uploads(*, now=None) -> dict:
    """Uploads never submitted within 24 hours: their objects, then their rows."""
    now = now or timezone.now()
    stale = Upload.objects.filter(created_at__lt=now - timedelta(hours=ORPHAN_UPLOAD_HOURS)).exclude(
        state=Upload.State.SUBMITTED
    ).filter(prompt__isnull=True)
    removed = failed = 0
    for upload in stale.iterator():
        try:
            from prompts.services.uploads import incoming_key

            for key in [incoming_key(upload), upload.file_key, *upload.variant_keys.values()]:
                storage.delete(key)
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
    from prompts.services.uploads import incoming_key

    expired = now - timedelta(seconds=settings.PRESIGN_EXPIRES_SECONDS + 300)
    late = Upload.objects.filter(created_at__lt=expired, created_at__gte=expired - timedelta(hours=2)).exclude(
        state__in=[Upload.State.PRESIGNED, Upload.State.CHECKING])
    deleted = 0
    for upload in late.iterator():
        try:
            storage.delete(incoming_key(upload))
            deleted += 1
        except storage.StorageError as exc:
            logger.warning("orphan sweep: incoming file of upload %s kept: %s", upload.id, exc)
    return deleted


def recover_stuck_prompts(*, now=None) -> dict:
    """Re-queue a prompt stuck for 10 minutes once; after 30 minutes give it the fallback ("stuck")."""
    from prompts.services.processing import apply_fallback, queue_ai_content

    now = now or timezone.now()
    stuck = Prompt.objects.filter(processing_complete=False, is_deleted=False, updated_on__lt=now - STUCK_REQUEUE_AFTER)
    requeued = recovered = 0
    for prompt in stuck:
        if prompt.updated_on < now - STUCK_FALLBACK_AFTER and prompt.stuck_requeued_at is not None:
            logger.warning("prompt %s stuck for 30 minutes: applying the fallback", prompt.id)
            outcome = apply_fallback(prompt_id=prompt.id, reason=Prompt.ReviewReason.STUCK)
            if outcome.status != "skipped":
                after_processing(prompt_id=prompt.id, outcome="fallback", reason=Prompt.ReviewReason.STUCK)
                recovered += 1
        elif prompt.stuck_requeued_at is None:
            logger.warning("prompt %s stuck for 10 minutes: queueing the AI task again", prompt.id)
            with transaction.atomic():
                Prompt.objects.filter(id=prompt.id).update(stuck_requeued_at=now)
                queue_ai_content(prompt)
            requeued += 1
    return {"requeued": requeued, "recovered": recovered}
