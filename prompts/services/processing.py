"""From submit to a finished prompt: submit, AI content, fallbacks, publish, cancel, retry.

A prompt is `processing_complete=False` from submit until the AI task, the fallback or the
stuck-prompt recovery finishes it — always in one save. The AI task may run twice (Django-Q
delivers at least once): it exits when the prompt is deleted or already complete.
"""
from __future__ import annotations

import html
import logging
import re
import secrets
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Func, OuterRef, Q, Subquery
from django.utils import timezone
from django_q.tasks import async_task
from taggit.models import Tag

from prompts import ai
from prompts.media import storage
from prompts.models import AIGenerator, ModerationAction, Prompt, Upload
from prompts.services import seo, uploads
from prompts.services.errors import Conflict, InvalidInput, NotFound

logger = logging.getLogger(__name__)

MAX_PROMPT_LENGTH = 10_000
MAX_TAGS = 5
MAX_AI_ATTEMPTS = 5
# No prompt's AI task ever starts more often than this (first run, automatic and manual retries).
AI_ATTEMPTS_CAP = MAX_AI_ATTEMPTS + 3
# A queued task not started after this long is taken as lost, and a retry may queue another.
AI_QUEUED_LOST_AFTER = timedelta(minutes=10)
LONG_POLL_MAX_SECONDS = 20.0
LONG_POLL_INTERVAL_SECONDS = 0.2
FALLBACK_TITLE_LENGTH = 50
AI_FAILURE_REASONS = {
    Prompt.ReviewReason.AI_TIMEOUT, Prompt.ReviewReason.AI_ERROR, Prompt.ReviewReason.DOWNLOAD_FAILED,
    Prompt.ReviewReason.MALFORMED, Prompt.ReviewReason.PARTIAL, Prompt.ReviewReason.STUCK,
}
_AI_REASON = {
    "ai_timeout": Prompt.ReviewReason.AI_TIMEOUT,
    "ai_error": Prompt.ReviewReason.AI_ERROR,
    "malformed": Prompt.ReviewReason.MALFORMED,
    "refusal": Prompt.ReviewReason.MALFORMED,
}
_TAG_RE = re.compile(r"<[^>]*>")


# --- Submit -----------------------------------------------------------------------------

def submit_prompt(*, user, upload_id, content: str, ai_generator: str, save_as_draft: bool) -> Prompt:
    """Turn a ready upload into a prompt in its processing state and queue the AI task.

    No outside call happens here. A second submit of the same upload returns the first prompt.
    """
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
        raise NotFound("This upload was not found. Please upload your file again.")
    with transaction.atomic():
        uploads.lock_user(user)  # the user's row first, as presign and complete do: no lock-order deadlock
        upload = Upload.objects.select_for_update().filter(id=upload_uuid, owner=user).first()
        if upload is None:
            raise NotFound("This upload was not found. Please upload your file again.")
        if upload.state == Upload.State.SUBMITTED:
            existing = Prompt.objects.filter(upload=upload).first()
            if existing is not None and existing.is_deleted:  # e.g. the form sent again after a cancel
                raise Conflict("You already shared this file and then deleted it. Restore it from your trash, "
                               "or upload the file again.")
            if existing is not None:
                return existing
        if upload.state != Upload.State.READY:
            raise Conflict("Your file isn't ready yet. Please wait until the page says “Ready to submit”.")
        uploads.check_weekly_limit(user, exclude=upload)
        # A file someone else already shared is held for a moderator, like a flagged one.
        flagged = upload.moderation_action == ModerationAction.REVIEW or upload.duplicate_of_id is not None
        keys = {"original": upload.file_key, **upload.variant_keys}
        prompt = Prompt.objects.create(
            author=user, upload=upload, content=content, ai_generator=ai_generator,
            title="Processing...", slug=None, status=Prompt.Status.DRAFT, publish_requested=not save_as_draft,
            media_type=upload.media_type, media_keys=keys, width=upload.width, height=upload.height,
            blurhash=upload.blurhash,
            b2_image_url=storage.public_url(upload.file_key) if upload.media_type == "image" else "",
            b2_video_url=storage.public_url(upload.file_key) if upload.media_type == "video" else "",
            b2_thumb_url=storage.public_url(keys.get("thumb", "")),
            b2_medium_url=storage.public_url(keys.get("medium", "")),
            b2_large_url=storage.public_url(keys.get("large", "")),
            b2_webp_url=storage.public_url(keys.get("webp", "")),
            sha256=upload.sha256, media_sha256=upload.checked_sha256, dhash=upload.dhash, duplicate_of=upload.duplicate_of,
            generation_settings=upload.generation_metadata,
            moderation_status=Prompt.ModerationStatus.PENDING if flagged else Prompt.ModerationStatus.NOT_NEEDED,
            moderation_severity=upload.moderation_severity,
            moderation_violations=upload.moderation_violations,
        )
        upload.state = Upload.State.SUBMITTED
        upload.save(update_fields=["state", "updated_at"])
        queue_ai_content(prompt)
    return prompt


