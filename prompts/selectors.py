"""Read-side queries: what each page lists. Drafts and deleted prompts never appear in public lists."""

import asyncio
import functools
import math
import threading
import time
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from taggit.models import Tag

from prompts import wakeups
from prompts.media.metadata import hamming
from prompts.models import Prompt, SlugRedirect, Upload
from prompts.permissions import can_moderate
from prompts.services.errors import NotFound
from prompts.services.plans import retention_days

HELD = (Prompt.ModerationStatus.PENDING, Prompt.ModerationStatus.REJECTED)


def published_prompts() -> QuerySet[Prompt]:
    """What anyone may see in a list: published, not in the trash, not held by a moderator."""
    return (
        Prompt.objects.filter(status=Prompt.Status.PUBLISHED, is_deleted=False)
        .exclude(moderation_status__in=HELD)
        .select_related("author")
    )


def prompt_visible_to(*, slug: str, user) -> Prompt | None:
    """The prompt at `slug` if `user` may see it: published for everyone, unpublished ones for the
    author and moderators."""
    prompt = Prompt.objects.select_related("author").filter(slug=slug).first()
    if prompt is None:
        return None
    if prompt.is_published:
        return prompt
    if user.is_authenticated and (user.pk == prompt.author_id or can_moderate(user)):
        return prompt
    return None


def own_prompt(*, user, processing_uuid, include_deleted: bool = False) -> Prompt | None:
    """The author's own prompt by its processing UUID (anyone else: None, i.e. 404); trashed ones
    only when asked for (an appeal of a rejection is made from the trash)."""
    try:
        processing_uuid = uuid.UUID(str(processing_uuid))
    except ValueError:
        return None
    prompts = Prompt.objects.select_related("author").filter(processing_uuid=processing_uuid, author=user)
    if not include_deleted:
        prompts = prompts.filter(is_deleted=False)
    return prompts.first()


def more_from_author(prompt: Prompt, *, limit: int = 4) -> list[Prompt]:
    return list(published_prompts().filter(author_id=prompt.author_id).exclude(id=prompt.id)[:limit])


def ready_upload_for(*, user, upload_id):
    """A ready upload of this user (to show again when the upload form comes back with errors)."""
    try:
        key = uuid.UUID(str(upload_id))
    except (ValueError, TypeError):
        return None
    return Upload.objects.filter(id=key, owner=user, state=Upload.State.READY).first()


def trash_for(*, user) -> list[dict]:
    """The author's trashed prompts, newest first, with the days left and whether each can be restored."""
    days = retention_days(user)
    now = timezone.now()
    items = []
    for prompt in Prompt.objects.filter(author=user, is_deleted=True).order_by("-deleted_at"):
        left = (prompt.deleted_at + timedelta(days=days) - now).total_seconds()
        items.append(
            {
                "prompt": prompt,
                "days_left": math.ceil(left / 86400) if left > 0 else 0,
                "restore_blocker": prompt.restore_blocker(retention_days=days, now=now),
            }
        )
    return items


def prompt_for_old_slug(slug: str) -> Prompt | None:
    """A published prompt whose slug changed from `slug` (old URLs keep working)."""
    redirect = SlugRedirect.objects.select_related("prompt").filter(old_slug=slug).first()
    if redirect is None or not redirect.prompt.is_published or not redirect.prompt.slug:
        return None
    return redirect.prompt


def seo_review_queue() -> QuerySet[Prompt]:
    """Prompts whose details a person must complete (the SEO review queue), oldest first."""
    return (
        Prompt.objects.filter(needs_seo_review=True, is_deleted=False).select_related("author").order_by("created_on")
    )


def moderation_queue() -> QuerySet[Prompt]:
    """Prompts held for a moderator's decision, oldest first."""
    return (
        Prompt.objects.filter(moderation_status=Prompt.ModerationStatus.PENDING)
        .filter(Q(is_deleted=False) | Q(appealed_at__isnull=False))  # appeals of rejections wait in the trash
        .select_related("author")
        .order_by("created_on")
    )


NEAR_DUPLICATE_DISTANCE = 6


