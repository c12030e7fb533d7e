"""Django-Q throughput on PostgreSQL with the production Q_CLUSTER settings.

1,000 `bench.tasks.mark(path, n)` tasks are enqueued with async_task into a fresh database, then
`manage.py qcluster` starts (1 worker, then 2 workers on a fresh database and file) and we time
how long until the file holds 1,000 lines: from the cluster's start (includes its start-up and
first poll) and from the first line to the last (the steady rate). A few seconds after the last
line the file is read again: every number must be there exactly once (at-least-once delivery
must not turn into twice here: no crash, no expired lease). The baseline in the same run is
calling bench.tasks.mark 1,000 times in this process: the work itself, without the queue.

For the profile, the cluster's CPU time (the whole process tree, from /proc) and our database's
PostgreSQL backends are measured from the first line to the last, and PostgreSQL's own counters
(pg_stat_database, flushed by closing every connection) give transactions and rows read per task.

A last line repeats the 2-worker run with Q_POLL=0.1 (production keeps 0.5) to show what the
poll interval does and does not change.

Then the same 1- and 2-worker runs on the Redis broker (Q_BROKER=redis, BENCH_REDIS_URL, by default
the running Redis on loopback, database 6), side by side: the tasks are pushed onto the Redis list
the cluster reads, and a task counts as acknowledged once it is off the list (Redis has no ack).

Targets (PASS/MISS): duplicates = 0 and losses = 0 for every run.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from bench import _stack
from bench.common import Table, measure, print_header, verdict, write_results

NAME = "queue"
TASKS = int(os.environ.get("BENCH_QUEUE_TASKS", "1000"))
GRACE_SECONDS = 3.0  # after the last line, for a late second execution to show up
TIMEOUT_SECONDS = 300
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/6")


def redis_broker():
    """The Redis broker the cluster reads (Django-Q's settings in this process are read once, at
    import, with the ORM broker: this one is built for REDIS_URL under the same cluster name)."""
    import redis
    from django_q.brokers.redis_broker import Redis

    class RedisAt(Redis):
        @staticmethod
        def get_connection(list_key=None):
            return redis.from_url(REDIS_URL)

    return RedisAt()


def mark_in_process() -> float:
    """Seconds for TASKS in-process calls of the task function (p50 of 5)."""
    from bench.tasks import mark

    with tempfile.TemporaryDirectory() as folder:
        path = str(Path(folder) / "marks.txt")

        def thousand() -> None:
            Path(path).unlink(missing_ok=True)
            for number in range(TASKS):
                mark(path, number)

        return measure({"mark": thousand}, warmup=1, repeats=5)["mark"].p50 / 1000


def line_count(path: str) -> int:
    try:
        return Path(path).read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


def database_counters() -> dict[str, int]:
    """Transactions and rows read in the bench database, after every backend has flushed its counters.

    A backend sends its statistics at most once a second while it lives and always when it ends,
    so we close our connections (the cluster is stopped by then) and read from a new one.
    """
    from django.db import connection, connections

    connections.close_all()
    time.sleep(1.0)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT xact_commit + xact_rollback, tup_returned + tup_fetched, tup_inserted + tup_updated + tup_deleted "
            "FROM pg_stat_database WHERE datname = %s",
            [_stack.DB_NAME],
        )
        transactions, rows_read, rows_written = cursor.fetchone()
    connections.close_all()
    return {"transactions": transactions, "rows_read": rows_read, "rows_written": rows_written}


def cluster_cpu(cluster_pid: int) -> dict[str, float]:
    return {
        "cluster": sum(_stack.cpu_seconds(p, reaped_children=True) for p in _stack.process_tree(cluster_pid)),
        "postgres": sum(_stack.cpu_seconds(p) for p in _stack.database_backends()),
    }


def run_cluster(workers: int, extra_env: dict[str, str] | None = None, *, broker_name: str = "orm") -> dict:
    if broker_name == "redis":
        extra_env = {**(extra_env or {}), "Q_BROKER": "redis", "REDIS_URL": REDIS_URL}
    with (
        _stack.prepared_site(extra_env) as env,
        tempfile.TemporaryDirectory(prefix="promptfinder-bench-queue-") as folder,
    ):
        from django_q.models import OrmQ, Task
        from django_q.tasks import async_task

        path = str(Path(folder) / "marks.txt")
        broker = redis_broker() if broker_name == "redis" else None
        if broker is not None:
            broker.delete_queue()

        def waiting() -> int:
            return broker.queue_size() if broker is not None else OrmQ.objects.count()

        started = time.perf_counter()
        for number in range(TASKS):
            async_task("bench.tasks.mark", path, number, broker=broker)
        enqueue_s = time.perf_counter() - started
        assert waiting() == TASKS
        before = database_counters()

        started = time.perf_counter()
        cluster = _stack.start_qcluster(env, workers=workers)
        first = last = acked = None
        cpu_first = cpu_acked = None
        lines_at_first = 0
        try:
            deadline = started + TIMEOUT_SECONDS
            while time.perf_counter() < deadline and last is None:
                lines = line_count(path)
                if lines and first is None:
                    first, lines_at_first, cpu_first = time.perf_counter(), lines, cluster_cpu(cluster.pid)
                if lines >= TASKS:
                    last = time.perf_counter()
                time.sleep(0.01)
            # A task is done for the queue when the monitor has saved its result and deleted it
            # from the broker (OrmQ); until then a crash would run it again.
            while time.perf_counter() < deadline and last is not None:
                if not waiting():
                    acked, cpu_acked = time.perf_counter(), cluster_cpu(cluster.pid)
                    break
                time.sleep(0.02)
            time.sleep(GRACE_SECONDS)
        finally:
            _stack.stop(cluster)
        after = database_counters()

        numbers = Counter(int(line) for line in Path(path).read_text().split())
        result = {
            "broker": broker_name,
            "workers": workers,
            "env": extra_env or {},
            "enqueue_s": enqueue_s,
            "start_to_first_s": (first - started) if first else None,
            "start_to_all_s": (last - started) if last else None,
            "first_to_last_s": (last - first) if last and first else None,
            "start_to_acked_s": (acked - started) if acked else None,
            "first_to_acked_s": (acked - first) if acked and first else None,
            "lines": sum(numbers.values()),
            "duplicates": sum(count - 1 for count in numbers.values() if count > 1),
            "lost": sum(1 for number in range(TASKS) if number not in numbers),
            "left_in_queue": waiting(),
            "failed": Task.objects.filter(success=False).count(),
            "results_kept": Task.objects.count(),
        }
        if cpu_first and cpu_acked:
            tasks = max(1, TASKS - lines_at_first)
            result["cpu_ms_per_task"] = {k: (cpu_acked[k] - cpu_first[k]) * 1000 / tasks for k in cpu_first}
        result["db_per_task"] = {k: (after[k] - before[k]) / TASKS for k in before}
    return result


def run() -> None:
    print_header(NAME)
    busy_before = _stack.other_cpu_share()
    baseline_s = mark_in_process()
    runs = [run_cluster(1), run_cluster(2)]
    print("  ... production settings done", file=sys.stderr)
    runs.append(run_cluster(2, {"Q_POLL": "0.1"}))
    runs += [run_cluster(1, broker_name="redis"), run_cluster(2, broker_name="redis")]
    busy_after = _stack.other_cpu_share()

    table = Table(
        f"{TASKS} tasks (bench.tasks.mark) through Django-Q: the ORM broker on PostgreSQL, then Redis",
        [
            "run",
            "tasks/s",
            "first->all run s",
            "first->all acked s",
            "start->all acked s",
            "start->first s",
            "CPU ms/task cluster",
            "CPU ms/task db",
            "xacts/task",
            "rows read/task",
            "dup",
            "lost",
            "target",
            "result",
        ],
    )
    table.add(
        f"baseline: {TASKS} calls in-process",
        round(TASKS / baseline_s, 1),
        round(baseline_s, 4),
        "—",
        "—",
        "—",
        "—",
        "—",
        "—",
        "—",
        "—",
        "—",
        "—",
        "—",
    )

    def seconds(value: float | None) -> object:
        return round(value, 2) if value is not None else "—"

    for result in runs:
        poll = result["env"].get("Q_POLL", "0.5")
        name = f"{result['broker']}: qcluster, {result['workers']} worker{'s' if result['workers'] > 1 else ''}"
        name += f", poll {poll}" if result["broker"] == "orm" else ""
        steady = result["first_to_acked_s"]
        cpu = result.get("cpu_ms_per_task", {})
        ok = result["duplicates"] == 0 and result["lost"] == 0 and result["left_in_queue"] == 0
        table.add(
            name,
            round((TASKS - 1) / steady, 1) if steady else "—",
            seconds(result["first_to_last_s"]),
            seconds(steady),
            seconds(result["start_to_acked_s"]),
            seconds(result["start_to_first_s"]),
            round(cpu.get("cluster", float("nan")), 2),
            round(cpu.get("postgres", float("nan")), 2),
            round(result["db_per_task"]["transactions"], 1),
            round(result["db_per_task"]["rows_read"]),
            result["duplicates"],
            result["lost"],
            "dup = 0, lost = 0",
            verdict(ok),
        )
    table.notes.append(
        "tasks/s = the steady rate: first line in the file to the last task acknowledged (result saved "
        "and deleted from OrmQ by the monitor); 'run' = the last line written; start-> includes the "
        "cluster's start-up (Django import, forking) and its first poll"
    )
    table.notes.append(
        "every result goes through the cluster's one monitor process (save, prune to save_limit, "
        "acknowledge): when 'acked' lags 'run', the monitor, not the workers, sets the rate"
    )
    table.notes.append(
        "Q_CLUSTER as in production: bulk 1, queue_limit = workers, save_limit 250, ack_failures, poll 0.5 s "
        "(env Q_POLL); the third line only changes the poll"
    )
    table.notes.append(
        "redis: 'acked' = the task is off the Redis list (BLPOP; Redis has no acknowledgement, so a task "
        "a worker holds when it dies is lost); results are still saved to PostgreSQL by the monitor"
    )
    table.notes.append(
        "xacts and rows read per task: pg_stat_database for the bench database over the whole cluster "
        "run, divided by the tasks"
    )
    enqueue = [r["enqueue_s"] for r in runs]
    table.notes.append(
        f"enqueueing {TASKS} tasks with async_task took {min(enqueue):.2f}-{max(enqueue):.2f} s "
        f"({min(enqueue) * 1000 / TASKS:.2f} ms each)"
    )
    for share, when in ((busy_before, "before"), (busy_after, "after")):
        if share is not None:
            busy = share > 0.10
            table.notes.append(
                f"{'MACHINE BUSY: ' if busy else ''}other processes used {share:.0%} of the "
                f"{os.cpu_count()} CPUs just {when} the runs" + ("; rates are noisy" if busy else "")
            )
    print(table.render())
    write_results(
        NAME,
        [table],
        runs=runs,
        baseline_s=baseline_s,
        other_processes_cpu_share={"before": busy_before, "after": busy_after},
    )
