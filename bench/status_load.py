"""The status endpoint under load: gunicorn (workers and threads from the Procfile) on PostgreSQL.

20 prompts of one user wait in processing (made through the ORM; no AI, no queue). A second
process (bench/_load.py) runs 8, 32 and 64 closed-loop clients, each GETting
/api/prompt/status/<uuid>/ (no long poll) with the user's session cookie as fast as the answers
come. The baseline in the same run is /robots.txt (the whole middleware stack, no database) at
the same concurrency; the two take turns (robots, status, robots, status; 5 s each) so that a
busy spell of the shared machine hurts both. Around each turn the CPU time of the gunicorn
workers, of our database's PostgreSQL backends and of the load client is read from /proc and
divided by the requests answered: on two cores that, more than the wall clock, is what a
request costs.

Queries per request are counted in this process on the path gunicorn takes (Django's
WSGIHandler, so the request_started signal arms the connection health check as it does in
production), split into the session and user lookups every logged-in request pays, the health
check's SELECT 1 (CONN_HEALTH_CHECKS), and the endpoint's own.

Then the long poll's price: each waiting processing page holds one gunicorn thread for up to
PROCESSING_LONG_POLL_SECONDS. N clients long-poll prompts that never complete while 4 clients
GET /robots.txt, each request on a new connection; we report how long those other requests wait
(baseline: N = 0).

Then one web process of the Procfile's kind (gunicorn + uvicorn's worker) with 1,000 processing pages
waiting on it, first long-polling (the baseline, and the page's fallback), then on their event streams
(the page's way): other requests' p95 against the same process idle, in alternating rounds
(BENCH_STATUS_PARTS=asgi runs only this part, into status_load_asgi.json).

Targets (PASS/MISS): with 1,000 pages on their event streams, others' p95 <= 1.2x idle;
the endpoint's own queries = 1; no errors; status >= 100 req/s at every
concurrency (= 300 processing pages polling every 3 s on one web dyno, the load the spec calls
negligible); while pages long-poll, no other request waits behind them (max < 1 s).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import resource
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path

from bench import _stack
from bench.common import Table, percentile, print_header, verdict, write_results

NAME = "status_load"
PROMPTS = 20
CONCURRENCY = (8, 32, 64)
SECONDS = float(os.environ.get("BENCH_STATUS_SECONDS", "10"))  # per path and concurrency, in two turns
WARMUP = 0.5
RATE_TARGET = 100.0
OWN_QUERIES_TARGET = 1
POLL_SECONDS = 3.0  # the processing page's plain polling period
LONG_POLL_WAIT = 20  # what processing.js asks for (PROCESSING_LONG_POLL_SECONDS)
LONG_POLL_SECONDS = float(os.environ.get("BENCH_LONG_POLL_SECONDS", "22"))  # > one whole long poll
OTHER_CLIENTS = 4
OTHER_MAX_TARGET_MS = 1000.0
# "asgi": only the 1,000 waiting pages on one ASGI process (written to status_load_asgi.json).
PARTS = os.environ.get("BENCH_STATUS_PARTS", "all")


# --- CPU accounting from /proc ---------------------------------------------------------------


class CpuMeter:
    """CPU seconds used by the gunicorn workers, our database's backends and our child processes."""

    def __init__(self, gunicorn_pid: int) -> None:
        self.gunicorn_pid = gunicorn_pid

    def snapshot(self) -> dict:
        return {
            "gunicorn": {p: _stack.cpu_seconds(p) for p in _stack.process_tree(self.gunicorn_pid)},
            "postgres": {p: _stack.cpu_seconds(p) for p in _stack.database_backends()},
            "client": resource.getrusage(resource.RUSAGE_CHILDREN),
        }

    @staticmethod
    def used(before: dict, after: dict) -> dict[str, float]:
        # A worker or backend that appeared during the run started from zero.
        used = {
            kind: sum(after[kind][p] - before[kind].get(p, 0.0) for p in after[kind])
            for kind in ("gunicorn", "postgres")
        }
        used["client"] = (after["client"].ru_utime + after["client"].ru_stime) - (
            before["client"].ru_utime + before["client"].ru_stime
        )
        return used


