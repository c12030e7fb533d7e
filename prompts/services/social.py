"""Likes, comments, collections and view counts on published prompts."""

import hashlib
import hmac
import re

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from prompts.models import Collection, Comment, Like, Prompt, PromptView
from prompts.permissions import can_moderate
from prompts.services import ratelimit, trending
from prompts.services.errors import InvalidInput, NotFound

BOT_AGENTS = re.compile(
    r"bot|crawl|spider|slurp|preview|fetch|monitor|headless|python-requests|curl|wget", re.IGNORECASE
)
MAX_COMMENT = 2000
# A conversation rarely needs more than this; a script posting 40 comments in 3 seconds is stopped
# after the tenth and told when it may post again.
COMMENT_LIMIT = 10
COMMENT_WINDOW_SECONDS = 10 * 60
COMMENT_TOO_FAST = "You're commenting too fast. Please wait {wait} before posting again (your comment is kept below)."


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
    ratelimit.hit(
        scope="comment", key=str(user.pk), limit=COMMENT_LIMIT, window=COMMENT_WINDOW_SECONDS
    ).raise_if_denied(COMMENT_TOO_FAST)
    return Comment.objects.create(author=user, prompt=prompt, body=body)


def delete_comment(*, user, comment_id: int) -> Prompt:
    """The comment's author, the prompt's author and moderators may delete a comment."""
    comment = Comment.objects.select_related("prompt").filter(id=comment_id).first()
    if comment is None or not (user.pk in (comment.author_id, comment.prompt.author_id) or can_moderate(user)):
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


def visitor_id(*, user, address: str) -> str:
    """Who is looking, as a keyed hash (no address is stored): the account when logged in, else the
    client address. Cookies are not used: a client that drops them would count again."""
    who = f"user:{user.pk}" if user.is_authenticated else f"addr:{address}"
    return hmac.new(settings.SECRET_KEY.encode(), who.encode(), hashlib.sha256).hexdigest()[:40]


def record_view(*, prompt: Prompt, user, address: str, user_agent: str) -> bool:
    """Count a view once per visitor per day (UTC), never the author's own nor a bot's."""
    if user.is_authenticated and user.pk == prompt.author_id:
        return False
    if not user_agent or BOT_AGENTS.search(user_agent):
        return False
    # The unique (prompt, visitor, day) row is the "already counted" mark: a reload, or the same
    # visitor in two tabs at once, meets the constraint and counts nothing. One INSERT ... ON
    # CONFLICT DO NOTHING (PostgreSQL and SQLite alike) says by its row count whether this view is
    # new, without the savepoint a caught IntegrityError would need on every page view.
    table = connection.ops.quote_name(PromptView._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (prompt_id, visitor, day) VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
            [
                prompt.id,
                visitor_id(user=user, address=address),
                connection.ops.adapt_datefield_value(timezone.now().date()),
            ],
        )
        if cursor.rowcount != 1:
            return False
    Prompt.objects.filter(id=prompt.id).update(view_count=F("view_count") + 1)
    trending.count_daily_view(prompt_id=prompt.id)
    return True


def purge_view_marks() -> int:
    """Drop the marks of past days: only today's are consulted (a daily task)."""
    deleted, _ = PromptView.objects.filter(day__lt=timezone.now().date()).delete()
    return deleted