def near_duplicates(prompt: Prompt, *, limit: int = 5, scan: int = 20_000) -> list[tuple[Prompt, int]]:
    """Other prompts whose image looks the same (dHash within 6 bits), closest first: for moderators."""
    if prompt.dhash is None:
        return []
    candidates = (
        Prompt.objects.filter(dhash__isnull=False, is_deleted=False)
        .exclude(id=prompt.id)
        .order_by("-created_on")
        .values_list("id", "dhash")[:scan]
    )
    close = sorted(
        (hamming(prompt.dhash, other), other_id)
        for other_id, other in candidates
        if hamming(prompt.dhash, other) <= NEAR_DUPLICATE_DISTANCE
    )[:limit]
    found = Prompt.objects.select_related("author").in_bulk([other_id for _, other_id in close])
    return [(found[other_id], distance) for distance, other_id in close if other_id in found]


def may_see_media(*, user, key: str) -> bool:
    """Whether `user` may fetch the private media file at `key` (anything not under public/).

    Upload files (`uploads/<upload id>/...`) and files moved back from the public area
    (`prompts/<processing uuid>/...`) belong to one author: they, and staff, may see them; anyone may
    while the prompt is published (its files are being moved to public/). The bytes a browser PUT
    (`incoming.*`) were never checked and are served to nobody.
    """
    area, _, rest = key.partition("/")
    owner_id, name = rest.partition("/")[0], rest.partition("/")[2]
    if not name or "/" in name or name.startswith("incoming."):
        return False
    try:
        owner_uuid = uuid.UUID(owner_id)
    except ValueError:
        return False
    if area == "uploads":
        upload = Upload.objects.filter(id=owner_uuid).values("owner_id", "state").first()
        if upload is not None and upload.get("state") == Upload.State.REJECTED:
            return False  # refused by moderation: its files are being deleted, and served to nobody
        author_id = upload["owner_id"] if upload else None
        prompt = Prompt.objects.filter(upload_id=owner_uuid).only("status", "is_deleted", "author_id").first()
    elif area == "prompts":
        prompt = Prompt.objects.filter(processing_uuid=owner_uuid).only("status", "is_deleted", "author_id").first()
        author_id = prompt.author_id if prompt else None
    else:
        return False
    if author_id is None:
        return False
    if prompt is not None and prompt.is_published:
        return True
    return user.is_authenticated and (user.pk == author_id or can_moderate(user))


# --- The processing page's status -------------------------------------------------------------
# Read by the status endpoint every few seconds (or held open as a long poll): one query while the
# prompt is processing.

LONG_POLL_MAX_SECONDS = 20.0
# Without wake-ups (SQLite, CRITICAL_PATH_SEQUENTIAL=1, the LISTEN connection down) a waiting request
# re-reads the status this often; with them, only this often (a reconnected listener wakes everyone).
LONG_POLL_INTERVAL_SECONDS = 0.2
LONG_POLL_FALLBACK_SECONDS = 20.0
TYPICAL_DEFAULT_SECONDS = 8.0
_TYPICAL = {"value": None, "at": 0.0}
_LONG_POLLS = threading.BoundedSemaphore(max(1, settings.PROCESSING_LONG_POLLS_PER_PROCESS))
_ASYNC_LONG_POLLS = {"waiting": 0}


def _status_key(processing_uuid) -> uuid.UUID:
    try:
        return uuid.UUID(str(processing_uuid))
    except ValueError:
        raise NotFound("This prompt was not found.") from None


_STATUS_FIELDS = (
    "id",
    "processing_complete",
    "created_on",
    "updated_on",
    "needs_seo_review",
    "title",
    "excerpt",
    "slug",
    "status",
    "moderation_status",
    "ai_attempts",
    "ai_queued_at",
    "ahead",
)


@functools.cache
def _status_sql() -> str:
    """status_of's one query, written out once: the prompt's fields and how many unfinished prompts came
    before it. The ORM built the same query on every call for 1.3 ms of CPU, a third of what a waiting
    page's poll costs the web process (bench/status_load.py); a raw query still converts the fields."""
    quote = connection.ops.quote_name
    table = quote(Prompt._meta.db_table)

    def column(name: str) -> str:
        return quote(Prompt._meta.get_field(name).column)

    fields = ", ".join(f"p.{column(name)}" for name in _STATUS_FIELDS if name != "ahead")
    return (
        f"SELECT {fields}, (SELECT COUNT(*) FROM {table} q WHERE NOT q.{column('processing_complete')}"
        f" AND NOT q.{column('is_deleted')} AND q.{column('created_on')} < p.{column('created_on')}) AS ahead"
        f" FROM {table} p WHERE p.{column('processing_uuid')} = %s AND p.{column('author')} = %s"
        f" AND NOT p.{column('is_deleted')}"
    )


# A prompt completed this recently was being waited for: the person is on their way from Submit.
JUST_COMPLETED = timedelta(seconds=30)