# --- queries per request -----------------------------------------------------------------------


def make_prompts(user) -> list[str]:
    from prompts.models import Prompt

    return [
        str(
            Prompt.objects.create(
                author=user, content=f"bench prompt {i}: a lighthouse at dusk, volumetric fog", ai_generator="flux"
            ).processing_uuid
        )
        for i in range(PROMPTS)
    ]


def session_cookie(user) -> str:
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


def count_queries(cookie: str, status_paths: list[str]) -> tuple[Table, dict]:
    """Queries per request, in this process, through Django's WSGIHandler as gunicorn calls it."""
    from django.core.handlers.wsgi import WSGIHandler
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from prompts import selectors

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="No directory at")  # WhiteNoise: no collectstatic here
        handler = WSGIHandler()
    health_checks = [0]
    is_usable = connection.is_usable

    def counted_is_usable() -> bool:  # the health check's SELECT 1 bypasses Django's cursor wrapper
        health_checks[0] += 1
        return is_usable()

    def request(path: str) -> dict:
        environ = {
            "REQUEST_METHOD": "GET",
            "PATH_INFO": path,
            "QUERY_STRING": "",
            "SCRIPT_NAME": "",
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "HTTP_HOST": "127.0.0.1",
            "HTTP_COOKIE": f"sessionid={cookie}",
            "wsgi.input": io.BytesIO(),
            "wsgi.errors": sys.stderr,
            "wsgi.url_scheme": "http",
        }
        status = []
        health_checks[0] = 0
        with CaptureQueriesContext(connection) as captured:
            response = handler(environ, lambda line, headers: status.append(line))
            b"".join(response)
            response.close()
        assert status[0].startswith("200"), (path, status)
        sqls = [q["sql"] for q in captured.captured_queries]
        auth = sum('"django_session"' in sql or '"auth_user"' in sql for sql in sqls)
        return {"session/auth": auth, "own": len(sqls) - auth, "health": health_checks[0], "sql": sqls}

    connection.ensure_connection()  # a reused connection, as in a gunicorn thread after its first request
    connection.is_usable = counted_is_usable
    try:
        robots = request("/robots.txt")
        selectors._TYPICAL.update(value=None, at=0.0)  # as in a fresh worker process
        first = request(status_paths[0])
        steady = [request(path) for path in status_paths[1:11]]
    finally:
        del connection.is_usable

    table = Table(
        "Queries per request, on gunicorn's path (WSGIHandler) in-process",
        ["request", "session/auth", "endpoint's own", "health check", "round trips", "target own", "result"],
    )

    def add(name: str, counts: dict, target: str = "—", result: str = "—") -> None:
        table.add(
            name,
            counts["session/auth"],
            counts["own"],
            counts["health"],
            counts["session/auth"] + counts["own"] + counts["health"],
            target,
            result,
        )

    add("GET /robots.txt (baseline)", robots)
    add("GET status, first in a process", first)
    worst = {key: max(c[key] for c in steady) for key in ("session/auth", "own", "health")}
    add(
        f"GET status, next {len(steady)} (max)",
        worst,
        f"= {OWN_QUERIES_TARGET}",
        verdict(worst["own"] == OWN_QUERIES_TARGET),
    )
    table.notes.append(
        "session/auth: the django_session and auth_user lookups of every logged-in request; health check: "
        "the SELECT 1 Django sends before a reused connection's first query in each request "
        "(CONN_HEALTH_CHECKS); the first status request of a process, and one each 30 s, also reads "
        "the median processing time for the estimate"
    )
    return table, {"robots": robots["sql"], "status_first": first["sql"], "status_steady": steady[0]["sql"]}


# --- load --------------------------------------------------------------------------------------


