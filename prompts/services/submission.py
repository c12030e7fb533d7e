"""How a ready upload becomes a prompt: the Submit button.

Submit makes the prompt in its processing state and queues the AI task; no outside service is
called here, so it answers at once. A second submit of the same upload returns the first prompt.
"""

from __future__ import annotations

import uuid

from django.db import transaction

from prompts.media import storage
from prompts.models import AIGenerator, ModerationAction, Prompt, Upload
from prompts.services import uploads
from prompts.services.ai_content import queue_ai_content
from prompts.services.errors import Conflict, InvalidInput, NotFound

MAX_PROMPT_LENGTH = 10_000


def submit_prompt(*, user, upload_id, content: str, ai_generator: str, save_as_draft: bool) -> Prompt:
    """Turn a ready upload into a prompt in its processing state and queue the AI task."""
    content = (content or "").strip()
    if not content:
        raise InvalidInput("Please enter the prompt you used.")
    if len(content) > MAX_PROMPT_LENGTH:
        raise InvalidInput(f"Your prompt is {len(content):,} characters long; the maximum is {MAX_PROMPT_LENGTH:,}.")
    if ai_generator not in AIGenerator.values:
        raise InvalidInput("Please choose the generator you used.")
    try:
        upload_uuid = uuid.UUID(str(upload_id))
    except ValueError:
        raise NotFound("This upload was not found. Please upload your file again.") from None
    with transaction.atomic():
        uploads.lock_user(user)  # the user's row first, as presign and complete do: no lock-order deadlock
        upload = Upload.objects.select_for_update().filter(id=upload_uuid, owner=user).first()
        if upload is None:
            raise NotFound("This upload was not found. Please upload your file again.")
        if upload.state == Upload.State.SUBMITTED:
            existing = Prompt.objects.filter(upload=upload).first()
            if existing is not None and existing.is_deleted:  # e.g. the form sent again after a cancel
                raise Conflict(
                    "You already shared this file and then deleted it. Restore it from your trash, "
                    "or upload the file again."
                )
            if existing is not None:
                return existing
        if upload.state != Upload.State.READY:
            raise Conflict("Your file isn't ready yet. Please wait until the page says “Ready to submit”.")
        uploads.check_weekly_limit(user, exclude=upload)
        # A file someone else already shared is held for a moderator, like a flagged one.
        flagged = upload.moderation_action == ModerationAction.REVIEW or upload.duplicate_of_id is not None
        keys = {"original": upload.file_key, **upload.variant_keys}
        prompt = Prompt.objects.create(
            author=user,
            upload=upload,
            content=content,
            ai_generator=ai_generator,
            title="Processing...",
            slug=None,
            status=Prompt.Status.DRAFT,
            publish_requested=not save_as_draft,
            media_type=upload.media_type,
            media_keys=keys,
            width=upload.width,
            height=upload.height,
            blurhash=upload.blurhash,
            b2_image_url=storage.public_url(upload.file_key) if upload.media_type == "image" else "",
            b2_video_url=storage.public_url(upload.file_key) if upload.media_type == "video" else "",
            b2_thumb_url=storage.public_url(keys.get("thumb", "")),
            b2_medium_url=storage.public_url(keys.get("medium", "")),
            b2_large_url=storage.public_url(keys.get("large", "")),
            b2_webp_url=storage.public_url(keys.get("webp", "")),
            sha256=upload.sha256,
            media_sha256=upload.checked_sha256,
            dhash=upload.dhash,
            duplicate_of=upload.duplicate_of,
            generation_settings=upload.generation_metadata,
            moderation_status=Prompt.ModerationStatus.PENDING if flagged else Prompt.ModerationStatus.NOT_NEEDED,
            moderation_severity=upload.moderation_severity,
            moderation_violations=upload.moderation_violations,
        )
        upload.state = Upload.State.SUBMITTED
        upload.save(update_fields=["state", "updated_at"])
        queue_ai_content(prompt)
    return prompt
