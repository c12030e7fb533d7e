"""Rate limits: may this caller do this once more now, and if not, for how long must they wait?

One result shape for every limit on the site (log-ins, comments, retries, uploads): a `Decision`
with `allowed`, `remaining` and `retry_after`, and one error, `RateLimited` (HTTP 429 with a
`Retry-After` header), raised by `Decision.raise_if_denied`.

Usage, for a limit on events that leave no row of their own (a request, a retry, a comment)::

    from prompts.services import ratelimit

    decision = ratelimit.hit(scope="prompt-retry", key=str(user.pk), limit=5, window=3600)
    decision.raise_if_denied("You've retried this too often. Please wait {wait} and try again.")
    # ... do the thing; decision.remaining says how many more this window allows

`peek` asks without counting, `reset` forgets a key's events, `undo` gives back the one event a
`hit` counted (a log-in that turned out to be right). Limits on things that *are* rows (uploads
created this week) count the rows and report through `from_timestamps`, so they answer in the
same shape.

How the window works: a sliding log kept in the shared cache. A key has `limit` slots; each
allowed hit claims a free slot with `cache.add` (atomic on the database cache, a primary-key
insert, and on Redis, SET NX) and stores its time, with a cache timeout of exactly `window`, so
each event is forgotten `window` seconds after it happened, whatever happens later. (The old
login counter used `cache.incr`, which on the database cache rewrites the entry with the cache's
default timeout, so every failure pushed the lockout to 30 minutes.) Claiming a slot before acting
means simultaneous requests cannot all slip past a check made before any of them was counted.
Limits of this design: on the database cache, a slot that has just expired can be claimed twice
by two truly simultaneous requests (one extra event); the database cache culls a third of its
entries when it holds more than MAX_ENTRIES, and Redis may evict under memory pressure, either of
which forgets events early.
"""

from __future__ import annotations

import hashlib
import math
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.core.cache import cache

from prompts.services.errors import RateLimited

_SCOPE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,40}$")


@dataclass(frozen=True)
class Decision:
    """The answer of a limit: `retry_after` is 0 when allowed, else whole seconds (at least 1)."""

    allowed: bool
    limit: int
    remaining: int
    retry_after: int
    # The cache slot a `hit` claimed, so `undo` can give exactly that event back.
    slot: str = field(default="", repr=False, compare=False)

    def raise_if_denied(self, message: str) -> None:
        """Raise `RateLimited`; `{wait}` in the message becomes the wait in words ("12 minutes")."""
        if not self.allowed:
            raise RateLimited(
                message.format(wait=wait_in_words(self.retry_after)),
                retry_after=self.retry_after,
            )


def wait_in_words(seconds: float) -> str:
    """Rounded up, so a person who waits that long is never refused again."""
    if seconds <= 90:
        value, unit = max(1, math.ceil(seconds)), "second"
    elif seconds <= 90 * 60:
        value, unit = math.ceil(seconds / 60), "minute"
    elif seconds <= 36 * 3600:
        value, unit = math.ceil(seconds / 3600), "hour"
    else:
        value, unit = math.ceil(seconds / 86400), "day"
    return f"{value} {unit}{'s' if value != 1 else ''}"


def _slots(scope: str, key: str, limit: int) -> list[str]:
    if not _SCOPE.match(scope):
        raise ValueError(f"A rate-limit scope is a short lowercase name, not {scope!r}.")
    if limit < 1:
        raise ValueError("A rate limit allows at least one event.")
    # Hashed: keys may hold user input of any length and any characters; cache keys may not.
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return [f"rl:{scope}:{digest}:{index}" for index in range(limit)]


def _live(slots: list[str], now: float, window: float) -> dict[str, float]:
    """The slots holding an event of the last `window` seconds, with the event's time."""
    found = cache.get_many(slots)
    return {slot: at for slot, at in found.items() if isinstance(at, (int, float)) and at > now - window}


def _denied(limit: int, oldest: float | None, now: float, window: float) -> Decision:
    wait = (oldest + window - now) if oldest is not None else 1
    return Decision(allowed=False, limit=limit, remaining=0, retry_after=max(1, math.ceil(wait)))


def hit(*, scope: str, key: str, limit: int, window: int) -> Decision:
    """Count one event for `key` if fewer than `limit` happened in the last `window` seconds.

    A denied hit counts nothing: waiting `retry_after` seconds is always enough.
    """
    slots = _slots(scope, key, limit)
    now = time.time()
    live = _live(slots, now, window)
    for slot in slots:
        if slot in live:
            continue
        if cache.add(slot, now, timeout=window):
            return Decision(
                allowed=True,
                limit=limit,
                remaining=limit - len(live) - 1,
                retry_after=0,
                slot=slot,
            )
        # Another request took this slot since we looked: note its event and try the next one.
        taken = cache.get(slot)
        live[slot] = taken if isinstance(taken, (int, float)) else now
    return _denied(limit, min(live.values(), default=None), now, window)


def peek(*, scope: str, key: str, limit: int, window: int) -> Decision:
    """What `hit` would answer now, without counting anything."""
    now = time.time()
    live = _live(_slots(scope, key, limit), now, window)
    if len(live) < limit:
        return Decision(allowed=True, limit=limit, remaining=limit - len(live), retry_after=0)
    return _denied(limit, min(live.values()), now, window)


def reset(*, scope: str, key: str, limit: int) -> None:
    """Forget every event of `key` (a correct password ends the count of wrong ones)."""
    cache.delete_many(_slots(scope, key, limit))


def undo(decision: Decision) -> None:
    """Give back the one event an allowed `hit` counted."""
    if decision.slot:
        cache.delete(decision.slot)


def from_timestamps(times: Iterable[datetime], *, limit: int, window: int, now: datetime) -> Decision:
    """The same answer for a limit counted from rows (e.g. their `created_at`) instead of the cache."""
    recent = sorted(at for at in times if (now - at).total_seconds() < window)
    if len(recent) < limit:
        return Decision(allowed=True, limit=limit, remaining=limit - len(recent), retry_after=0)
    # The wait ends when enough of the oldest events leave the window to make room for one more.
    freeing = recent[len(recent) - limit]
    wait = window - (now - freeing).total_seconds()
    return Decision(allowed=False, limit=limit, remaining=0, retry_after=max(1, math.ceil(wait)))
