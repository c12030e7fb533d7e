"""Read-side queries: what each page lists. Drafts and deleted prompts never appear in public lists."""
from django.db.models import QuerySet

from prompts.models import Prompt


def published_prompts() -> QuerySet[Prompt]:
    return Prompt.objects.filter(status=Prompt.Status.PUBLISHED, is_deleted=False).select_related("author")


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