def queue_ai_content(prompt: Prompt) -> None:
    """Queue the AI task once the surrounding transaction has committed, marking it as waiting."""
    prompt_id = prompt.id
    Prompt.objects.filter(id=prompt_id).update(ai_queued_at=timezone.now())
    transaction.on_commit(
        lambda: async_task("prompts.tasks.generate_ai_content", prompt_id, task_name=f"ai_content_{prompt_id}")
    )


# --- The AI task ------------------------------------------------------------------------

@dataclass(frozen=True)
class Outcome:
    status: str  # "skipped", "success", "partial", "fallback"
    reason: str = ""


def wait_estimate(*, ahead: int, running_for: float) -> dict:
    """'About 6 seconds — 2 uploads ahead of yours', from how long recent prompts took."""
    per_prompt = typical_processing_seconds()
    workers = max(1, int(settings.Q_CLUSTER.get("workers", 1)))
    remaining = max(1.0, (ahead // workers + 1) * per_prompt - running_for)
    seconds = int(round(remaining))
    ahead_text = "" if not ahead else f" — {ahead} upload{'s' if ahead != 1 else ''} ahead of yours"
    return {
        "queue_position": ahead,
        "estimated_seconds": seconds,
        "estimate_text": f"About {seconds} second{'s' if seconds != 1 else ''}{ahead_text}",
    }


_TYPICAL = {"value": None, "at": 0.0}
TYPICAL_DEFAULT_SECONDS = 8.0


def typical_processing_seconds() -> float:
    """Median submit-to-complete time of the last 20 prompts, remembered for 30 s per process."""
    now = time.monotonic()
    if _TYPICAL["value"] is not None and now - _TYPICAL["at"] < 30:
        return _TYPICAL["value"]
    durations = sorted(
        (done - created).total_seconds()
        for created, done in Prompt.objects.filter(processing_completed_at__isnull=False)
        .order_by("-processing_completed_at").values_list("created_on", "processing_completed_at")[:20]
    )
    value = durations[len(durations) // 2] if durations else TYPICAL_DEFAULT_SECONDS
    _TYPICAL.update(value=max(1.0, min(value, 120.0)), at=now)
    return _TYPICAL["value"]


_LONG_POLLS = threading.BoundedSemaphore(max(1, settings.PROCESSING_LONG_POLLS_PER_PROCESS))


def wait_for_status(*, user, processing_uuid, wait_seconds: float) -> dict:
    """Long poll: answer as soon as the prompt is complete, or after `wait_seconds` at most.

    A short database poll on the server side (works on PostgreSQL and SQLite alike). Each waiting
    request holds a web thread, so only a few may wait per process: past that, the answer comes at
    once with "waited": false and the page falls back to polling every few seconds.
    """
    if not _LONG_POLLS.acquire(blocking=False):
        return {**status_of(user=user, processing_uuid=processing_uuid), "waited": False}
    try:
        deadline = time.monotonic() + max(0.0, min(wait_seconds, LONG_POLL_MAX_SECONDS))
        while True:
            answer = status_of(user=user, processing_uuid=processing_uuid)
            if answer["processing_complete"] or time.monotonic() >= deadline:
                return {**answer, "waited": True}
            time.sleep(LONG_POLL_INTERVAL_SECONDS)
    finally:
        _LONG_POLLS.release()


def generate_ai_content(*, prompt_id: int) -> Outcome:
    prompt = Prompt.objects.select_related("upload").filter(id=prompt_id).first()
    if prompt is None or prompt.is_deleted:
        _clear_queued_mark(prompt_id)
        return Outcome("skipped", "deleted")
    if prompt.processing_complete:
        _clear_queued_mark(prompt_id)
        return Outcome("skipped", "complete")
    started = Prompt.objects.filter(id=prompt.id, ai_attempts__lt=AI_ATTEMPTS_CAP).update(
        ai_attempts=F("ai_attempts") + 1, ai_queued_at=None)
    if not started:  # at the cap: no further AI call, the details stay for a person to complete
        _clear_queued_mark(prompt_id)
        reason = prompt.seo_review_reason if prompt.seo_review_reason in AI_FAILURE_REASONS else Prompt.ReviewReason.AI_ERROR
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
            image_bytes=image_bytes, content_type=content_type, prompt_text=prompt.content,
            generator_label=prompt.get_ai_generator_display(), available_tags=vocabulary(),
        )
    except ai.AIError as exc:
        logger.warning("prompt %s: AI content failed (%s): %s", prompt.id, exc.reason, exc)
        return apply_fallback(prompt_id=prompt.id, reason=_AI_REASON.get(exc.reason, Prompt.ReviewReason.AI_ERROR))
    return apply_ai_result(prompt_id=prompt.id, result=result)


def _clear_queued_mark(prompt_id: int) -> None:
    Prompt.objects.filter(id=prompt_id).exclude(ai_queued_at=None).update(ai_queued_at=None)


def _image_for(prompt: Prompt) -> tuple[bytes, str]:
    """What the AI looks at, made only from the original moderation checked (the SEO rename copies it
    byte for byte): any other bytes are refused with uploads.ChangedAfterCheck."""
    key = prompt.media_keys.get("original", "")
    extension = key.rsplit(".", 1)[-1].lower()
    content_type = prompt.upload.content_type if prompt.upload else uploads.IMAGE_TYPES.get(extension, "image/jpeg")
    return uploads.checked_analysis_image(key=key, sha256=prompt.media_sha256, media_type=prompt.media_type,
                                          content_type=content_type)


def vocabulary() -> list[str]:
    return list(Tag.objects.order_by("name").values_list("name", flat=True))


def clean_text(value: str | None, *, limit: int) -> str:
    """AI text as plain text: no markup, no control characters, whitespace folded, bounded."""
    if not value:
        return ""
    text = html.unescape(_TAG_RE.sub(" ", str(value)))
    text = "".join(ch for ch in text if ch.isprintable() or ch in "\n ")
    text = text.replace("<", "").replace(">", "")
    text = " ".join(text.split())
    return text[:limit].rstrip()


def clean_title(value: str | None) -> str:
    title = clean_text(value, limit=200).strip(" \"'“”‘’.")
    words = title.split()
    if len(words) > 12:
        title = " ".join(words[:10])
    return title[:120].rstrip()


def choose_tags(names: list[str]) -> list[Tag]:
    """Up to five tags that already exist in the vocabulary; anything else is dropped, never created."""
    wanted = []
    for name in names or []:
        if isinstance(name, str) and name.strip() and name.strip().lower() not in [w.lower() for w in wanted]:
            wanted.append(name.strip())
    if not wanted:
        return []
    by_lower = {tag.name.lower(): tag for tag in Tag.objects.all()}
    chosen = [by_lower[name.lower()] for name in wanted if name.lower() in by_lower]
    return chosen[:MAX_TAGS]


def fallback_title(content: str) -> str:
    """The first 50 characters of the prompt, cut at a word, + "..." (spec section 8)."""
    text = clean_text(content, limit=len(content))
    if len(text) <= FALLBACK_TITLE_LENGTH:
        return text or "Untitled prompt"
    cut = text[: FALLBACK_TITLE_LENGTH + 1]
    cut = cut[: cut.rindex(" ")] if " " in cut else text[:FALLBACK_TITLE_LENGTH]
    return cut.rstrip(" ,;:.-") + "..."


def apply_ai_result(*, prompt_id: int, result: ai.ContentResult) -> Outcome:
    title = clean_title(result.title)
    description = clean_text(result.description, limit=2000)
    tags = choose_tags(result.tags)
    partial = not (title and description and tags)
    fields = {
        "title": title or None,
        "excerpt": description,
        "relevance_score": result.relevance_score if isinstance(result.relevance_score, (int, float)) else None,
        "relevance_explanation": clean_text(result.relevance_explanation, limit=500),
    }
    reason = Prompt.ReviewReason.PARTIAL if partial else ""
    return _finish(prompt_id=prompt_id, fields=fields, tags=tags, review_reason=reason)


def apply_fallback(*, prompt_id: int, reason: str) -> Outcome:
    """Spec section 8: the prompt is saved as a draft with a title from the prompt text, for review."""
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
            prompt.title = fields.get("title") or fallback_title(prompt.content)
            prompt.excerpt = fields.get("excerpt", "")
            prompt.relevance_score = fields.get("relevance_score")
            prompt.relevance_explanation = fields.get("relevance_explanation", "")
        generator_label = prompt.get_ai_generator_display()
        prompt.alt_text = seo.alt_text(title=prompt.title, generator_label=generator_label)
        if not prompt.seo_filename_base:
            prompt.seo_filename_base = seo.seo_filename_base(title=prompt.title, generator_slug=prompt.ai_generator)
        moderation_hold = prompt.moderation_status == Prompt.ModerationStatus.PENDING
        prompt.needs_seo_review = bool(review_reason)
        prompt.seo_review_reason = review_reason
        prompt.ai_next_retry_at = None
        publish = prompt.publish_requested and not review_reason and not moderation_hold
        prompt.status = Prompt.Status.PUBLISHED if publish else Prompt.Status.DRAFT
        prompt.processing_complete = True
        prompt.processing_completed_at = timezone.now()
        # A slug made from a fallback title is replaced once the AI gives a real title, as long
        # as the prompt was never public under it.
        replace_slug = was_fallback and not review_reason and not was_published
        if slug_needs_replacing(prompt) or replace_slug:
            _save_with_unique_slug(prompt)
        else:
            prompt.save()
        if tags is not None:
            prompt.tags.set(tags)
    outcome = "fallback" if review_reason and tags is None else ("partial" if review_reason else "success")
    return Outcome(outcome, review_reason)


def unique_slug(title: str, *, exclude_id: int | None = None) -> str:
    """The clean slug for a public page: the title's slug, or with -2, -3... when a page had it.

    Drafts never hold clean slugs (see draft_slug), so the number shows only what was public.
    """
    base = seo.slugify_title(title)[:190]
    taken = set(Prompt.objects.filter(slug__startswith=base).exclude(id=exclude_id).values_list("slug", flat=True))
    if base not in taken:
        return base
    number = 2
    while f"{base}-{number}" in taken:
        number += 1
    return f"{base}-{number}"


def draft_slug(title: str) -> str:
    """A draft's slug: the title's words and a random part. Only its author and staff see it; it can
    neither take a clean slug from a later public prompt nor tell anyone a private draft exists."""
    while True:
        token = secrets.token_hex(4)
        if not token.isdigit():  # never mistaken for a clean slug's -2, -3...
            return f"{seo.slugify_title(title)[:180]}-{token}"


def slug_needs_replacing(prompt: Prompt) -> bool:
    """No slug yet, or a published prompt still under its draft slug."""
    return not prompt.slug or (prompt.status == Prompt.Status.PUBLISHED and not prompt.slug_public)


def _save_with_unique_slug(prompt: Prompt) -> None:
    """Save with a slug from the title: a clean one when published, a draft slug otherwise. A clean slug
    is numbered on collision, never an error; the draft slug it replaces redirects to it."""
    from prompts.models import SlugRedirect

    public = prompt.status == Prompt.Status.PUBLISHED
    if not public and prompt.slug and not prompt.slug_public and \
            prompt.slug.rsplit("-", 1)[0] == seo.slugify_title(prompt.title)[:180]:
        prompt.save()  # a draft slug already made from this title stays
        return
    replaced_draft_slug = prompt.slug if public and prompt.slug and not prompt.slug_public else ""
    prompt.slug_public = public
    for _attempt in range(5):
        prompt.slug = unique_slug(prompt.title, exclude_id=prompt.id) if public else draft_slug(prompt.title)
        try:
            with transaction.atomic():
                prompt.save()
            break
        except IntegrityError:
            continue  # another prompt took the same slug between our read and write
    else:
        prompt.slug = f"{seo.slugify_title(prompt.title)[:180]}-{uuid.uuid4().hex[:8]}"
        prompt.save()
    if replaced_draft_slug and replaced_draft_slug != prompt.slug:
        SlugRedirect.objects.update_or_create(old_slug=replaced_draft_slug, defaults={"prompt": prompt})


# --- Author actions ---------------------------------------------------------------------

def get_own_prompt(*, user, processing_uuid) -> Prompt:
    try:
        return Prompt.objects.get(processing_uuid=uuid.UUID(str(processing_uuid)), author=user)
    except (Prompt.DoesNotExist, ValueError):
        raise NotFound("This prompt was not found.")


def cancel_prompt(*, user, processing_uuid) -> Prompt:
    """Soft delete (trash). A running AI task sees `is_deleted` and stops."""
    from prompts.services import lifecycle

    prompt = get_own_prompt(user=user, processing_uuid=processing_uuid)
    return lifecycle.trash_prompt(prompt=prompt, cancelled_during_processing=not prompt.processing_complete)


def retry_ai_content(*, user, processing_uuid) -> Prompt:
    """'Try Again': queue the AI once more for a prompt that fell back or seems stuck."""
    prompt = get_own_prompt(user=user, processing_uuid=processing_uuid)
    return requeue_ai(prompt=prompt)


def requeue_ai(*, prompt: Prompt) -> Prompt:
    """Queue the AI task again, only if no task for this prompt is already waiting and the attempts
    are under the cap; a request while one waits changes nothing (the page keeps polling)."""
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
            transaction.on_commit(lambda: async_task("prompts.tasks.generate_ai_content", prompt_id,
                                                     task_name=f"ai_content_{prompt_id}"))
    prompt.refresh_from_db()
    if not claimed and prompt.ai_queued_at is None:  # e.g. the cap was reached meanwhile
        raise Conflict(TRIED_ENOUGH if prompt.ai_attempts >= AI_ATTEMPTS_CAP else "This prompt already has its details.")
    return prompt


TRIED_ENOUGH = "We've tried several times already. Our team will complete this prompt for you."


def status_of(*, user, processing_uuid) -> dict:
    """The status endpoint's answer (spec section 18), from one query while processing."""
    try:
        key = uuid.UUID(str(processing_uuid))
    except ValueError:
        raise NotFound("This prompt was not found.")
    ahead = (
        Prompt.objects.filter(processing_complete=False, is_deleted=False, created_on__lt=OuterRef("created_on"))
        .order_by().annotate(n=Func(F("id"), function="COUNT")).values("n")
    )
    row = (
        Prompt.objects.filter(processing_uuid=key, author=user, is_deleted=False)
        .annotate(ahead=Subquery(ahead))
        .values("id", "processing_complete", "created_on", "updated_on", "needs_seo_review", "title", "excerpt",
                "slug", "status", "moderation_status", "ahead")
        .first()
    )
    if row is None:
        raise NotFound("This prompt was not found.")
    if not row["processing_complete"]:
        now = timezone.now()
        started = max(row["created_on"], row["updated_on"]) if row["updated_on"] else row["created_on"]
        return {
            "processing_complete": False,
            "elapsed_seconds": round((now - row["created_on"]).total_seconds(), 1),
            **wait_estimate(ahead=row["ahead"] or 0, running_for=(now - started).total_seconds()),
        }
    from django.urls import reverse

    answer = {
        "processing_complete": True,
        "success": not row["needs_seo_review"],
        "title": row["title"],
        "description": row["excerpt"],
        "tags": list(Tag.objects.filter(taggit_taggeditem_items__object_id=row["id"],
                                        taggit_taggeditem_items__content_type__model="prompt")
                     .order_by("name").values_list("name", flat=True)),
        "slug": row["slug"],
        "final_url": reverse("prompt_detail", kwargs={"slug": row["slug"]}),
        "is_draft": row["status"] == Prompt.Status.DRAFT,
    }
    if row["needs_seo_review"]:
        answer["needs_review"] = True
    if row["moderation_status"] == Prompt.ModerationStatus.PENDING:
        answer["awaiting_moderation"] = True  # a draft the author cannot publish until staff approve it
    return answer


def limited_prompts(*, user):
    """The author's prompts that ended with limited details because the AI failed."""
    return Prompt.objects.filter(author=user, is_deleted=False, processing_complete=True, needs_seo_review=True,
                                 seo_review_reason__in=AI_FAILURE_REASONS).order_by("-created_on")


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
