"""What each plan allows: free and premium accounts differ in upload limits and trash retention."""

from __future__ import annotations

from django.db.models import QuerySet

from prompts.models import Profile

FREE_RETENTION_DAYS = 5
PREMIUM_RETENTION_DAYS = 30


def is_premium(user) -> bool:
    return (
        bool(getattr(user, "is_authenticated", False)) and Profile.objects.filter(user=user, is_premium=True).exists()
    )


def premium_user_ids() -> QuerySet:
    """The ids of premium users, as a subquery for filters over many authors at once."""
    return Profile.objects.filter(is_premium=True).values("user_id")


def retention_days(user) -> int:
    """How many days a trashed prompt of `user` can be restored."""
    return PREMIUM_RETENTION_DAYS if is_premium(user) else FREE_RETENTION_DAYS
