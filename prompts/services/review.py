"""What staff decide about prompts: the SEO review queue, moderation decisions and appeals, bulk actions.

Completing a review is the human version of the AI task's finish: it fills the details, clears
the flag and publishes when the author wanted it and no moderation hold is pending. A title change
gives the prompt a new slug; the old one is kept as a `SlugRedirect`, so shared links keep working.
Every moderation decision writes a `ModerationDecision` row; the author sees its outcome once
(`take_unseen_outcomes`).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from taggit.models import Tag

from prompts.models import ModerationDecision, Prompt
from prompts.services import ai_content, media_files, seo, slugs, text, trash
from prompts.services.errors import Conflict, DomainError, InvalidInput, NotFound
from prompts.vocabulary import MAX_TAGS

logger = logging.getLogger(__name__)

# Outcomes the author is told about; an appeal is the author's own act.
AUTHOR_VISIBLE_ACTIONS = (
    ModerationDecision.Action.APPROVED,
    ModerationDecision.Action.REJECTED,
    ModerationDecision.Action.APPEAL_UPHELD,
    ModerationDecision.Action.APPEAL_DENIED,
)


@dataclass
class BulkResult:
    """What a bulk action did: how many prompts it changed, and why the others were skipped."""

    done: int = 0
    skipped: Counter = field(default_factory=Counter)  # reason (a sentence) -> count


# --- SEO review ---------------------------------------------------------------------------


def complete_seo_review(*, prompt: Prompt, reviewer, title: str, description: str, tags: list[Tag]) -> Prompt:
    """Fill in the details of a flagged prompt, clear the flag and publish it if the author asked to."""
    title = text.clean_title(title)
    description = text.clean_description(description)
    tags = list(tags)
    if not title:
        raise InvalidInput("Please write a title.")
    if not description:
        raise InvalidInput("Please write a description.")
    if not tags:
        raise InvalidInput("Please choose at least one tag.")
    if len(tags) > MAX_TAGS:
        raise InvalidInput(f"Choose at most {MAX_TAGS} tags.")
    with transaction.atomic():
        prompt = Prompt.objects.select_for_update().filter(id=prompt.id, is_deleted=False).first()
        if prompt is None:
            raise NotFound("This prompt was not found (it may have been moved to the trash).")
        title_changed = title != prompt.title
        prompt.title = title
        prompt.excerpt = description
        prompt.alt_text = seo.alt_text(title=title, generator_label=prompt.get_ai_generator_display())
        prompt.needs_seo_review = False
        prompt.seo_review_reason = ""
        prompt.ai_next_retry_at = None
        # The person's details win over an AI retry still in the queue: it will see "complete" and stop.
        prompt.processing_complete = True
        prompt.status = Prompt.Status.PUBLISHED if prompt.may_be_published() else Prompt.Status.DRAFT
        if title_changed or slugs.slug_needs_replacing(prompt):
            slugs.save_with_new_slug(prompt)
        else:
            prompt.save()
        prompt.tags.set(tags)
        media_files.place_media_soon(prompt)
    logger.info("prompt %s: SEO review completed by %s", prompt.id, getattr(reviewer, "username", reviewer))
    return prompt


# --- Moderation ---------------------------------------------------------------------------


def publishes_on_approval(prompt: Prompt) -> bool:
    """Whether approving would publish it now: the author wants it public and nothing else is missing."""
    return prompt.may_be_published(as_if_approved=True)


APPEAL_MAX = 500


def submit_appeal(*, user, prompt: Prompt, message: str) -> Prompt:
    """The author asks once for a held or rejected prompt to be looked at again."""
    message = " ".join((message or "").replace("\x00", "").split())  # PostgreSQL refuses NUL in text
    if not message:
        raise InvalidInput("Please tell us in a few words why we should look again.")
    if len(message) > APPEAL_MAX:
        raise InvalidInput(f"Please keep your appeal under {APPEAL_MAX} characters.")
    with transaction.atomic():
        locked = Prompt.objects.select_for_update().filter(id=prompt.id, author=user).first()
        if locked is None:
            raise NotFound("This prompt was not found.")
        if locked.appealed_at is not None:
            raise Conflict("You have already appealed this decision. A moderator will answer it.")
        if locked.moderation_status not in (Prompt.ModerationStatus.PENDING, Prompt.ModerationStatus.REJECTED):
            raise Conflict("There is no moderation decision to appeal for this prompt.")
        locked.appeal_message = message
        locked.appealed_at = timezone.now()
        # A rejected prompt waits in the trash (kept from the cleanup) until the appeal is answered.
        locked.moderation_status = Prompt.ModerationStatus.PENDING
        locked.save(update_fields=["appeal_message", "appealed_at", "moderation_status", "updated_on"])
        ModerationDecision.objects.create(
            prompt=locked,
            actor=user,
            action=ModerationDecision.Action.APPEALED,
            note=message,
            author_seen_at=timezone.now(),
        )
    return locked


def approve_moderation(*, prompt: Prompt, moderator, note: str = "") -> Prompt:
    with transaction.atomic():
        prompt = _pending(prompt)
        appeal = (
            prompt.appealed_at is not None
            and ModerationDecision.objects.filter(prompt=prompt, action=ModerationDecision.Action.REJECTED).exists()
        )
        if prompt.is_deleted:  # an upheld appeal brings a rejected prompt back out of the trash
            prompt.is_deleted, prompt.deleted_at = False, None
        prompt.moderation_status = Prompt.ModerationStatus.APPROVED
        if prompt.needs_seo_review and prompt.seo_review_reason == Prompt.ReviewReason.MODERATION:
            prompt.needs_seo_review = False
            prompt.seo_review_reason = ""
        prompt.status = Prompt.Status.PUBLISHED if prompt.may_be_published() else Prompt.Status.DRAFT
        if slugs.slug_needs_replacing(prompt):
            slugs.save_with_unique_slug(prompt)
        else:
            prompt.save()
        ModerationDecision.objects.create(
            prompt=prompt,
            actor=moderator,
            note=note.strip(),
            action=ModerationDecision.Action.APPEAL_UPHELD if appeal else ModerationDecision.Action.APPROVED,
        )
        media_files.place_media_soon(prompt)
    return prompt


def reject_moderation(*, prompt: Prompt, moderator, note: str) -> Prompt:
    """Reject a held prompt: it stays a draft, goes to the author's trash, and the author is told why."""
    note = (note or "").strip()
    if not note:
        raise InvalidInput("Please write a note for the author: why was it rejected?")
    with transaction.atomic():
        prompt = _pending(prompt)
        appeal = prompt.appealed_at is not None
        prompt.moderation_status = Prompt.ModerationStatus.REJECTED
        prompt.status = Prompt.Status.DRAFT
        prompt.save()
        ModerationDecision.objects.create(
            prompt=prompt,
            actor=moderator,
            note=note,
            action=ModerationDecision.Action.APPEAL_DENIED if appeal else ModerationDecision.Action.REJECTED,
        )
        prompt = trash.trash_prompt(prompt=prompt)
    return prompt