def just_completed_status(*, user, prompt: Prompt) -> dict | None:
    """The status answer for a prompt that completed moments ago (with a fast AI it is often done before
    its processing page is rendered), for the page to carry: processing.js opens the completion modal
    from it without asking the status endpoint. None otherwise: opened later, the page shows the
    outcome without the modal."""
    completed = prompt.processing_completed_at
    if not prompt.processing_complete or completed is None or timezone.now() - completed > JUST_COMPLETED:
        return None
    return status_of(user=user, processing_uuid=prompt.processing_uuid)


def status_of(*, user, processing_uuid) -> dict:
    """The status endpoint's answer: progress and wait estimate while processing, the outcome after."""
    key = _status_key(processing_uuid)
    uuid_field = Prompt._meta.get_field("processing_uuid")
    found = Prompt.objects.raw(_status_sql(), [uuid_field.get_db_prep_value(key, connection), user.pk])
    row = next(({name: getattr(p, name) for name in _STATUS_FIELDS} for p in found), None)
    if row is None:
        raise NotFound("This prompt was not found.")
    if not row["processing_complete"]:
        now = timezone.now()
        started = max(row["created_on"], row["updated_on"]) if row["updated_on"] else row["created_on"]
        return {
            "processing_complete": False,
            "elapsed_seconds": round((now - row["created_on"]).total_seconds(), 1),
            # The AI task is being tried again (it was lost with a worker, or failed on an outage and
            # was queued again): the page keeps waiting past its usual limit.
            "retrying": row["ai_attempts"] >= 2 or (row["ai_attempts"] >= 1 and row["ai_queued_at"] is not None),
            **wait_estimate(ahead=row["ahead"] or 0, running_for=(now - started).total_seconds()),
        }
    answer = {
        "processing_complete": True,
        "success": not row["needs_seo_review"],
        "title": row["title"],
        "description": row["excerpt"],
        "tags": list(
            Tag.objects.filter(
                taggit_taggeditem_items__object_id=row["id"], taggit_taggeditem_items__content_type__model="prompt"
            )
            .order_by("name")
            .values_list("name", flat=True)
        ),
        "slug": row["slug"],
        "final_url": reverse("prompt_detail", kwargs={"slug": row["slug"]}),
        "is_draft": row["status"] == Prompt.Status.DRAFT,
    }
    if row["needs_seo_review"]:
        answer["needs_review"] = True
    if row["moderation_status"] == Prompt.ModerationStatus.PENDING:
        answer["awaiting_moderation"] = True  # a draft the author cannot publish until staff approve it
    return answer


def _recheck_period() -> float:
    return LONG_POLL_FALLBACK_SECONDS if wakeups.prompt_done.listening else LONG_POLL_INTERVAL_SECONDS


def wait_for_status(*, user, processing_uuid, wait_seconds: float) -> dict:
    """Long poll: answer as soon as the prompt is complete, or after `wait_seconds` at most.

    Woken by the prompt's PROMPT_DONE notification on PostgreSQL (prompts/wakeups.py), re-reading on a
    short poll where there is none. Each waiting request holds the thread it runs on, so only a few may
    wait per process: past that, the answer comes at once with "waited": false and the page falls back
    to polling every few seconds. (Under the ASGI worker the endpoint waits in `StatusWait`, without
    a thread.)
    """
    key = _status_key(processing_uuid)
    if not _LONG_POLLS.acquire(blocking=False):
        return {**status_of(user=user, processing_uuid=key), "waited": False}
    try:
        deadline = time.monotonic() + max(0.0, min(wait_seconds, LONG_POLL_MAX_SECONDS))
        with wakeups.prompt_done.subscribe(str(key)) as woken:  # before reading: no lost wake-up
            while True:
                answer = status_of(user=user, processing_uuid=key)
                left = deadline - time.monotonic()
                if answer["processing_complete"] or left <= 0:
                    return {**answer, "waited": True}
                woken.wait(min(_recheck_period(), left))
                woken.clear()
    finally:
        _LONG_POLLS.release()


