"""The author's edits, and the staff review that completes a flagged prompt."""
from django.db import transaction
from taggit.models import Tag

from prompts.models import Prompt
from prompts.services import lifecycle, seo
from prompts.services.processing import (
    _save_with_unique_slug,
    clean_text,
    clean_title,
    slug_needs_replacing,
)


def edit_prompt(*, prompt: Prompt, title: str, description: str, tags: list[Tag], content: str, ai_generator: str,
                publish: bool) -> Prompt:
    """Save the author's fields. Completing the missing details clears an SEO-review flag.

    A prompt held for moderation stays a draft whatever the author asks; it is published when a
    moderator approves it, if the author asked for that.
    """
    with transaction.atomic():
        prompt = Prompt.objects.select_for_update().get(id=prompt.id)
        prompt.title = clean_title(title) or prompt.title
        prompt.excerpt = clean_text(description, limit=2000)
        prompt.content = content.strip() or prompt.content
        prompt.ai_generator = ai_generator
        prompt.alt_text = seo.alt_text(title=prompt.title, generator_label=prompt.get_ai_generator_display())
        prompt.publish_requested = publish
        if prompt.needs_seo_review and prompt.seo_review_reason != Prompt.ReviewReason.MODERATION:
            if prompt.title and prompt.excerpt and tags:
                prompt.needs_seo_review = False
                prompt.seo_review_reason = ""
                prompt.ai_next_retry_at = None
        held = prompt.moderation_status in (Prompt.ModerationStatus.PENDING, Prompt.ModerationStatus.REJECTED)
        can_publish = publish and not held and prompt.processing_complete and not prompt.needs_seo_review
        prompt.status = Prompt.Status.PUBLISHED if can_publish else Prompt.Status.DRAFT
        if slug_needs_replacing(prompt):
            _save_with_unique_slug(prompt)
        else:
            prompt.save()
        prompt.tags.set(tags[:5])
        lifecycle.place_media_soon(prompt)  # published or unpublished: its files follow
    return prompt
