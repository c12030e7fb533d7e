"""Read-side queries: what each page lists. Drafts and deleted prompts never appear in public lists."""
from django.db.models import Q, QuerySet

from prompts.models import Prompt

HELD = (Prompt.ModerationStatus.PENDING, Prompt.ModerationStatus.REJECTED)


def published_prompts() -> QuerySet[Prompt]:
    """What anyone may see in a list: published, not in the trash, not held by a moderator."""
    return (Prompt.objects.filter(status=Prompt.Status.PUBLISHED, is_deleted=False)
            .exclude(moderation_status__in=HELD).select_related("author"))


def prompt_visible_to(*, slug: str, user) -> Prompt | None:
    """The prompt at `slug` if `user` may see it: published for everyone, drafts for the author and staff."""
    prompt = Prompt.objects.select_related("author").filter(slug=slug).first()
    if prompt is None:
        return None
    if prompt.is_published:
        return prompt
    if user.is_authenticated and (user.pk == prompt.author_id or user.is_staff):
        return prompt
    return None


def own_prompt(*, user, processing_uuid, include_deleted: bool = False) -> Prompt | None:
    """The author's own prompt by its processing UUID (anyone else: None, i.e. 404); trashed ones
    only when asked for (an appeal of a rejection is made from the trash)."""
    prompts = Prompt.objects.select_related("author").filter(processing_uuid=processing_uuid, author=user)
    if not include_deleted:
        prompts = prompts.filter(is_deleted=False)
    return prompts.first()


def more_from_author(prompt: Prompt, *, limit: int = 4) -> list[Prompt]:
    return list(published_prompts().filter(author_id=prompt.author_id).exclude(id=prompt.id)[:limit])


def ready_upload_for(*, user, upload_id):
    """A ready upload of this user (to show again when the upload form comes back with errors)."""
    import uuid

    from prompts.models import Upload

    try:
        key = uuid.UUID(str(upload_id))
    except (ValueError, TypeError):
        return None
    return Upload.objects.filter(id=key, owner=user, state=Upload.State.READY).first()


def trash_for(*, user) -> list[dict]:
    """The author's trashed prompts, newest first, with the days left to restore each."""
    from datetime import timedelta

    from django.utils import timezone

    from prompts.services.lifecycle import retention_days

    days = retention_days(user)
    now = timezone.now()
    items = []
    for prompt in Prompt.objects.filter(author=user, is_deleted=True).order_by("-deleted_at"):
        left = prompt.deleted_at + timedelta(days=days) - now
        items.append({
            "prompt": prompt,
            "days_left": max(0, left.days + (1 if left.seconds else 0)) if left.total_seconds() > 0 else 0,
            "restorable": left.total_seconds() > 0 and prompt.files_deleted_at is None,
        })
    return items


def prompt_for_old_slug(slug: str) -> Prompt | None:
    """A published prompt whose slug changed from `slug` (old URLs keep working)."""
    from prompts.models import SlugRedirect

    redirect = SlugRedirect.objects.select_related("prompt").filter(old_slug=slug).first()
    if redirect is None or not redirect.prompt.is_published or not redirect.prompt.slug:
        return None
    return redirect.prompt


def seo_review_queue() -> QuerySet[Prompt]:
    """Prompts whose details a person must complete (spec section 8), oldest first."""
    return (
        Prompt.objects.filter(needs_seo_review=True, is_deleted=False)
        .select_related("author").order_by("created_on")
    )


def moderation_queue() -> QuerySet[Prompt]:
    """Prompts held for a moderator's decision, oldest first."""
    return (
        Prompt.objects.filter(moderation_status=Prompt.ModerationStatus.PENDING)
        .filter(Q(is_deleted=False) | Q(appealed_at__isnull=False))  # appeals of rejections wait in the trash
        .select_related("author").order_by("created_on")
    )


NEAR_DUPLICATE_DISTANCE = 6


def near_duplicates(prompt: Prompt, *, limit: int = 5, scan: int = 20_000) -> list[tuple[Prompt, int]]:
    """Other prompts whose image looks the same (dHash within 6 bits), closest first: for moderators."""
    from prompts.media.metadata import hamming

    if prompt.dhash is None:
        return []
    candidates = (
        Prompt.objects.filter(dhash__isnull=False, is_deleted=False).exclude(id=prompt.id)
        .order_by("-created_on").values_list("id", "dhash")[:scan]
    )
    close = sorted((hamming(prompt.dhash, other), other_id) for other_id, other in candidates
                   if hamming(prompt.dhash, other) <= NEAR_DUPLICATE_DISTANCE)[:limit]
    found = Prompt.objects.select_related("author").in_bulk([other_id for _, other_id in close])
    return [(found[other_id], distance) for distance, other_id in close if other_id in found]
