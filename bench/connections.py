"""PostgreSQL connections held by the site under bench/load.py's crowd, for each connection setting.

The same stack as bench/load.py (gunicorn 2 workers x 16 threads as in the Procfile, qcluster with
2 workers, PostgreSQL, the fake AI answering in 1 s) runs the same people doing the whole upload
flow, once per setting. Every 0.25 s we count the client connections to the bench database in
pg_stat_activity (this process's own excluded): the peak while the crowd works, and what is still
held 10 s after it stopped (persistent connections stay open, idle, until CONN_MAX_AGE). The
baseline, measured in the same run, is the same flow with connections closed after each request
(CONN_MAX_AGE=0).

Targets (PASS/MISS): no errors, and the peak fits Heroku Postgres Essential-0's 20 connections with
room for a one-off dyno (release phase, `heroku run`) and psql: peak <= 17.
"""

from __future__ import annotations

import os
import sys
import threading
import time

from bench import _stack
from bench.common import Table, print_header, verdict, write_results
from bench.load import AI_DELAY, run_people

USERS = int(os.environ.get("CONN_USERS", "40"))
DURATION = float(os.environ.get("CONN_SECONDS", "60"))
PLAN_LIMIT = 20  # Heroku Postgres Essential-0 (and Essential-1): connections
HEADROOM = 3  # a release phase or `heroku run` dyno, and a psql session
# (name, environment, gunicorn threads per worker); the Procfile's default is 2 workers x 16 threads.
SETTINGS = [
    ("2x16 threads, CONN_MAX_AGE=0 (close after each request)", {"CONN_MAX_AGE": "0"}, 16),
    ("2x16 threads, CONN_MAX_AGE=60 (the default)", {"CONN_MAX_AGE": "60"}, 16),
    (
        "2x6 threads, 3 long polls per process, CONN_MAX_AGE=60 (Essential-0)",
        {"CONN_MAX_AGE": "60", "PROCESSING_LONG_POLLS_PER_PROCESS": "3"},
        6,
    ),
]
# CONN_SETTINGS=2 runs only the third (a comma-separated list of indexes).
ONLY = [int(index) for index in os.environ.get("CONN_SETTINGS", "").split(",") if index.strip()]


class Sampler(threading.Thread):
    def __init__(self):
        super().__init__(daemon=True)
        self.samples: list[int] = []
        self.stopped = threading.Event()

    def run(self):
        from django.db import connection

        while not self.stopped.is_set():
            self.samples.append(len(_stack.database_backends()))
            time.sleep(0.25)
        connection.close()


def measure(extra_env: dict[str, str], threads: int) -> dict:
    from tests.fake_openai import FakeOpenAI

    fake = FakeOpenAI().start()
    fake.script("content", delay=AI_DELAY)
    with _stack.prepared_site({**fake.env(timeout=30, max_retries=0), **extra_env}) as env:
        users = []
        for index in range(USERS):
            _stack.make_uploader(f"conn{index}")
            users.append((f"conn{index}", _stack.PASSWORD))
        from django.db import connection

        connection.close()  # this thread's own: only the site's connections are counted
        web, url = _stack.start_gunicorn(env, workers=2, threads=threads)
        worker = _stack.start_qcluster(env, workers=2)
        try:
            sampler = Sampler()
            sampler.start()
            crowd, people = run_people(url, users, DURATION)
            sampler.stopped.set()
            sampler.join()
            time.sleep(10)
            held_after = len(_stack.database_backends())
        finally:
            _stack.stop(worker)
            _stack.stop(web)
            fake.stop()
    samples = sorted(sampler.samples) or [0]
    requests = sum(len(values) for values in crowd["latency"].values())
    status = sorted(crowd["latency"].get("status", [0.0]))
    submit = sorted(crowd["latency"].get("submit", [0.0]))
    return {
        "env": extra_env,
        "peak": samples[-1],
        "p50": samples[len(samples) // 2],
        "held_after": held_after,
        "requests": requests,
        "errors": crowd["errors"][:20],
        "error_count": len(crowd["errors"]),
        "status_p95_ms": status[int(0.95 * (len(status) - 1))],
        "submit_p95_ms": submit[int(0.95 * (len(submit) - 1))],
        "submitted": sum(len(person.submitted) for person in people),
    }


def run() -> None:
    print_header("connections")
    _stack.DB_NAME = os.environ.get("BENCH_DB", "promptfinder_connections")
    busy_before = _stack.other_cpu_share()
    results = []
    for index, (name, extra, threads) in enumerate(SETTINGS):
        if ONLY and index not in ONLY:
            continue
        results.append({"name": name, **measure(extra, threads)})
        print(f"  ... {name} done", file=sys.stderr)
    busy_after = _stack.other_cpu_share()
    table = Table(
        f"PostgreSQL connections, {USERS} people for {DURATION:.0f} s: gunicorn (2 workers) + qcluster (2 workers)",
        [
            "setting",
            "peak",
            "median",
            "held 10 s after",
            "requests",
            "errors",
            "submit p95 ms",
            "status p95 ms",
            "prompts",
            "target",
            "result",
        ],
    )
    for result in results:
        ok = result["error_count"] == 0 and result["peak"] <= PLAN_LIMIT - HEADROOM
        table.add(
            result["name"],
            result["peak"],
            result["p50"],
            result["held_after"],
            result["requests"],
            result["error_count"],
            round(result["submit_p95_ms"], 1),
            round(result["status_p95_ms"], 1),
            result["submitted"],
            f"0 errors, peak <= {PLAN_LIMIT - HEADROOM}",
            verdict(ok),
        )
    table.notes.append(
        "connections: client backends on the bench database in pg_stat_activity, sampled every 0.25 s "
        "(the bench's own excluded); the qcluster holds about workers + 3 of them whatever the setting"
    )
    table.notes.append(
        "held 10 s after: what stays open, idle, once the crowd has stopped (CONN_MAX_AGE keeps a thread's "
        "connection for that many seconds; one per gunicorn thread that served a request)"
    )
    for share, when in ((busy_before, "before"), (busy_after, "after")):
        if share is not None:
            table.notes.append(f"other processes used {share:.0%} of the {os.cpu_count()} CPUs just {when} the runs")
    print(table.render())
    write_results("connections", [table], runs=results)
