"""How a prompt leaves and comes back: cancel, trash, restore, and the cleanup of what stays in the trash.

Trash is a soft delete: the row and files stay for the plan's retention (5 days free, 30 premium),
then the daily cleanup deletes the files first and the row after, so a storage error never leaves a
row pointing at nothing. A rejected prompt whose appeal is waiting is kept from the cleanup.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django_q.tasks import async_task

from prompts import selectors
from prompts.media import storage
from prompts.models import Prompt, Upload
from prompts.services import media_files, plans
from prompts.services.ai_content import queue_ai_content
from prompts.services.errors import Conflict, NotFound

logger = logging.getLogger(__name__)


def trash_prompt(*, prompt: Prompt, cancelled_during_processing: bool = False) -> Prompt:
    """Move to the trash. A running AI task sees `is_deleted` and stops."""
    if prompt.is_deleted:
        return prompt
    with transaction.atomic():
        Prompt.objects.filter(id=prompt.id).update(
            is_deleted=True, deleted_at=timezone.now(), updated_on=timezone.now()
        )
        media_files.place_media_soon(prompt)  # a trashed prompt's public files go private
        if cancelled_during_processing and settings.MEDIA_DELETE_ON_CANCEL:
            prompt_id = prompt.id
            transaction.on_commit(lambda: async_task("prompts.tasks.delete_prompt_files", prompt_id))
    prompt.refresh_from_db()
    return prompt


def cancel_prompt(*, user, processing_uuid) -> Prompt:
    """The author's Delete on the processing page or the prompt's own page."""
    prompt = selectors.own_prompt(user=user, processing_uuid=processing_uuid)
    if prompt is None:
        raise NotFound("This prompt was not found.")
    return trash_prompt(prompt=prompt, cancelled_during_processing=not prompt.processing_complete)


def restore_prompt(*, user, prompt_id: int) -> Prompt:
    prompt = Prompt.objects.filter(id=prompt_id, author=user, is_deleted=True).first()
    if prompt is None:
        raise NotFound("This prompt is not in your trash.")
    blocker = prompt.restore_blocker(retention_days=plans.retention_days(user), now=timezone.now())
    if blocker:
        raise Conflict(blocker)
    with transaction.atomic():
        Prompt.objects.filter(id=prompt.id).update(is_deleted=False, deleted_at=None, updated_on=timezone.now())
        prompt.refresh_from_db()
        media_files.place_media_soon(prompt)
        if not prompt.processing_complete:
            queue_ai_content(prompt)
    return prompt


def delete_prompt_files(*, prompt_id: int) -> int:
    """Delete every stored file of a trashed prompt (the row stays for the audit trail)."""
    prompt = Prompt.objects.filter(id=prompt_id, is_deleted=True).first()
    if prompt is None:
        return 0
    keys = prompt.all_media_keys
    for key in keys:
        storage.delete(key)
    if prompt.upload_id:
        storage.delete_prefix(media_files.upload_prefix(prompt.upload_id))
    Prompt.objects.filter(id=prompt_id).update(files_deleted_at=timezone.now(), stale_media_keys=[])
    return len(keys)


def cleanup_deleted_prompts(*, now=None) -> dict:
    """Files first, then the row, of prompts past their retention; a storage error keeps the row."""
    now = now or timezone.now()
    premium_ids = plans.premium_user_ids()
    expired = (
        Prompt.objects.filter(is_deleted=True)
        .exclude(
            moderation_status=Prompt.ModerationStatus.PENDING,
            appealed_at__isnull=False,  # an appeal is waiting
        )
        .filter(
            Q(deleted_at__lt=now - timedelta(days=plans.FREE_RETENTION_DAYS)) & ~Q(author_id__in=premium_ids)
            | Q(deleted_at__lt=now - timedelta(days=plans.PREMIUM_RETENTION_DAYS), author_id__in=premium_ids)
        )
    )
    deleted = failed = 0
    for prompt in expired.iterator():
        try:
            for key in prompt.all_media_keys:
                storage.delete(key)
            if prompt.upload_id:  # the row that names the folder goes next: nothing may stay behind in it
                storage.delete_prefix(media_files.upload_prefix(prompt.upload_id))
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
