"""Trending: likes and views of the last 7 days, kept as one number per prompt.

Summing a week of likes and views for every prompt on every page view would not stay fast at a
million prompts, so a scheduled task (every 10 minutes) writes the score to
`Prompt.trending_score`, which the trending feed pages through with an index. Between two runs
the order is at most 10 minutes old.
"""

from collections import defaultdict
from datetime import timedelta

from django.db import connection, transaction
from django.db.models import Count, Sum
from django.utils import timezone

from prompts.models import Like, Prompt, PromptDailyViews

WINDOW = timedelta(days=7)
# A like is a deliberate act; a view may be a glance.
LIKE_WEIGHT = 5


def count_daily_view(*, prompt_id: int) -> None:
    """One more view today (UTC) for the trending score; one upsert, no read."""
    table = PromptDailyViews._meta.db_table
    with connection.cursor() as cursor:
        # Same SQL on PostgreSQL and SQLite (>= 3.24): the unique (prompt, day) row is the counter.
        cursor.execute(
            f"INSERT INTO {table} (prompt_id, day, views) VALUES (%s, %s, 1) "
            f"ON CONFLICT (prompt_id, day) DO UPDATE SET views = {table}.views + 1",
            [prompt_id, timezone.now().date()],
        )


def trending_scores(*, now=None) -> dict[int, int]:
    now = now or timezone.now()
    since = now - WINDOW
    scores: dict[int, int] = defaultdict(int)
    likes = Like.objects.filter(created_at__gte=since).values("prompt_id").annotate(n=Count("id"))
    for row in likes:
        scores[row["prompt_id"]] += LIKE_WEIGHT * row["n"]
    views = PromptDailyViews.objects.filter(day__gte=since.date()).values("prompt_id").annotate(n=Sum("views"))
    for row in views:
        scores[row["prompt_id"]] += row["n"]
    return scores


def refresh_trending(*, now=None) -> dict:
    """Write the current scores; prompts that fell out of the window go back to 0."""
    now = now or timezone.now()
    scores = trending_scores(now=now)
    with transaction.atomic():
        current = dict(Prompt.objects.filter(trending_score__gt=0).values_list("id", "trending_score"))
        stale = [prompt_id for prompt_id in current if prompt_id not in scores]
        for start in range(0, len(stale), 1000):
            Prompt.objects.filter(id__in=stale[start : start + 1000]).update(trending_score=0)
        changed = [(prompt_id, score) for prompt_id, score in scores.items() if current.get(prompt_id) != score]
        Prompt.objects.bulk_update(
            [Prompt(id=prompt_id, trending_score=score) for prompt_id, score in changed],
            ["trending_score"],
            batch_size=500,
        )
    PromptDailyViews.objects.filter(day__lt=(now - 2 * WINDOW).date()).delete()
    return {"scored": len(scores), "changed": len(changed), "reset": len(stale)}