def start_load(
    url: str,
    cookie: str,
    label: str,
    paths: list[str],
    concurrency: int,
    seconds: float,
    *,
    warmup: float = WARMUP,
    hard_stop: bool = False,
    keepalive: bool = True,
    stream: bool = False,
) -> subprocess.Popen:
    host, port = url.split("://", 1)[1].split(":")
    spec = {
        "host": host,
        "port": int(port),
        "headers": {"Cookie": f"sessionid={cookie}", "Accept": "application/json"},
        "phases": [
            {
                "label": label,
                "paths": paths,
                "concurrency": concurrency,
                "seconds": seconds,
                "warmup": warmup,
                "hard_stop": hard_stop,
                "keepalive": keepalive,
                "stream": stream,
            }
        ],
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench._load"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=_stack.ROOT,
    )
    proc.stdin.write(json.dumps(spec))
    proc.stdin.close()
    return proc


def finish_load(proc: subprocess.Popen) -> dict:
    out = proc.stdout.read()
    err = proc.stderr.read()
    if proc.wait(timeout=300) != 0:
        raise RuntimeError(f"load client failed: {err[-2000:]}")
    return json.loads(out)[0]


def summarise(parts: list[dict]) -> dict:
    latencies = [v for part in parts for v in part["latencies_ms"]]
    seconds = sum(part["seconds"] for part in parts)
    answered = sum(part["answered_total"] for part in parts) or 1
    return {
        "requests": len(latencies),
        "seconds": seconds,
        "rate": len(latencies) / seconds,
        "errors": sum(sum(part["errors"].values()) for part in parts),
        "error_kinds": [part["errors"] for part in parts],
        "p50_ms": percentile(latencies, 0.5),
        "p90_ms": percentile(latencies, 0.9),
        "p99_ms": percentile(latencies, 0.99),
        "max_ms": max(latencies, default=float("nan")),
        "mean_ms": statistics.fmean(latencies) if latencies else float("nan"),
        "cpu_ms_per_request": {
            kind: sum(part["cpu_s"][kind] for part in parts) * 1000 / answered
            for kind in ("gunicorn", "postgres", "client")
        },
    }


def polling_runs(url: str, cookie: str, status_paths: list[str], meter: CpuMeter) -> tuple[dict, int]:
    runs: dict[tuple[str, int], list[dict]] = {}
    connections = 0
    for concurrency in CONCURRENCY:
        for _turn in range(2):
            for label, paths in (("robots", ["/robots.txt"]), ("status", status_paths)):
                before = meter.snapshot()
                result = finish_load(start_load(url, cookie, label, paths, concurrency, SECONDS / 2))
                result["cpu_s"] = CpuMeter.used(before, meter.snapshot())
                runs.setdefault((label, concurrency), []).append(result)
        connections = max(connections, len(_stack.database_backends()))
        print(f"  ... {concurrency} polling clients done", file=sys.stderr)
    return {key: summarise(parts) for key, parts in runs.items()}, connections


