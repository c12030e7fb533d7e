"""How a submitted prompt gets its title, description and tags: the AI task, its fallback, its retries.

A prompt is `processing_complete=False` from submit until the AI task, the fallback or the
stuck-prompt recovery finishes it — always in one save (`_finish`). Django-Q delivers a task at
least once, so the task may run twice: it exits when the prompt is deleted or already complete.
After a failure the prompt is saved as a draft with a title made from its prompt text, flagged for
review, and the AI is tried again later (1, 5, then 30 minutes), by the author's "Try again", by
"Retry all", or by staff.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django_q.models import OrmQ
from django_q.tasks import async_task
from taggit.models import Tag

from prompts import ai, selectors, wakeups
from prompts.dbretry import retry_database_errors
from prompts.media import storage
from prompts.models import Prompt
from prompts.services import ratelimit, seo, slugs, text, uploads
from prompts.services.errors import Conflict, NotFound

logger = logging.getLogger(__name__)

MAX_AI_ATTEMPTS = 5
# No prompt's AI task ever starts more often than this (first run, automatic and manual retries);
# beyond the automatic tries a person may ask a few more times before staff take over.
AI_ATTEMPTS_CAP = MAX_AI_ATTEMPTS + 3
# A queued task not started after this long is taken as lost, and a retry may queue another.
AI_QUEUED_LOST_AFTER = timedelta(minutes=10)
# "Try Again" per person: enough for every prompt on a busy day, not for a script.
RETRY_LIMIT = 20
RETRY_WINDOW_SECONDS = 600
TRIED_ENOUGH = "We've tried several times already. Our team will complete this prompt for you."
# A prompt processing with no AI task queued or running for this long has lost its task.
AI_TASK_LOST_AFTER = timedelta(seconds=10)
STUCK_REQUEUE_AFTER = timedelta(minutes=10)
STUCK_FALLBACK_AFTER = timedelta(minutes=30)
# Automatic AI retries after a failure: wait 1, 5, then 30 minutes; at most three tries.
AI_RETRY_DELAYS = [timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30)]
AI_FAILURE_REASONS = {
    Prompt.ReviewReason.AI_TIMEOUT,
    Prompt.ReviewReason.AI_ERROR,
    Prompt.ReviewReason.DOWNLOAD_FAILED,
    Prompt.ReviewReason.MALFORMED,
    Prompt.ReviewReason.PARTIAL,
    Prompt.ReviewReason.STUCK,
}
RETRYABLE_REASONS = {Prompt.ReviewReason.AI_TIMEOUT, Prompt.ReviewReason.AI_ERROR, Prompt.ReviewReason.DOWNLOAD_FAILED}
REASON_OF_AI_ERROR = {
    "ai_timeout": Prompt.ReviewReason.AI_TIMEOUT,
    "ai_error": Prompt.ReviewReason.AI_ERROR,
    "malformed": Prompt.ReviewReason.MALFORMED,
    "refusal": Prompt.ReviewReason.MALFORMED,
}


@dataclass(frozen=True)
class Outcome:
    status: str  # "skipped", "success", "partial", "fallback"
    reason: str = ""


def ai_task_name(prompt_id: int) -> str:
    return f"ai_content_{prompt_id}"


def queue_ai_content(prompt: Prompt) -> None:
    """Queue the AI task once the surrounding transaction has committed, marking it as waiting."""
    prompt_id = prompt.id
    Prompt.objects.filter(id=prompt_id).update(ai_queued_at=timezone.now())
    transaction.on_commit(
        lambda: async_task("prompts.tasks.generate_ai_content", prompt_id, task_name=ai_task_name(prompt_id))
    )


# --- The task ------------------------------------------------------------------------------


def generate_ai_content(*, prompt_id: int) -> Outcome:
    prompt = Prompt.objects.select_related("upload").filter(id=prompt_id).first()
    if prompt is None or prompt.is_deleted:
        _clear_queued_mark(prompt_id)
        return Outcome("skipped", "deleted")
    if prompt.processing_complete:
        _clear_queued_mark(prompt_id)
        return Outcome("skipped", "complete")
    started = Prompt.objects.filter(id=prompt.id, ai_attempts__lt=AI_ATTEMPTS_CAP).update(
        ai_attempts=F("ai_attempts") + 1, ai_queued_at=None
    )
    if not started:  # at the cap: no further AI call, the details stay for a person to complete
        _clear_queued_mark(prompt_id)
        reason = (
            prompt.seo_review_reason if prompt.seo_review_reason in AI_FAILURE_REASONS else Prompt.ReviewReason.AI_ERROR
        )
        return apply_fallback(prompt_id=prompt.id, reason=reason)
    try:
        image_bytes, content_type = _image_for(prompt)
    except uploads.ChangedAfterCheck:
        logger.error("prompt %s: the stored original is not the image moderation checked", prompt.id)
        return apply_fallback(prompt_id=prompt.id, reason=Prompt.ReviewReason.DOWNLOAD_FAILED)
    except storage.StorageError as exc:
        logger.warning("prompt %s: image download failed: %s", prompt.id, exc)
        return apply_fallback(prompt_id=prompt.id, reason=Prompt.ReviewReason.DOWNLOAD_FAILED)
    try:
        result = ai.generate_content(
            image_bytes=image_bytes,
            content_type=content_type,
            prompt_text=prompt.content,
            generator_label=prompt.get_ai_generator_display(),
            available_tags=text.vocabulary(),
        )
    except ai.AIError as exc:
        logger.warning("prompt %s: AI content failed (%s): %s", prompt.id, exc.reason, exc)
        reason = REASON_OF_AI_ERROR.get(exc.reason, Prompt.ReviewReason.AI_ERROR)
        return retry_database_errors(apply_fallback)(prompt_id=prompt.id, reason=reason)
    # The answer is paid for: a database blip while saving it retries the save, not the AI call.
    return retry_database_errors(apply_ai_result)(prompt_id=prompt.id, result=result)


def _clear_queued_mark(prompt_id: int) -> None:
    Prompt.objects.filter(id=prompt_id).exclude(ai_queued_at=None).update(ai_queued_at=None)


def _image_for(prompt: Prompt) -> tuple[bytes, str]:
    """What the AI looks at: an image's medium JPEG that our server made from the checked bytes (cached
    when the upload became ready), else its original only if it is the one moderation checked (the SEO
    rename copies it byte for byte; other bytes raise uploads.ChangedAfterCheck); a video's poster (made
    by the server at complete, from the checked video)."""
    if prompt.media_type == "video":
        return storage.read_bytes(prompt.media_keys["poster"]), "image/jpeg"
    reduced = uploads.content_image(prompt.media_sha256)
    if reduced is not None:
        return reduced
    key = prompt.media_keys.get("original", "")
    extension = key.rsplit(".", 1)[-1].lower()
    content_type = prompt.upload.content_type if prompt.upload else uploads.IMAGE_TYPES.get(extension, "image/jpeg")
    return uploads.checked_analysis_image(key=key, sha256=prompt.media_sha256, content_type=content_type)


def apply_ai_result(*, prompt_id: int, result: ai.ContentResult) -> Outcome:
    title = text.clean_title(result.title)
    description = text.clean_description(result.description)
    tags = text.choose_tags(result.tags)
    # No vocabulary tag fitting the image is an answer, not a failure: only a missing title or
    # description leaves the prompt with limited details.
    partial = not (title and description)
    fields = {
        "title": title or None,
        "excerpt": description,
        "relevance_score": result.relevance_score if isinstance(result.relevance_score, (int, float)) else None,
        "relevance_explanation": text.clean_text(result.relevance_explanation, limit=500),
    }
    reason = Prompt.ReviewReason.PARTIAL if partial else ""
    return _finish(prompt_id=prompt_id, fields=fields, tags=tags, review_reason=reason)


def apply_fallback(*, prompt_id: int, reason: str) -> Outcome:
    """The prompt is saved as a draft with a title from its prompt text, flagged for review."""
    return _finish(prompt_id=prompt_id, fields={"title": None, "excerpt": ""}, tags=None, review_reason=reason)


def _finish(*, prompt_id: int, fields: dict, tags: list[Tag] | None, review_reason: str) -> Outcome:
    with transaction.atomic():
        prompt = Prompt.objects.select_for_update().filter(id=prompt_id).first()
        if prompt is None or prompt.is_deleted:
            return Outcome("skipped", "deleted")
        if prompt.processing_complete:
            return Outcome("skipped", "complete")
        was_fallback = prompt.needs_seo_review and prompt.seo_review_reason in AI_FAILURE_REASONS
        was_published = prompt.status == Prompt.Status.PUBLISHED
        keep_previous = tags is None and prompt.needs_seo_review and prompt.slug
        if not keep_previous:
            prompt.title = fields.get("title") or text.fallback_title(prompt.content)
            prompt.excerpt = fields.get("excerpt", "")
            prompt.relevance_score = fields.get("relevance_score")
            prompt.relevance_explanation = fields.get("relevance_explanation", "")
        prompt.alt_text = seo.alt_text(title=prompt.title, generator_label=prompt.get_ai_generator_display())
        if not prompt.seo_filename_base:
            prompt.seo_filename_base = seo.seo_filename_base(title=prompt.title, generator_slug=prompt.ai_generator)
        prompt.needs_seo_review = bool(review_reason)
        prompt.seo_review_reason = review_reason
        prompt.ai_next_retry_at = None
        prompt.processing_complete = True
        prompt.processing_completed_at = timezone.now()
        prompt.status = Prompt.Status.PUBLISHED if prompt.may_be_published() else Prompt.Status.DRAFT
        # A slug made from a fallback title is replaced once the AI gives a real title, as long
        # as the prompt was never public under it.
        replace_slug = was_fallback and not review_reason and not was_published
        if slugs.slug_needs_replacing(prompt) or replace_slug:
            slugs.save_with_unique_slug(prompt)
        else:
            prompt.save()
        if tags is not None:
            prompt.tags.set(tags)
        wakeups.prompt_finished(prompt.processing_uuid)  # delivered at the commit: the page sees the row
    outcome = "fallback" if review_reason and tags is None else ("partial" if review_reason else "success")
    return Outcome(outcome, review_reason)


def after_processing(*, prompt_id: int, outcome: str, reason: str) -> None:
    """Once the prompt is complete: queue the SEO rename of its files, plan an AI retry after a failure."""
    async_task("prompts.tasks.rename_files_for_seo", prompt_id, task_name=f"seo_rename_{prompt_id}")
    if outcome == "fallback" and reason in RETRYABLE_REASONS:
        schedule_ai_retry(prompt_id=prompt_id)


# --- Trying again --------------------------------------------------------------------------


def requeue_ai(*, prompt: Prompt) -> Prompt:
    """Queue the AI once more for a prompt that fell back or seems stuck: only if no task for it is
    already waiting and the attempts are under the cap; a request while one waits changes nothing
    (the page keeps polling)."""
    if prompt.is_deleted:
        raise NotFound("This prompt was not found.")
    if prompt.processing_complete and prompt.seo_review_reason not in AI_FAILURE_REASONS:
        raise Conflict("This prompt already has its details.")
    if prompt.ai_attempts >= AI_ATTEMPTS_CAP:
        raise Conflict(TRIED_ENOUGH)
    now = timezone.now()
    with transaction.atomic():
        # One conditional update claims the retry: of many simultaneous requests, one queues a task.
        claimed = (
            Prompt.objects.filter(id=prompt.id, is_deleted=False, ai_attempts__lt=AI_ATTEMPTS_CAP)
            .filter(Q(processing_complete=False) | Q(seo_review_reason__in=AI_FAILURE_REASONS))
            .filter(Q(ai_queued_at=None) | Q(ai_queued_at__lt=now - AI_QUEUED_LOST_AFTER))
            .update(processing_complete=False, ai_queued_at=now, updated_on=now)
        )
        if claimed:
            prompt_id = prompt.id
            transaction.on_commit(
                lambda: async_task("prompts.tasks.generate_ai_content", prompt_id, task_name=f"ai_content_{prompt_id}")
            )
    prompt.refresh_from_db()
    if not claimed and prompt.ai_queued_at is None:  # e.g. the cap was reached meanwhile
        raise Conflict(
            TRIED_ENOUGH if prompt.ai_attempts >= AI_ATTEMPTS_CAP else "This prompt already has its details."
        )
    return prompt


def retry_ai_content(*, user, processing_uuid) -> Prompt:
    """The author's "Try Again" on the processing page."""
    prompt = selectors.own_prompt(user=user, processing_uuid=processing_uuid)
    if prompt is None:
        raise NotFound("This prompt was not found.")
    ratelimit.hit(scope="ai-retry", key=str(user.pk), limit=RETRY_LIMIT, window=RETRY_WINDOW_SECONDS).raise_if_denied(
        "You've asked us to try again many times in a short while. Please wait {wait} and try again."
    )
    return requeue_ai(prompt=prompt)


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
    """The scheduled job: queue the AI again for each prompt whose retry time has come."""
    now = now or timezone.now()
    due = Prompt.objects.filter(
        ai_next_retry_at__lte=now,
        is_deleted=False,
        needs_seo_review=True,
        seo_review_reason__in=RETRYABLE_REASONS,
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


def limited_prompts(*, user):
    """The author's prompts that ended with limited details because the AI failed."""
    return Prompt.objects.filter(
        author=user,
        is_deleted=False,
        processing_complete=True,
        needs_seo_review=True,
        seo_review_reason__in=AI_FAILURE_REASONS,
    ).order_by("-created_on")


def retry_all_limited(*, user) -> tuple[int, int]:
    """'Retry all': queue the AI again for each limited prompt (within requeue_ai's limits)."""
    queued = skipped = 0
    for prompt in limited_prompts(user=user):
        try:
            requeue_ai(prompt=prompt)
            queued += 1
        except (Conflict, NotFound):
            skipped += 1
    return queued, skipped


def requeue_lost_ai_tasks(*, now=None) -> dict:
    """Queue the AI again, within seconds, for each prompt still processing whose task is neither queued nor
    running: it failed for good (a database outage longer than its retries, a timeout), or its queueing
    was lost after the submit committed. Run by every worker's watchdog (prompts/worker_lifecycle.py).

    The queue is read before the prompts: a task finishes its prompt before it leaves the queue, so a
    prompt seen processing after its task was seen gone has really lost it. Claimed by a conditional
    update, so two watchdogs never queue the same prompt twice.
    """
    now = now or timezone.now()
    in_queue = {row.name() for row in OrmQ.objects.all()}
    quiet_since = now - AI_TASK_LOST_AFTER
    candidates = (
        Prompt.objects.filter(
            processing_complete=False, is_deleted=False, ai_attempts__lt=AI_ATTEMPTS_CAP, created_on__lt=quiet_since
        )
        .filter(Q(ai_queued_at=None) | Q(ai_queued_at__lt=quiet_since))
        .values_list("id", "ai_queued_at")
    )
    requeued = 0
    for prompt_id, queued_at in candidates:
        if ai_task_name(prompt_id) in in_queue:
            continue
        with transaction.atomic():
            claimed = Prompt.objects.filter(id=prompt_id, processing_complete=False, ai_queued_at=queued_at).update(
                ai_queued_at=now
            )
            if claimed:
                logger.warning("prompt %s: its AI task was lost; queueing it again", prompt_id)
                transaction.on_commit(
                    lambda prompt_id=prompt_id: async_task(
                        "prompts.tasks.generate_ai_content", prompt_id, task_name=ai_task_name(prompt_id)
                    )
                )
                requeued += 1
    return {"requeued": requeued}


def recover_stuck_prompts(*, now=None) -> dict:
    """Re-queue a prompt stuck for 10 minutes once; after 30 minutes give it the fallback ("stuck")."""
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
