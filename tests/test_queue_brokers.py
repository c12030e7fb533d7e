"""Two worker dynos on one queue: two real qcluster processes share it, on the ORM broker (our
database, the default) and on the Redis broker (Q_BROKER=redis, the running Redis on loopback).
Every task runs exactly once, and both clusters take part."""

import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest

from prompts.worker_lifecycle import _descendants
from tests import processes
from tests.processes import ROOT, start_qcluster, stop_process, wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

TASKS = 200
# Our Redis databases on the shared server (5 and 6; others use other numbers).
REDIS_URL = "redis://127.0.0.1:6379/5"

ENQUEUE = """
import sys, django
django.setup()
from django_q.tasks import async_task
path, count = sys.argv[1], int(sys.argv[2])
for number in range(count):
    async_task("bench.tasks.mark_with_process", path, number)
"""


def redis_available() -> bool:
    import redis

    try:
        return redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError:
        return False


@pytest.mark.parametrize("broker", ["orm", "redis"])
def test_two_clusters_share_one_queue_without_duplicates_or_losses(broker, tmp_path):
    if broker == "redis" and not redis_available():
        pytest.fail(f"the Redis server at {REDIS_URL} is not running")
    # A cluster name of its own: the Redis list is django_q:<name>:q, so no other run shares it.
    env = {"Q_BROKER": broker, "Q_CLUSTER_NAME": f"pf-test-{uuid.uuid4().hex[:8]}"}
    if broker == "redis":
        env["REDIS_URL"] = REDIS_URL
    path = tmp_path / "marks.txt"
    clusters = [start_qcluster(extra_env=env, workers=2) for _ in range(2)]
    try:
        # Both clusters up (sentinel, pusher, monitor, two workers each) before the first task, so
        # neither can drain the queue alone while the other starts.
        wait_until(lambda: all(len(_descendants(c.pid)) >= 5 for c in clusters), timeout=60, message="both clusters")
        time.sleep(1)
        # Enqueued by another process with the same settings (Django-Q reads Q_CLUSTER at import).
        subprocess.run(
            [sys.executable, "-c", ENQUEUE, str(path), str(TASKS)],
            cwd=ROOT,
            env={**processes.test_database_env(), **env},
            check=True,
            timeout=120,
            capture_output=True,
        )
        wait_until(lambda: lines(path) >= TASKS, timeout=120, message=f"{TASKS} tasks to run")
        workers = [set(_descendants(cluster.pid)) for cluster in clusters]
        time.sleep(3)  # a second execution of any task would show up within a few polls
    finally:
        for cluster in clusters:
            stop_process(cluster)
    runs = [line.split() for line in path.read_text().splitlines()]
    numbers = Counter(int(number) for number, _pid in runs)
    assert sorted(numbers) == list(range(TASKS)), "a task was lost"
    assert max(numbers.values()) == 1, f"ran twice: {[n for n, c in numbers.items() if c > 1]}"
    by_cluster = [sum(1 for _n, pid in runs if int(pid) in pids) for pids in workers]
    assert sum(by_cluster) == TASKS and all(count > 0 for count in by_cluster), by_cluster


def lines(path: Path) -> int:
    try:
        return path.read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


ENQUEUE_SLOW = """
import sys, django
django.setup()
from django_q.tasks import async_task
async_task("bench.tasks.slow_mark", sys.argv[1], 0, 8.0)
"""


@pytest.mark.parametrize("broker", ["orm", "redis"])
def test_why_the_orm_broker_stays_the_default_a_task_running_at_sigterm(broker, tmp_path):
    """Heroku restarts each dyno daily with SIGTERM to every process. On the ORM broker the running
    task is handed back and the next cluster runs it; Django-Q2's Redis broker took it off the list
    with BLPOP and has no lease to expire, so it is gone. (This pins the reason the README gives.)"""
    if broker == "redis" and not redis_available():
        pytest.fail(f"the Redis server at {REDIS_URL} is not running")
    env = {"Q_BROKER": broker, "Q_CLUSTER_NAME": f"pf-test-{uuid.uuid4().hex[:8]}"}
    if broker == "redis":
        env["REDIS_URL"] = REDIS_URL
    path = tmp_path / "marks.txt"
    first = start_qcluster(extra_env=env, workers=1)
    try:
        wait_until(lambda: len(_descendants(first.pid)) >= 4, timeout=60, message="the cluster")
        subprocess.run(
            [sys.executable, "-c", ENQUEUE_SLOW, str(path)],
            cwd=ROOT,
            env={**processes.test_database_env(), **env},
            check=True,
            timeout=60,
            capture_output=True,
        )
        wait_until(lambda: "start 0" in text(path), timeout=30, message="the task to start")
        os.killpg(first.pid, signal.SIGTERM)  # the whole dyno, as Heroku does
        first.wait(timeout=30)
    finally:
        stop_process(first)
    second = start_qcluster(extra_env=env, workers=1)
    try:
        if broker == "orm":
            wait_until(lambda: "done 0" in text(path), timeout=40, message="the task to run again")
            assert text(path).split("\n").count("start 0") == 2
        else:
            time.sleep(20)  # start-up, and more than twice the task's length
            assert "done 0" not in text(path) and text(path).split("\n").count("start 0") == 1
    finally:
        stop_process(second)


def text(path: Path) -> str:
    try:
        return path.read_text()
    except FileNotFoundError:
        return ""