def _pending(prompt: Prompt) -> Prompt:
    """The prompt, locked, if it is waiting for a moderator; otherwise a Conflict."""
    locked = (
        Prompt.objects.select_for_update()
        .filter(Q(is_deleted=False) | Q(appealed_at__isnull=False), id=prompt.id)
        .first()
    )
    if locked is None:
        raise NotFound("This prompt was not found (it may have been moved to the trash).")
    if locked.moderation_status != Prompt.ModerationStatus.PENDING:
        raise Conflict("This prompt is not waiting for moderation.")
    return locked


def take_unseen_outcomes(*, user) -> list[tuple[str, str]]:
    """The moderation outcomes `user` has not seen yet, as (level, message); marks them seen.

    Each is claimed with a conditional update, so two pages rendered at once show it only once.
    """
    if not user.is_authenticated:
        return []
    unseen = (
        ModerationDecision.objects.filter(
            prompt__author=user, author_seen_at__isnull=True, action__in=AUTHOR_VISIBLE_ACTIONS
        )
        .select_related("prompt")
        .order_by("created_at")
    )
    notices = []
    for decision in unseen:
        claimed = ModerationDecision.objects.filter(id=decision.id, author_seen_at__isnull=True).update(
            author_seen_at=timezone.now()
        )
        if claimed:
            notices.append(outcome_message(decision))
    return notices


