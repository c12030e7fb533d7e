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
  run twice. A task a worker had prefetched but not started waits for its lease, as after a crash.
"""

from __future__ import annotations

import logging
import os
import signal
import time
from pathlib import Path

from django.db import connections
from django.utils import timezone
from django_q.cluster import Cluster
from django_q.conf import Conf
from django_q.models import OrmQ
from django_q.signals import post_execute_in_worker, post_spawn, pre_execute

logger = logging.getLogger(__name__)

SHUTDOWN_GRACE_SECONDS = 20

# The task this worker process is running (each worker is its own process: one slot is enough).
_running: dict[str, object] = {}


def _remember_task(sender, func=None, task=None, **kwargs):
    _running["ack_id"] = (task or {}).get("ack_id")
    _running["name"] = (task or {}).get("name")


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
