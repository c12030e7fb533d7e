"""Is this process alive, and can it serve? The answers behind /healthz and /readyz.

Liveness asks nothing outside the process: a dyno whose database is down is still alive, and
restarting it would not help. Readiness asks each system a request needs (database, cache, media
storage) and the two signs that background work has stopped (queue lag, stuck prompts). Every
check runs in its own thread with a time budget, so one system that hangs (a storage endpoint that
accepts the connection and never answers) costs the monitor `READYZ_BUDGET_SECONDS`, not a
gunicorn timeout, and the others still report.

What a check reports is written here, never an exception's text: exception messages carry hosts,
URLs and sometimes credentials, and /readyz is public. The full error goes to the log.
"""

from __future__ import annotations

import contextvars
import logging
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import connections
from django.utils import timezone

from prompts.media import storage
from prompts.models import Prompt
from prompts.services.ai_content import STUCK_FALLBACK_AFTER

logger = logging.getLogger(__name__)

# The recovery schedule gives a stuck prompt its fallback at 30 minutes and runs every 5; a prompt
# still processing well past that means the worker or its schedules are not running.
STUCK_ALERT_AFTER = STUCK_FALLBACK_AFTER + timedelta(minutes=15)


class NotReady(Exception):
    """A check's own sentence for what is wrong (safe to show publicly)."""


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    milliseconds: int
    detail: str = ""

    def as_dict(self) -> dict:
        answer = {"ok": self.ok, "ms": self.milliseconds}
        if self.detail:
            answer["detail"] = self.detail
        return answer


def _database() -> str:
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return ""


def _cache() -> str:
    key, value = f"readyz:{uuid.uuid4().hex}", uuid.uuid4().hex
    cache.set(key, value, timeout=30)
    if cache.get(key) != value:
        raise NotReady("the cache did not return what was just stored")
    cache.delete(key)
    return ""


def _storage() -> str:
    storage.ping()
    return ""


def _queue() -> str:
    """How long the oldest task that no worker holds has waited (the ORM broker keeps it in a table)."""
    from django_q.brokers import get_broker
    from django_q.brokers.orm import ORM

    broker = get_broker()
    if not isinstance(broker, ORM):
        size = broker.queue_size()
        return f"{size} waiting"
    now = timezone.now()
    waiting = ORM.get_connection().filter(key=broker.list_key, lock__lte=now)
    oldest = waiting.order_by("lock").values_list("lock", flat=True).first()
    lag = (now - oldest).total_seconds() if oldest else 0.0
    if lag > settings.READYZ_QUEUE_LAG_SECONDS:
        raise NotReady(
            f"the oldest task has waited {int(lag)} s (limit {settings.READYZ_QUEUE_LAG_SECONDS} s): "
            "is a worker running?"
        )
    return f"{waiting.count()} waiting, oldest {int(lag)} s"


def _stuck_prompts() -> str:
    stuck = Prompt.objects.filter(
        processing_complete=False,
        is_deleted=False,
        updated_on__lt=timezone.now() - STUCK_ALERT_AFTER,
    ).count()
    if stuck:
        minutes = int(STUCK_ALERT_AFTER.total_seconds() // 60)
        raise NotReady(f"{stuck} prompt(s) still processing after {minutes} minutes")
    return ""


CHECKS: dict[str, Callable[[], str]] = {
    "database": _database,
    "cache": _cache,
    "storage": _storage,
    "queue": _queue,
    "stuck_prompts": _stuck_prompts,
}


def _run(name: str, check: Callable[[], str]) -> CheckResult:
    started = time.monotonic()
    try:
        detail, ok = check(), True
    except NotReady as problem:
        detail, ok = str(problem), False
    except Exception:
        logger.exception("readiness check %s failed", name)
        detail, ok = f"{name} unavailable (see the log)", False
    finally:
        # This thread's own database connection: a pool thread must not keep one open.
        connections.close_all()
    return CheckResult(name, ok, int((time.monotonic() - started) * 1000), detail)


def readiness(*, budget: float | None = None) -> list[CheckResult]:
    """Every check, in parallel; a check still running when the budget is spent counts as failed."""
    budget = settings.READYZ_BUDGET_SECONDS if budget is None else budget
    pool = ThreadPoolExecutor(max_workers=len(CHECKS), thread_name_prefix="readyz")
    started = time.monotonic()
    # Each thread gets a copy of the request's context, so its log lines carry the request id.
    futures = {name: pool.submit(contextvars.copy_context().run, _run, name, check) for name, check in CHECKS.items()}
    results = []
    for name, future in futures.items():
        remaining = max(0.0, budget - (time.monotonic() - started))
        try:
            results.append(future.result(timeout=remaining))
        except FutureTimeout:
            logger.error("readiness check %s gave no answer within %.1f s", name, budget)
            results.append(CheckResult(name, False, int(budget * 1000), f"no answer within {budget:g} s"))
    # A hung check keeps its thread until its own client timeout; the answer does not wait for it.
    pool.shutdown(wait=False, cancel_futures=True)
    return results
