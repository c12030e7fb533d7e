"""Likes, comments, collections and view counts on published prompts."""
import re

from django.db import IntegrityError, transaction
from django.db.models import F

from prompts.models import Collection, Comment, Like, Prompt
from prompts.services import trending
from prompts.services.errors import InvalidInput, NotFound

BOT_AGENTS = re.compile(r"bot|crawl|spider|slurp|preview|fetch|monitor|headless|python-requests|curl|wget", re.I)
MAX_COMMENT = 2000


def toggle_like(*, user, prompt: Prompt) -> tuple[bool, int]:
    """Like or unlike; returns (liked now, like count)."""
    with transaction.atomic():
        deleted, _ = Like.objects.filter(user=user, prompt=prompt).delete()
        liked = False
        if not deleted:
            try:
                with transaction.atomic():
                    Like.objects.create(user=user, prompt=prompt)
                liked = True
            except IntegrityError:  # a double click raced us: it is liked
                liked = True
    return liked, Like.objects.filter(prompt=prompt).count()


def add_comment(*, user, prompt: Prompt, body: str) -> Comment:
    body = (body or "").replace("\x00", "").strip()  # PostgreSQL refuses NUL in text
    if not body:
        raise InvalidInput("Please write something before posting.")
    if len(body) > MAX_COMMENT:
        raise InvalidInput(f"Comments can be at most {MAX_COMMENT:,} characters.")
    return Comment.objects.create(author=user, prompt=prompt, body=body)


def delete_comment(*, user, comment_id: int) -> Prompt:
    """The comment's author, the prompt's author and staff may delete a comment."""
    comment = Comment.objects.select_related("prompt").filter(id=comment_id).first()
    if comment is None or not (user.is_staff or user.pk in (comment.author_id, comment.prompt.author_id)):
        raise NotFound("This comment was not found.")
    prompt = comment.prompt
    comment.delete()
    return prompt


def save_to_collection(*, user, prompt: Prompt, collection_id: int | None = None, new_name: str = "") -> Collection:
    new_name = " ".join((new_name or "").replace("\x00", "").split())[:80]
    if new_name:
        collection, _ = Collection.objects.get_or_create(owner=user, name=new_name)
    else:
        collection = Collection.objects.filter(owner=user, id=collection_id).first()
        if collection is None:
            raise NotFound("Choose one of your collections or name a new one.")
    collection.prompts.add(prompt)
    return collection


def record_view(*, prompt: Prompt, user, user_agent: str) -> None:
    """Count a view, unless it is the author's own or a bot's."""
    if user.is_authenticated and user.pk == prompt.author_id:
        return
    if not user_agent or BOT_AGENTS.search(user_agent):
        return
    Prompt.objects.filter(id=prompt.id).update(view_count=F("view_count") + 1)
    trending.count_daily_view(prompt_id=prompt.id)