class StatusWait:
    """`wait_for_status` for an async view: waits on the event loop, holding no thread and no database
    connection.

    In two steps, so that the web handler can let go of the request's middleware and view while it
    waits (prompts/long_poll_handler.py): `start()` subscribes to the prompt's wake-up, then reads the
    status (the read that finds the user and checks the prompt is theirs) and gives the answer when it
    is final already; otherwise `finish()` waits for the wake-up or the deadline and gives the answer
    then. `close()` in every case. `read(key)` is the caller's `status_of` for its user, made awaitable
    (on a shared executor); at most `limit` requests wait at once per process.

    While the LISTEN connection is up, a prompt not notified has not changed: the status is read when
    the wait starts and when it is woken, not again at the end (a thousand waiting pages, a thousand
    reads saved per round); the answer is then the first one, older by the wait.
    """

    def __init__(self, *, processing_uuid, wait_seconds: float, read, limit: int) -> None:
        self.key = _status_key(processing_uuid)
        self.wait_seconds = max(0.0, min(wait_seconds, LONG_POLL_MAX_SECONDS))
        self.read, self.limit = read, limit
        self.wake = None
        self.answer, self.read_at, self.deadline = None, 0.0, 0.0

    async def start(self) -> dict | None:
        """The answer if it is final already (complete, out of time, or no room to wait); None if not."""
        if _ASYNC_LONG_POLLS["waiting"] >= self.limit:
            return {**await self.read(self.key), "waited": False}
        loop = asyncio.get_running_loop()
        _ASYNC_LONG_POLLS["waiting"] += 1
        self.deadline = loop.time() + self.wait_seconds
        self.wake = wakeups.prompt_done.subscribe_async(str(self.key))  # before reading: no lost wake-up
        self.answer, self.read_at = await self.read(self.key), loop.time()
        if self.answer["processing_complete"] or self.deadline <= self.read_at:
            return {**self.answer, "waited": True}
        return None

    async def finish(self) -> dict:
        loop = asyncio.get_running_loop()
        while not self.answer["processing_complete"] and (left := self.deadline - loop.time()) > 0:
            listened = wakeups.prompt_done.listening
            woken = await self.wake.wait(min(_recheck_period(), left))
            if not woken and listened and wakeups.prompt_done.listening:
                continue  # not notified, never deaf: nothing to read
            self.answer, self.read_at = await self.read(self.key), loop.time()
        return {**_aged(self.answer, loop.time() - self.read_at), "waited": True}

    async def updates(self, every: float):
        """For an event stream, after `start()` gave None: an answer at once (the first read), then one each
        time the prompt is woken or `every` seconds have passed, until the answer is final."""
        loop = asyncio.get_running_loop()
        answer = {**self.answer, "waited": True}
        while True:
            yield answer
            if answer["processing_complete"]:
                return
            self.deadline = loop.time() + every
            answer = await self.finish()

    def close(self) -> None:
        if self.wake is not None:
            self.wake.close()
            self.wake = None
            _ASYNC_LONG_POLLS["waiting"] -= 1


def _aged(answer: dict, seconds: float) -> dict:
    """A processing answer as it would read `seconds` later."""
    if answer["processing_complete"] or seconds < 0.5:
        return answer
    remaining = max(1, answer["estimated_seconds"] - int(round(seconds)))
    return {
        **answer,
        "elapsed_seconds": round(answer["elapsed_seconds"] + seconds, 1),
        **_estimate(remaining, answer["queue_position"]),
    }


def wait_estimate(*, ahead: int, running_for: float) -> dict:
    """'About 6 seconds — 2 uploads ahead of yours', from how long recent prompts took."""
    per_prompt = typical_processing_seconds()
    workers = max(1, int(settings.Q_CLUSTER.get("workers", 1)))
    remaining = max(1.0, (ahead // workers + 1) * per_prompt - running_for)
    return _estimate(int(round(remaining)), ahead)


def _estimate(seconds: int, ahead: int) -> dict:
    ahead_text = "" if not ahead else f" — {ahead} upload{'s' if ahead != 1 else ''} ahead of yours"
    return {
        "queue_position": ahead,
        "estimated_seconds": seconds,
        "estimate_text": f"About {seconds} second{'s' if seconds != 1 else ''}{ahead_text}",
    }


def typical_processing_seconds() -> float:
    """Median submit-to-complete time of the last 20 prompts, remembered for 30 s per process."""
    now = time.monotonic()
    if _TYPICAL["value"] is not None and now - _TYPICAL["at"] < 30:
        return _TYPICAL["value"]
    durations = sorted(
        (done - created).total_seconds()
        for created, done in Prompt.objects.filter(processing_completed_at__isnull=False)
        .order_by("-processing_completed_at")
        .values_list("created_on", "processing_completed_at")[:20]
    )
    value = durations[len(durations) // 2] if durations else TYPICAL_DEFAULT_SECONDS
    _TYPICAL.update(value=max(1.0, min(value, 120.0)), at=now)
    return _TYPICAL["value"]
