"""Stopping the Django-Q cluster the way Heroku stops a dyno: SIGTERM, and SIGKILL 30 s later.

Django-Q2 alone does not survive that. Heroku signals every process of the dyno; its sentinel and
workers die at once (they keep the default SIGTERM action), and the main process then blocks for
good in `stop()` (a multiprocessing Event whose waiter died) until the SIGKILL. The task that was
running stays leased to a process that is gone, so it runs again only when its lease (`retry`,
180 s) runs out.

So, here:
- `GracefulCluster` (started by `manage.py worker`, the Procfile's command) answers SIGTERM by
  passing it to every process below it, waiting up to `SHUTDOWN_GRACE_SECONDS` for them, killing
  what is left and exiting: well inside Heroku's 30 s, whether the whole dyno or only the main
  process was signalled.
- Each worker, on SIGTERM, hands its running task back (its lease set to now, so the next cluster
  takes it at once), then exits. The task runs again exactly once; tasks are written to be safe to
  run twice.

And for the deaths no signal announces (SIGKILL, the OOM killer, a dyno crash):
- A running task's lease is short (`RUNNING_LEASE_SECONDS`) and renewed every few seconds by a thread
  in the worker running it. Django-Q's own lease (`retry`, 180 s) covers a task from the moment a
  cluster takes it; once a worker starts it, it is cut to 20 s and kept there while that worker
  lives. A worker that dies stops renewing, and the broker hands the task out again 20 s later.
- `watch_over` runs in each cluster's main process every `WATCHDOG_SECONDS`: it offers again the
  tasks a cluster took but never started (`release_unstarted_tasks`: that cluster died, or its
  workers are stuck behind long tasks), and re-queues the AI task of any prompt still processing
  that has none queued or running (`ai_content.requeue_lost_ai_tasks`: it failed for good, e.g. on
  a database outage longer than its retries). A person waits seconds, not minutes.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from datetime import timedelta
from pathlib import Path

from django.db import connections
from django.utils import timezone
from django_q.cluster import Cluster
from django_q.conf import Conf
from django_q.models import OrmQ
from django_q.signals import post_execute_in_worker, post_spawn, pre_execute

logger = logging.getLogger(__name__)

SHUTDOWN_GRACE_SECONDS = 20
RUNNING_LEASE_SECONDS = 20
RENEW_EVERY_SECONDS = 5
# A task taken by a cluster and not started by any of its workers within this long is offered again.
UNSTARTED_PATIENCE_SECONDS = 30
WATCHDOG_SECONDS = 5

# The task this worker process is running (each worker is its own process: one slot is enough).
_running: dict[str, object] = {}


def _remember_task(sender, func=None, task=None, **kwargs):
    _running["ack_id"] = (task or {}).get("ack_id")
    _running["name"] = (task or {}).get("name")
    if _running["ack_id"] and Conf.ORM:
        try:
            renew_lease(_running["ack_id"])
        except Exception:  # e.g. the database is away: the task still runs, on Django-Q's long lease
            logger.warning("could not shorten the lease of task %s", _running["name"], exc_info=True)


def _forget_task(sender, **kwargs):
    _running.clear()


def hand_back(ack_id) -> None:
    """Make a leased task available again now (ORM broker: the lease is the row's `lock` time).

    On its own connection: the signal may arrive while the task's connection is mid-transaction.
    """
    alias = Conf.ORM or "default"
    connection = connections.create_connection(alias)
    try:
        quote = connection.ops.quote_name
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {quote(OrmQ._meta.db_table)} SET {quote('lock')} = %s WHERE id = %s",
                [connection.ops.adapt_datetimefield_value(timezone.now()), ack_id],
            )
    finally:
        connection.close()


def renew_lease(ack_id) -> None:
    """The running task stays leased for RUNNING_LEASE_SECONDS more (ORM broker: the row's `lock`)."""
    until = timezone.now() + timedelta(seconds=RUNNING_LEASE_SECONDS)
    OrmQ.objects.using(Conf.ORM or "default").filter(id=ack_id).update(lock=until)


def _keep_lease_alive() -> None:
    """The worker's heartbeat, in its own thread (and so on its own database connection)."""
    while True:
        time.sleep(RENEW_EVERY_SECONDS)
        ack_id = _running.get("ack_id")
        if not ack_id:
            connections[Conf.ORM or "default"].close()  # no connection held while the worker is idle
            continue
        try:
            renew_lease(ack_id)
        except Exception:
            logger.warning("could not renew the lease of task %s", _running.get("name"), exc_info=True)
            connections[Conf.ORM or "default"].close()


def release_unstarted_tasks(*, now=None) -> int:
    """Offer again the tasks a cluster took more than UNSTARTED_PATIENCE_SECONDS ago that no worker started.

    A started task's lease is at most RUNNING_LEASE_SECONDS ahead; one still further ahead was only
    taken (Django-Q leases for `retry` seconds at once). If its cluster is alive and merely busy, the
    task may run twice: every task is safe to run twice.
    """
    now = now or timezone.now()
    retry = timedelta(seconds=Conf.RETRY)
    taken_long_ago = now + retry - timedelta(seconds=UNSTARTED_PATIENCE_SECONDS)
    not_started = now + timedelta(seconds=RUNNING_LEASE_SECONDS + RENEW_EVERY_SECONDS)
    stale = OrmQ.objects.using(Conf.ORM or "default").filter(lock__gt=not_started, lock__lt=taken_long_ago)
    released = stale.update(lock=now)
    if released:
        logger.warning("%s task(s) taken but never started: offered to every cluster again", released)
    return released


def watch_over(cluster: Cluster) -> None:
    """The cluster's main process, while its sentinel lives: every few seconds, find lost work and queue it."""
    from prompts.services import ai_content

    while cluster.sentinel is not None and cluster.sentinel.is_alive():
        time.sleep(WATCHDOG_SECONDS)
        try:
            release_unstarted_tasks()
            ai_content.requeue_lost_ai_tasks()
        except Exception:  # the database is away: try again next round
            logger.warning("watchdog round failed", exc_info=True)
            connections["default"].close()


def _worker_sigterm(signum, frame):
    ack_id, name = _running.get("ack_id"), _running.get("name")
    if ack_id and Conf.ORM:
        try:
            hand_back(ack_id)
            logger.warning("worker stopping: task %s handed back to the queue", name)
        except Exception:
            logger.exception("worker stopping: could not hand back task %s", name)
    os._exit(0)


def _install_worker_handler(sender, proc_name=None, **kwargs):
    signal.signal(signal.SIGTERM, _worker_sigterm)
    if Conf.ORM:
        threading.Thread(target=_keep_lease_alive, name="lease-heartbeat", daemon=True).start()


def connect() -> None:
    pre_execute.connect(_remember_task, dispatch_uid="promptfinder-remember-task")
    post_execute_in_worker.connect(_forget_task, dispatch_uid="promptfinder-forget-task")
    post_spawn.connect(_install_worker_handler, dispatch_uid="promptfinder-worker-sigterm")


def _descendants(pid: int) -> list[int]:
    """Every process below `pid` (Linux /proc), deepest last."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        # "pid (comm) state ppid ...": comm may hold spaces and parentheses.
        parents[int(stat.parent.name)] = int(text.rsplit(")", 1)[1].split()[1])
    found, frontier = [], [pid]
    while frontier:
        children = [child for child, parent in parents.items() if parent in frontier]
        found.extend(children)
        frontier = children
    return found


def _alive(pid: int) -> bool:
    try:
        os.waitpid(pid, os.WNOHANG)  # reap our own child (the sentinel) if it has exited
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return (
        Path(f"/proc/{pid}/stat").exists() and " Z " not in Path(f"/proc/{pid}/stat").read_text().split(")", 1)[-1][:3]
    )


class GracefulCluster(Cluster):
    def sig_handler(self, signum, frame):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        logger.info("Q Cluster %s stopping: signalling its processes", self.name)
        children = _descendants(os.getpid())
        for pid in children:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + SHUTDOWN_GRACE_SECONDS
        while time.monotonic() < deadline and any(_alive(pid) for pid in children):
            time.sleep(0.1)
        for pid in children:
            if _alive(pid):
                logger.warning("process %s did not stop in time: killing it", pid)
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        logger.info("Q Cluster %s has stopped.", self.name)
        # Not sys.exit: multiprocessing's exit hooks would wait on queues whose readers are gone.
        os._exit(0)
