"""The content check an upload request could not wait for, finished by the worker.

The moderate request gives the AI one short attempt (settings.AI_REQUEST_TIMEOUT_SECONDS). When the
AI is slow, busy or failing, the upload is held (action "review", unchecked: never published) and
this task asks again with the worker's own budget. Its answer then stands as if it had come in
time: an allowed file's hold is lifted (the prompt is published if the author asked for it), a
rejected one is rejected, a flagged one stays for a moderator. If the AI still cannot answer, the
upload stays held for a moderator, as before.
"""

from __future__ import annotations

import logging

from django.db import transaction

from prompts import ai
from prompts.models import ModerationAction, Prompt, Severity, Upload
from prompts.services import review, uploads

logger = logging.getLogger(__name__)

FINISHED_LATE = "The automatic content check finished shortly after the upload."
REJECTED_LATE = "The automatic content check found content that violates our community guidelines."


def finish_moderation(*, upload_id: str) -> str:
    upload = Upload.objects.filter(id=upload_id).first()
    if upload is None or not _still_waiting(upload):
        return "skipped"
    with uploads.storage_errors():
        data, content_type = uploads.moderation_input(upload)
    try:
        result = uploads.moderate_with_ai(upload, data, content_type)
    except ai.AIError as exc:
        logger.warning("late moderation of upload %s failed too (%s): a moderator will look", upload.id, exc.reason)
        return "unchecked"
    action = uploads.SEVERITY_ACTIONS[Severity(result.severity)]
    with transaction.atomic():
        upload = Upload.objects.select_for_update().get(id=upload.id)
        if not _still_waiting(upload):
            return "skipped"
        upload.moderation_severity = result.severity
        upload.moderation_violations = list(result.violations)[:20]
        upload.moderation_checked = result.checked
        upload.moderation_action = action
        upload.moderation_note = ""
        fields = ["moderation_severity", "moderation_violations", "moderation_checked", "moderation_action"]
        if action == ModerationAction.REJECT and upload.state != Upload.State.SUBMITTED:
            upload.state = Upload.State.REJECTED
            fields.append("state")
        upload.save(update_fields=[*fields, "moderation_note", "updated_at"])
        prompt = Prompt.objects.filter(upload=upload).first()
    held_only_for_this = (
        prompt is not None
        and prompt.moderation_status == Prompt.ModerationStatus.PENDING
        and prompt.appealed_at is None
        and upload.duplicate_of_id is None
    )
    if held_only_for_this and action == ModerationAction.ALLOW:
        review.approve_moderation(prompt=prompt, moderator=None, note=FINISHED_LATE)
    elif held_only_for_this and action == ModerationAction.REJECT:
        review.reject_moderation(prompt=prompt, moderator=None, note=REJECTED_LATE)
    elif prompt is None and action == ModerationAction.REJECT:
        uploads.discard_files(upload)
    return str(action)


def _still_waiting(upload: Upload) -> bool:
    """Held because the check could not finish in the request, and nobody decided since."""
    return (
        not upload.moderation_checked
        and upload.moderation_action == ModerationAction.REVIEW
        and upload.moderation_note == uploads.for_media(upload, uploads.MODERATION_FAILED_NOTE)
        and upload.state != Upload.State.REJECTED
    )
