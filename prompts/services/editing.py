"""What the author may change on their own prompt: its details, its text, and whether it is public."""

from django.db import transaction
from taggit.models import Tag

from prompts.models import Prompt
from prompts.services import media_files, seo, slugs, text
from prompts.services.errors import Conflict, NotFound
from prompts.vocabulary import MAX_TAGS


def edit_prompt(
    *, prompt: Prompt, title: str, description: str, tags: list[Tag], content: str, ai_generator: str, publish: bool
) -> Prompt:
    """Save the author's fields. Completing the missing details clears an SEO-review flag.

    A prompt held for moderation stays a draft whatever the author asks; it is published when a
    moderator approves it, if the author asked for that.
    """
    with transaction.atomic():
        prompt = Prompt.objects.select_for_update().get(id=prompt.id)
        prompt.title = text.clean_title(title) or prompt.title
        prompt.excerpt = text.clean_description(description)
        prompt.content = content.strip() or prompt.content
        prompt.ai_generator = ai_generator
        prompt.alt_text = seo.alt_text(title=prompt.title, generator_label=prompt.get_ai_generator_display())
        prompt.publish_requested = publish
        if prompt.needs_details and prompt.title and prompt.excerpt:  # tags are welcome, not required
            prompt.needs_seo_review = False
            prompt.seo_review_reason = ""
            prompt.ai_next_retry_at = None
        prompt.status = Prompt.Status.PUBLISHED if prompt.may_be_published() else Prompt.Status.DRAFT
        if slugs.slug_needs_replacing(prompt):
            slugs.save_with_unique_slug(prompt)
        else:
            prompt.save()
        prompt.tags.set(tags[:MAX_TAGS])
        media_files.place_media_soon(prompt)  # published or unpublished: its files follow
    return prompt


def publish_prompt(*, user, processing_uuid) -> Prompt:
    """The author's Publish on a draft: public now, under its clean slug, unless something stops it."""
    with transaction.atomic():
        prompt = (
            Prompt.objects.select_for_update()
            .filter(processing_uuid=processing_uuid, author=user, is_deleted=False)
            .first()
        )
        if prompt is None:
            raise NotFound("This prompt was not found.")
        blockers = prompt.publish_blockers()
        if blockers:
            raise Conflict("This prompt can't be published yet. " + " ".join(blockers))
        prompt.publish_requested = True
        prompt.status = Prompt.Status.PUBLISHED
        if slugs.slug_needs_replacing(prompt):
            slugs.save_with_unique_slug(prompt)  # the draft slug becomes the clean one and redirects to it
        else:
            prompt.save()
        media_files.place_media_soon(prompt)
    return prompt


def draft_reasons(prompt: Prompt) -> list[str]:
    """Why the author's prompt is not public, in the author's words; [] when it is public."""
    if prompt.is_published or prompt.is_deleted:
        return []
    reasons = []
    if not prompt.processing_complete:
        reasons.append("It is still being processed.")
    if prompt.is_held:
        reasons.append("A moderator has to look at the image first.")
    if prompt.needs_details:
        reasons.append(
            "We couldn't generate its title or description automatically. Complete the details to publish it."
        )
    if not prompt.publish_requested:
        reasons.append("You chose “Save as draft”.")
    return reasons or prompt.publish_blockers()