def outcome_message(decision: ModerationDecision) -> tuple[str, str]:
    """What the author reads about a decision: (message level, text)."""
    prompt = decision.prompt
    title = f"“{prompt.title}”"
    note = f" Note from the moderator: {decision.note}" if decision.note else ""
    if decision.action in (ModerationDecision.Action.APPROVED, ModerationDecision.Action.APPEAL_UPHELD):
        opening = (
            "A moderator approved your prompt"
            if decision.action == ModerationDecision.Action.APPROVED
            else "Your appeal was accepted for"
        )
        state = "It is now published." if prompt.is_published else "It is saved as a draft: only you can see it."
        return "success", f"{opening} {title}. {state}{note}"
    if decision.action == ModerationDecision.Action.REJECTED:
        where = " It was moved to your trash." if prompt.is_deleted else ""
        return "warning", f"A moderator rejected your prompt {title}.{where}{note}"
    return "warning", f"Your appeal for {title} was not accepted.{note}"


# --- Bulk actions (the Prompt changelist) ------------------------------------------------------


def retry_ai(*, prompts: Iterable[Prompt]) -> BulkResult:
    """Queue the AI content task again for each prompt, within `ai_content.requeue_ai`'s limits."""
    return _each(prompts, lambda prompt: ai_content.requeue_ai(prompt=prompt))


def approve_many(*, prompts: Iterable[Prompt], moderator) -> BulkResult:
    return _each(prompts, lambda prompt: approve_moderation(prompt=prompt, moderator=moderator))


def reject_many(*, prompts: Iterable[Prompt], moderator, note: str) -> BulkResult:
    if not (note or "").strip():
        raise InvalidInput("Please write a note for the authors: why were these rejected?")
    return _each(prompts, lambda prompt: reject_moderation(prompt=prompt, moderator=moderator, note=note))


def publish_prompt(*, prompt: Prompt) -> Prompt:
    """Publish a finished prompt that nothing holds back; the author's choice of draft is respected."""
    with transaction.atomic():
        prompt = Prompt.objects.select_for_update().filter(id=prompt.id, is_deleted=False).first()
        if prompt is None:
            raise NotFound("This prompt is in the trash.")
        if prompt.status == Prompt.Status.PUBLISHED:
            raise Conflict("It is already published.")
        blockers = prompt.publish_blockers()
        if blockers:
            raise Conflict(blockers[0])
        if not prompt.publish_requested:
            raise Conflict("Its author chose to keep it as a draft.")
        prompt.status = Prompt.Status.PUBLISHED
        if slugs.slug_needs_replacing(prompt):
            slugs.save_with_unique_slug(prompt)
        else:
            prompt.save()
        media_files.place_media_soon(prompt)
    return prompt


def publish_many(*, prompts: Iterable[Prompt]) -> BulkResult:
    return _each(prompts, lambda prompt: publish_prompt(prompt=prompt))


def _each(prompts: Iterable[Prompt], action) -> BulkResult:
    result = BulkResult()
    for prompt in prompts:
        try:
            action(prompt)
        except DomainError as exc:
            result.skipped[exc.message] += 1
        else:
            result.done += 1
    return result