def long_poll_levels(workers: int, threads: int) -> tuple[int, ...]:
    # half of one worker's threads; more than one worker's threads but fewer than all of them
    return (0, threads // 2, workers * threads * 3 // 4)


def long_poll_runs(
    url: str, cookie: str, status_paths: list[str], levels: tuple[int, ...], meter: CpuMeter
) -> dict[int, dict]:
    """Other requests while `waiting` pages long-poll prompts that never complete."""
    results = {}
    wait_paths = [f"{path}?wait={LONG_POLL_WAIT}" for path in status_paths]
    for waiting in levels:
        before = meter.snapshot()
        seconds = LONG_POLL_SECONDS if waiting else SECONDS / 2
        waiters = (
            start_load(url, cookie, "long poll", wait_paths, waiting, seconds + 1, warmup=0, hard_stop=True)
            if waiting
            else None
        )
        # No warmup: a request stuck from the first second on must count.
        others = finish_load(
            start_load(url, cookie, "robots", ["/robots.txt"], OTHER_CLIENTS, seconds, warmup=0.0, keepalive=False)
        )
        waited = finish_load(waiters) if waiters else None
        used = CpuMeter.used(before, meter.snapshot())
        others["cpu_s"] = used
        results[waiting] = {
            **summarise([others]),
            "cpu_share_of_one_core": {k: v / (seconds + 1) for k, v in used.items()},
            "long_polls_answered": waited["answered_total"] if waited else 0,
            "long_poll_errors": waited["errors"] if waited else {},
        }
        print(f"  ... {waiting} long polls done", file=sys.stderr)
        if waiting and waiting != levels[-1]:
            time.sleep(LONG_POLL_WAIT)  # the dropped long polls still hold their threads on the server
    return results


# --- 1,000 long polls on one ASGI web process ----------------------------------------------------

ASGI_WAITING = int(os.environ.get("BENCH_ASGI_WAITING", "1000"))
ASGI_ROUNDS = int(os.environ.get("BENCH_ASGI_ROUNDS", "4"))  # alternating: a busy spell hurts both sides
ASGI_IDLE_SECONDS = 10.0
ASGI_WARMUP = 6.0  # the waiting pages connect and start waiting before the others are measured
ASGI_LOADED_SECONDS = 20.0
ASGI_OTHER_TARGET = 1.20  # others' p95 with the pages waiting / idle


def _open_sockets(pid: int) -> int:
    count = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            count += os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:")
        except OSError:  # closed meanwhile
            pass
    return count


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


WAITER_MODES = ("long poll", "event stream")


def asgi_long_poll_runs(env: dict[str, str], cookie: str, status_paths: list[str]) -> tuple[Table, dict]:
    """One web process of the Procfile's kind (gunicorn + uvicorn's worker), ASGI_WAITING processing
    pages waiting on prompts that never complete, and the p95 of other requests (GET /robots.txt and a
    plain GET status, a new connection each) against the same process idle, in alternating rounds. The
    pages wait in two ways, in turn: long-polling (?wait=10..20, then again: the page's fallback, and how
    it waited before the stream) and on their event streams (one request each; a status event every
    PROCESSING_EVENTS_EVERY_SECONDS): the page's way once its first, preloaded, long poll is over."""
    web, url = _stack.start_asgi(env, workers=1)
    worker = [p for p in _stack.process_tree(web.pid) if p != web.pid][0]
    # Waits of 10-20 s: pages that opened at different moments do not all come back at once.
    paths = {
        "long poll": [f"{path}?wait={wait}" for wait in range(10, 21) for path in status_paths],
        "event stream": [f"{path}events/" for path in status_paths],
    }
    others_paths = ["/robots.txt", status_paths[0]]
    rounds: dict[str, list[dict]] = {"idle": [], **{mode: [] for mode in WAITER_MODES}}
    cpu: dict[str, list[tuple[float, float]]] = {mode: [] for mode in rounds}  # (CPU seconds, wall seconds)
    samples: dict[str, list[dict]] = {mode: [] for mode in WAITER_MODES}
    try:
        for _round in range(ASGI_ROUNDS):
            with worker_cpu(worker, cpu["idle"]):
                rounds["idle"].append(
                    finish_load(
                        start_load(
                            url, cookie, "others", others_paths, OTHER_CLIENTS, ASGI_IDLE_SECONDS, keepalive=False
                        )
                    )
                )
            for mode in WAITER_MODES:
                rounds[mode].append(_waiting_round(url, cookie, mode, paths[mode], others_paths, worker, cpu[mode]))
                samples[mode].append(rounds[mode][-1].pop("sample"))
                time.sleep(1.0)
                print(f"  ... ASGI round {_round + 1}, {mode}: {samples[mode][-1]}", file=sys.stderr)
    finally:
        _stack.stop(web)
    idle = summarise_latencies(rounds["idle"])
    table = Table(
        f"One ASGI web process (gunicorn + uvicorn_worker, as the Procfile): {ASGI_WAITING} processing pages "
        "waiting on prompts that never complete, long-polling (?wait=10..20) or on their event streams, vs idle; "
        f"{OTHER_CLIENTS} other clients (GET /robots.txt and a plain GET status, a new connection each); "
        + "load average "
        + ", ".join(f"{v:.2f}" for v in os.getloadavg()),
        [
            "waiting pages",
            "others answered",
            "others p50 ms",
            "others p95 ms",
            "others errors",
            "p95 vs idle",
            "web CPU (of a core)",
            "target",
            "result",
        ],
    )
    share = {k: sum(c for c, _ in v) / max(sum(w for _, w in v), 1e-9) for k, v in cpu.items()}
    table.add(
        "0 (idle)",
        idle["requests"],
        round(idle["p50_ms"], 1),
        round(idle["p95_ms"], 1),
        idle["errors"],
        "—",
        f"{share['idle']:.2f}",
        "—",
        "—",
    )
    results: dict = {"idle": idle, "worker_cpu_share": share}
    for mode in WAITER_MODES:
        waiting = summarise_latencies(rounds[mode])
        ratio = waiting["p95_ms"] / idle["p95_ms"] if idle["p95_ms"] else float("nan")
        waiter_errors = sum(sum(r["waiters"]["errors"].values()) for r in rounds[mode])
        target = mode == "event stream"  # what a waiting page does (the long poll: its fallback, the baseline)
        ok = ratio <= ASGI_OTHER_TARGET and waiting["errors"] == 0 and waiter_errors == 0
        table.add(
            f"{ASGI_WAITING}, {mode}",
            waiting["requests"],
            round(waiting["p50_ms"], 1),
            round(waiting["p95_ms"], 1),
            waiting["errors"],
            f"{ratio:.2f}×",
            f"{share[mode]:.2f}",
            f"<= {ASGI_OTHER_TARGET:.2f}×, errors 0" if target else "— (before)",
            verdict(ok) if target else "—",
        )
        answered = sum(r["waiters"]["answered_total"] for r in rounds[mode])
        opened = sum(r["waiters"].get("streams_opened") or 0 for r in rounds[mode])
        events = sum(r["waiters"].get("events") or 0 for r in rounds[mode])
        table.notes.append(
            (
                f"{mode}: streams opened {opened}, status events received {events}"
                if mode == "event stream"
                else f"{mode}: long polls answered {answered}"
            )
            + f", errors {waiter_errors} (dropped at the end of a round are not errors); sampled mid-run: "
            f"worker threads {[s['threads'] for s in samples[mode]]}, RSS MB {[s['rss_mb'] for s in samples[mode]]}, "
            f"open sockets {[s['open_sockets'] for s in samples[mode]]}, "
            f"PostgreSQL connections {[s['db_connections'] for s in samples[mode]]}"
        )
        idle_seconds, waiting_seconds = idle["p95_by_second_ms"], waiting["p95_by_second_ms"]
        if idle_seconds and waiting_seconds:
            bursts = sum(v > 2 * idle["p95_ms"] for v in waiting_seconds)
            table.notes.append(
                f"{mode}: others' p95 second by second: idle median {statistics.median(idle_seconds):.1f}, worst "
                f"{max(idle_seconds):.1f} ms; pages waiting median {statistics.median(waiting_seconds):.1f}, worst "
                f"{max(waiting_seconds):.1f} ms, {bursts} of {len(waiting_seconds)} seconds above twice the idle p95"
            )
        results[mode] = {
            "waiting": waiting,
            "ratio": ratio,
            "samples": samples[mode],
            "waiter_errors": waiter_errors,
            "waiter_answers": answered,
            "streams_opened": opened,
            "waiter_events": events,
            "target": target,
            "pass": ok,
        }
    table.notes.append(
        f"{ASGI_ROUNDS} rounds, each: idle {ASGI_IDLE_SECONDS:.0f} s, then for each way of waiting "
        f"{ASGI_WARMUP:.0f} s for the pages to connect and {ASGI_LOADED_SECONDS:.0f} s measured; "
        f"the web worker's CPU per other request idle: "
        f"{1000 * sum(c for c, _ in cpu['idle']) / max(sum(r['answered_total'] for r in rounds['idle']), 1):.2f} ms"
    )
    return table, results


def _waiting_round(url, cookie, mode, paths, others_paths, worker, cpu) -> dict:
    """ASGI_WAITING pages waiting in `mode` while the others are measured; their answers and a sample."""
    waiters = start_load(
        url,
        cookie,
        mode,
        paths,
        ASGI_WAITING,
        ASGI_LOADED_SECONDS,
        warmup=ASGI_WARMUP,
        hard_stop=True,
        stream=mode == "event stream",
    )
    time.sleep(ASGI_WARMUP)
    cpu_before = (_stack.cpu_seconds(worker), time.perf_counter())
    others = start_load(url, cookie, "others", others_paths, OTHER_CLIENTS, ASGI_LOADED_SECONDS - 1, keepalive=False)
    time.sleep(ASGI_LOADED_SECONDS / 2)
    sample = {
        "threads": len(os.listdir(f"/proc/{worker}/task")),
        "rss_mb": round(_rss_mb(worker), 1),
        "db_connections": len(_stack.database_backends()),
        "open_sockets": _open_sockets(worker),
    }
    result = finish_load(others)
    cpu.append((_stack.cpu_seconds(worker) - cpu_before[0], time.perf_counter() - cpu_before[1]))
    return {**result, "waiters": finish_load(waiters), "sample": sample}


@contextlib.contextmanager
def worker_cpu(pid: int, into: list[tuple[float, float]]):
    """Appends the CPU seconds `pid` used and the wall seconds that passed inside the block."""
    cpu, wall = _stack.cpu_seconds(pid), time.perf_counter()
    yield
    into.append((_stack.cpu_seconds(pid) - cpu, time.perf_counter() - wall))


def summarise_latencies(parts: list[dict]) -> dict:
    latencies = [v for part in parts for v in part["latencies_ms"]]
    return {
        "requests": len(latencies),
        "errors": sum(sum(part["errors"].values()) for part in parts),
        "p50_ms": percentile(latencies, 0.5),
        "p95_ms": percentile(latencies, 0.95),
        "max_ms": max(latencies, default=float("nan")),
        "p95_by_second_ms": p95_by_second(parts),
    }


def p95_by_second(parts: list[dict]) -> list[float]:
    """The p95 of each whole second of each round: whether the time is lost evenly or in bursts."""
    seconds: list[float] = []
    for part in parts:
        by_second: dict[int, list[float]] = {}
        for latency, at in zip(part["latencies_ms"], part.get("started_at_s", []), strict=False):
            by_second.setdefault(int(at), []).append(latency)
        seconds += [round(percentile(v, 0.95), 1) for _, v in sorted(by_second.items()) if len(v) >= 20]
    return seconds


def run() -> None:
    print_header(NAME)
    busy_before = _stack.other_cpu_share()
    options = _stack.procfile_web_options()
    # The threaded WSGI worker as the Procfile ran it before the ASGI worker (16 threads).
    workers, threads = options.get("workers", 2), options.get("threads", 16)
    with _stack.prepared_site() as env:
        from django.contrib.auth import get_user_model

        user = get_user_model().objects.get(username="bench")
        status_paths = [f"/api/prompt/status/{u}/" for u in make_prompts(user)]
        cookie = session_cookie(user)
        queries_table, sql = count_queries(cookie, status_paths)

        asgi_table, asgi = asgi_long_poll_runs(env, cookie, status_paths)
        print(asgi_table.render())
        if PARTS == "asgi":
            write_results(NAME + "_asgi", [asgi_table], asgi=asgi)
            return
        web, url = _stack.start_gunicorn(env, workers=workers, threads=threads)
        try:
            meter = CpuMeter(web.pid)
            polling, connections = polling_runs(url, cookie, status_paths, meter)
            long_polls = long_poll_runs(url, cookie, status_paths, long_poll_levels(workers, threads), meter)
        finally:
            _stack.stop(web)
    busy_after = _stack.other_cpu_share()

    load_table = Table(
        f"GET status vs GET /robots.txt, closed loop from a second process: gunicorn {workers} workers "
        f"x {threads} threads (Procfile), PostgreSQL, {SECONDS:.0f} s each",
        [
            "clients",
            "request",
            "req/s",
            "p50 ms",
            "p99 ms",
            "errors",
            "CPU ms/req web",
            "CPU ms/req db",
            "CPU ms/req client",
            "vs baseline",
            "target",
            "result",
        ],
    )
    for concurrency in CONCURRENCY:
        base, status = polling[("robots", concurrency)], polling[("status", concurrency)]
        for name, row in (("GET /robots.txt (baseline)", base), ("GET status", status)):
            cpu = row["cpu_ms_per_request"]
            if row is base:
                extra = ("—", "errors = 0", verdict(row["errors"] == 0))
            else:
                extra = (
                    f"{row['rate'] / base['rate']:.2f}×",
                    f">= {RATE_TARGET:.0f}/s, errors = 0",
                    verdict(row["rate"] >= RATE_TARGET and row["errors"] == 0),
                )
            load_table.add(
                concurrency,
                name,
                round(row["rate"], 1),
                round(row["p50_ms"], 1),
                round(row["p99_ms"], 1),
                row["errors"],
                round(cpu["gunicorn"], 2),
                round(cpu["postgres"], 2),
                round(cpu["client"], 2),
                *extra,
            )
    best = max(polling[("status", c)]["rate"] for c in CONCURRENCY)
    load_table.notes.append(
        f"{PROMPTS} prompts in processing, one user, the session cookie on every request. At its best "
        f"rate the status endpoint alone serves ~{best * POLL_SECONDS:.0f} processing pages polling "
        f"every {POLL_SECONDS:.0f} s"
    )
    load_table.notes.append(
        "CPU ms/req: CPU time of the gunicorn workers / our PostgreSQL backends / the load client "
        "during the turn, divided by the requests answered (the three share 2 CPUs)"
    )
    load_table.notes.append(
        f"PostgreSQL connections held open by gunicorn after the runs: {connections} "
        f"(one per thread that served a query, kept CONN_MAX_AGE s; Heroku's small plans allow 20)"
    )
    for share, when in ((busy_before, "before"), (busy_after, "after")):
        if share is not None:
            busy = share > 0.10
            load_table.notes.append(
                f"{'MACHINE BUSY: ' if busy else ''}other processes used {share:.0%} of the "
                f"{os.cpu_count()} CPUs just {when} the runs" + ("; rates are noisy" if busy else "")
            )

    long_table = Table(
        f"GET /robots.txt ({OTHER_CLIENTS} clients, a new connection each) while processing pages long-poll "
        f"(?wait={LONG_POLL_WAIT}, prompts that never complete); gunicorn {workers} x {threads} threads",
        ["waiting pages", "robots req/s", "answered", "p50 ms", "p99 ms", "max ms", "errors", "target max", "result"],
    )
    for waiting, row in long_polls.items():
        target, result = "—", "—"
        if waiting:
            target = f"< {OTHER_MAX_TARGET_MS:.0f}"
            result = verdict(row["max_ms"] < OTHER_MAX_TARGET_MS and row["errors"] == 0)
        long_table.add(
            f"{waiting} (baseline)" if waiting == 0 else waiting,
            round(row["rate"], 1),
            row["requests"],
            round(row["p50_ms"], 1),
            round(row["p99_ms"], 1),
            round(row["max_ms"], 1),
            row["errors"],
            target,
            result,
        )
    long_table.notes.append(
        "each waiting page holds a gunicorn thread (and its database connection) and re-reads its "
        "status every 0.2 s (selectors.wait_for_status); a worker whose threads all wait still "
        "accepts connections, and their requests queue until a long poll ends (its prompt completes "
        "or the wait runs out). Connections are not spread evenly over the workers: one idle accept "
        "loop can take them all"
    )
    long_table.notes.append("target: no other request waits behind long polls (max < 1 s)")

    print(load_table.render())
    print(queries_table.render())
    print(long_table.render())
    print(asgi_table.render())
    raw = {f"{label}_{c}": row for (label, c), row in polling.items()}
    write_results(
        NAME,
        [load_table, queries_table, long_table, asgi_table],
        raw=raw,
        asgi=asgi,
        long_poll={str(k): v for k, v in long_polls.items()},
        sql=sql,
        gunicorn=options,
        other_processes_cpu_share={"before": busy_before, "after": busy_after},
    )
