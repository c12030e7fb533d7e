"""Faults together, under load (issue 24): the way production fails, from outside.

20 people do the whole flow (log in, presign, PUT, complete, moderate, variants, submit, then wait on
the processing page as it does: its first long poll, then its event stream) against gunicorn
(gunicorn.conf.py, 2 workers x 8 threads) + two worker processes (`manage.py worker`, 2 workers
each) + PostgreSQL + the fake OpenAI server (tests/fake_openai.py), slow (0.5-3 s) and failing 10 %
of the time, while on a schedule:
a worker dyno is SIGKILLed (and restarted 5 s later, as Heroku does) twice and a single worker
process once, the AI hangs for 40 s, the database goes away for 8 s, and gunicorn gets SIGTERM
once in a rolling restart (the new server starts, the "router" sends new requests to it, the old one
drains). The first stretch has no fault: the baseline of the same run.

The database fault is, by default, this benchmark's own database refusing connections for 8 s
with every connection to it cut (ALTER DATABASE ... ALLOW_CONNECTIONS false +
pg_terminate_backend): what a restart or failover looks like to the site, without touching the
shared server. `--restart-postgres` restarts the real server instead (pg_ctlcluster): never on a
machine others use.

Reports requests by endpoint and status, time to completion per prompt, AI calls per prompt, files
on disk against files referenced, and PASS/MISS: 0 lost, 0 duplicated, 0 over the page's 120 s,
0 requests over 30 s, 0 failed requests across the gunicorn restart, 0 leaked files, under 12
minutes. Writes bench/results/chaos.json.

    python -m bench chaos                # CHAOS_USERS=20 CHAOS_SECONDS=240 by default
    python -m bench.chaos --restart-postgres
"""

from __future__ import annotations

import os
import random
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from datetime import timedelta
from pathlib import Path

from bench import _stack
from bench.common import Table, print_header, verdict, write_results

USERS = int(os.environ.get("CHAOS_USERS", "20"))
DURATION = float(os.environ.get("CHAOS_SECONDS", "240"))
ONE_BY_ONE = os.environ.get("CHAOS_UPLOAD_STEPS", "") == "1"
# The old and the new web server (CHAOS_PORTS: two loopback ports of your own).
PORTS = tuple(int(port) for port in os.environ.get("CHAOS_PORTS", "8601,8602").split(","))
PAGE_LIMIT = 120.0  # the processing page's error notice (PROCESSING_ERROR_MS)
ROUTER_LIMIT = 30.0  # Heroku's router gives up (H12)
LONG_POLL = 20.0
DB_OUTAGE_SECONDS = 8.0
AI_HANG_SECONDS = 40.0
RUN_LIMIT = 12 * 60
# When each fault happens, as a share of the run.
SCHEDULE = [
    (0.12, "kill worker dyno A"),
    (0.25, "AI hangs 40 s"),
    (0.42, "database away 8 s"),
    (0.55, "kill worker dyno B"),
    (0.68, "gunicorn SIGTERM (rolling restart)"),
    (0.85, "kill one worker process"),
]


class Router:
    """Where new requests go: like Heroku's router, the newest web server once it answers."""

    def __init__(self, url: str):
        self._url, self._lock = url, threading.Lock()

    @property
    def url(self) -> str:
        with self._lock:
            return self._url

    def switch(self, url: str) -> None:
        with self._lock:
            self._url = url


class Log:
    def __init__(self):
        self.lock = threading.Lock()
        self.requests: list[tuple[str, str, float, float]] = []  # endpoint, outcome, started, seconds
        self.prompts: list[dict] = []
        self.events: list[tuple[float, str]] = []

    def request(self, endpoint: str, outcome: str, started: float, seconds: float) -> None:
        with self.lock:
            self.requests.append((endpoint, outcome, started, seconds))

    def event(self, what: str) -> None:
        with self.lock:
            self.events.append((time.monotonic(), what))
        print(f"  [{time.strftime('%H:%M:%S')}] {what}", file=sys.stderr)


class Person(threading.Thread):
    """One person in a browser: the upload page's steps in order, then the processing page."""

    def __init__(self, index: int, router: Router, log: Log, stop_at: float):
        super().__init__(daemon=True)
        self.index, self.router, self.log, self.stop_at = index, router, log, stop_at
        self.username = f"chaos{index}"

    def call(self, endpoint: str, method: str, path: str, **kwargs):
        """One request, retried after a 503 as the page does (after Retry-After); None when it failed."""
        for _attempt in range(8):
            url = path if path.startswith("http") else self.router.url + path
            started = time.monotonic()
            try:
                response = self.session.request(method, url, timeout=60, allow_redirects=False, **kwargs)
            except Exception as exc:  # refused, reset, timed out: a failed request
                self.log.request(endpoint, f"failed: {type(exc).__name__}", started, time.monotonic() - started)
                return None
            self.log.request(endpoint, str(response.status_code), started, time.monotonic() - started)
            if response.status_code == 503 and response.headers.get("Retry-After"):
                time.sleep(min(10, float(response.headers["Retry-After"])))
                continue
            if response.status_code == 409 and response.headers.get("Retry-After"):  # still checking
                time.sleep(float(response.headers["Retry-After"]))
                continue
            return response
        return None

    def run(self):
        import requests

        self.session = requests.Session()
        self.session.get(self.router.url + "/accounts/login/", timeout=30)
        login = self.call(
            "login",
            "POST",
            "/accounts/login/",
            data={
                "username": self.username,
                "password": _stack.PASSWORD,
                "csrfmiddlewaretoken": self.session.cookies["csrftoken"],
            },
        )
        if login is None or login.status_code != 302:
            self.log.event(f"{self.username} could not log in")
            return
        seed = self.index * 10_000
        while time.monotonic() < self.stop_at:
            seed += 1
            self.one_upload(seed)
            time.sleep(random.uniform(1, 3))

    def one_upload(self, seed: int) -> None:
        headers = {"X-CSRFToken": self.session.cookies["csrftoken"]}
        data = _stack.synthetic_photo(seed, size=(1200, 900), shapes=16)
        presigned = self.call(
            "presign",
            "POST",
            "/api/upload/b2/presign/",
            json={"filename": "chaos.jpg", "content_type": "image/jpeg", "file_size": len(data)},
            headers=headers,
        )
        if presigned is None or presigned.status_code != 200:
            return
        answer = presigned.json()
        put = self.call("PUT", "PUT", answer["presigned_url"], data=data, headers=answer["headers"])
        if put is None or put.status_code != 200:
            return
        # What the upload page calls: finish/ (complete, then moderation and variants side by side);
        # CHAOS_UPLOAD_STEPS=1 calls complete/, moderate/ and variants/ one by one as other clients may.
        for step in ("complete", "moderate", "variants") if ONE_BY_ONE else ("finish",):
            response = self.call(
                step, "POST", f"/api/upload/b2/{step}/", json={"upload_id": answer["upload_id"]}, headers=headers
            )
            if response is None or response.status_code != 200:
                return
            check = response.json().get("moderation", {}) if step == "finish" else response.json()
            if step in ("moderate", "finish") and check.get("action") == "reject":
                return
        text = f"chaos prompt {self.username}-{seed}: a lighthouse on a cliff at dusk"
        submit = self.call(
            "submit",
            "POST",
            "/upload/submit/",
            data={
                "upload_id": answer["upload_id"],
                "content": text,
                "ai_generator": "flux",
                "csrfmiddlewaretoken": self.session.cookies["csrftoken"],
            },
        )
        if submit is None or submit.status_code != 302:
            return
        submitted = time.monotonic()
        record = {"upload_id": answer["upload_id"], "text": text, "submitted": submitted}
        with self.log.lock:
            self.log.prompts.append(record)
        self.wait_like_the_page(record, submit.headers["Location"].rstrip("/").rsplit("/", 1)[-1])

    def wait_like_the_page(self, record: dict, processing_uuid: str) -> None:
        """static/js/processing.js: the first long poll (preloaded, never past the next notice), then the
        event stream, reconnecting when it ends; polling when a stream is refused, the stream again once a
        poll is answered (three failed streams at most); the error notice at 120 s unless the server says a
        retry is due."""
        retrying, poll_next, stream_failures = False, True, 0  # the first status: the preloaded long poll
        while True:
            elapsed = time.monotonic() - record["submitted"]
            if elapsed >= PAGE_LIMIT and not retrying:
                record["page_error_notice"] = True
                return
            if elapsed > 3 * PAGE_LIMIT:
                record["gave_up"] = True
                return
            if not poll_next and stream_failures < 3 and elapsed < PAGE_LIMIT:
                answer = self.follow_the_stream(record, processing_uuid)
                if answer is None:  # refused: poll, then the stream again once a poll is answered
                    stream_failures, poll_next = stream_failures + 1, True
                    time.sleep(3)
                    continue
            else:
                next_notice = (60.0 if elapsed < 60 else PAGE_LIMIT) - elapsed
                wait = max(0.0, min(LONG_POLL, next_notice))
                status = self.call("status", "GET", f"/api/prompt/status/{processing_uuid}/?wait={wait:.1f}")
                if status is None or status.status_code != 200:
                    time.sleep(3)
                    continue
                poll_next = False
                answer = status.json()
                if not answer.get("processing_complete") and (wait == 0 or answer.get("waited") is False):
                    time.sleep(3)
            if answer.get("processing_complete"):
                record["seen_complete_after"] = time.monotonic() - record["submitted"]
                record["success"] = answer.get("success")
                return
            retrying = answer.get("retrying") is True

    def follow_the_stream(self, record: dict, processing_uuid: str) -> dict | None:
        """One event stream, read until the prompt is complete, the page's notice is due, or the server ends
        it (its last status, after the reconnection delay); None when it was refused or could not start.
        Logged as "events" with the time to its first byte: Heroku's router holds that to 30 s, not the
        stream's length."""
        import json

        import requests

        url = f"{self.router.url}/api/prompt/status/{processing_uuid}/events/"
        started = time.monotonic()
        try:
            response = self.session.get(url, stream=True, timeout=(10, 30))
        except requests.RequestException as exc:
            self.log.request("events", f"failed: {type(exc).__name__}", started, time.monotonic() - started)
            return None
        self.log.request("events", str(response.status_code), started, time.monotonic() - started)
        if response.status_code != 200:
            response.close()
            return None
        answer, retry = None, 0.25
        try:
            for line in response.iter_lines():
                if line.startswith(b"retry: "):
                    retry = int(line[len(b"retry: ") :]) / 1000
                if not line.startswith(b"data: "):
                    continue
                answer = json.loads(line[len(b"data: ") :])
                late = time.monotonic() - record["submitted"] >= PAGE_LIMIT
                if answer["processing_complete"] or (late and answer.get("retrying") is not True):
                    return answer
        except requests.RequestException as exc:  # cut off: the page's EventSource reconnects
            self.log.event(f"{self.username}: an event stream was cut off ({type(exc).__name__})")
        finally:
            response.close()
        time.sleep(retry)
        return answer or {}


# --- the stack -----------------------------------------------------------------------------


def start_web(env: dict, port: int) -> tuple[subprocess.Popen, str]:
    command = [sys.executable, "-m", "gunicorn", "prompts_manager.asgi:application", "-c", "gunicorn.conf.py"]
    proc = _stack.start([*command, "--bind", f"127.0.0.1:{port}"], env, f"chaos-gunicorn-{port}")
    url = f"http://127.0.0.1:{port}"
    _wait_for(url)
    return proc, url


def _wait_for(url: str) -> None:
    import requests

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not start; see the log in the temp directory")


def start_worker(env: dict, name: str) -> subprocess.Popen:
    return _stack.start([sys.executable, "manage.py", "worker"], {**env, "Q_WORKERS": "2"}, f"chaos-{name}")


def kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(timeout=10)


def database_away(seconds: float, *, restart_server: bool) -> None:
    import psycopg2

    if restart_server:
        version = sorted(p.name for p in Path("/etc/postgresql").iterdir())[-1]
        subprocess.run(
            ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"], check=True, timeout=120
        )
        return
    admin = psycopg2.connect(f"{_stack.PG}/postgres")
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f"ALTER DATABASE {_stack.DB_NAME} ALLOW_CONNECTIONS false")
        cur.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            [_stack.DB_NAME],
        )
        time.sleep(seconds)
        cur.execute(f"ALTER DATABASE {_stack.DB_NAME} ALLOW_CONNECTIONS true")
    admin.close()


class Faults(threading.Thread):
    def __init__(self, *, log, env, workers, web, router, fake, start, restart_postgres):
        super().__init__(daemon=True)
        self.log, self.env, self.workers, self.web, self.router, self.fake = log, env, workers, web, router, fake
        self.start_at, self.restart_postgres = start, restart_postgres
        self.sigterm_at: float | None = None
        self.old_web_stopped_after: float | None = None
        self.first_fault_at = start + SCHEDULE[0][0] * DURATION

    def run(self):
        for share, what in SCHEDULE:
            time.sleep(max(0.0, self.start_at + share * DURATION - time.monotonic()))
            self.log.event(what)
            if what.startswith("kill worker dyno"):
                name = what[-1]
                kill_group(self.workers[name])
                time.sleep(5)  # Heroku restarts a crashed dyno
                self.workers[name] = start_worker(self.env, f"worker-{name}")
            elif what.startswith("AI hangs"):
                self.fake.hang(window=AI_HANG_SECONDS, seconds=AI_HANG_SECONDS)
            elif what.startswith("database"):
                database_away(DB_OUTAGE_SECONDS, restart_server=self.restart_postgres)
                self.log.event("database back")
            elif what.startswith("gunicorn"):
                old, old_url = self.web
                port = PORTS[1] if old_url.endswith(str(PORTS[0])) else PORTS[0]
                new = start_web(self.env, port)
                self.router.switch(new[1])
                time.sleep(0.5)  # requests already routed to the old server are on their way
                self.sigterm_at = time.monotonic()
                os.kill(old.pid, signal.SIGTERM)
                old.wait(timeout=60)
                self.old_web_stopped_after = time.monotonic() - self.sigterm_at
                self.log.event(f"old gunicorn exited {self.old_web_stopped_after:.1f} s after SIGTERM")
                self.web = new
            elif what.startswith("kill one worker process"):
                # Below the sentinel: the workers, the monitor and the pusher. The busiest is a worker.
                main = self.workers["A"].pid
                below = [pid for pid in _stack.process_tree(main) if pid != main and _parent(pid) != main]
                if below:
                    busiest = max(below, key=_stack.cpu_seconds)
                    os.kill(busiest, signal.SIGKILL)


def _parent(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return 0


# --- what the run left behind -------------------------------------------------------------------


def files_on_disk(media_root: Path) -> set[str]:
    return {str(p.relative_to(media_root)) for p in media_root.rglob("*") if p.is_file()}


def referenced_files() -> set[str]:
    from prompts.models import Prompt, Upload
    from prompts.services.uploads import incoming_key

    keys = set()
    # A submitted upload's own keys are history: its prompt's keys are the live ones.
    for upload in Upload.objects.exclude(state=Upload.State.SUBMITTED):
        keys.add(upload.file_key)
        keys.update(upload.variant_keys.values())
        if upload.state in (Upload.State.PRESIGNED, Upload.State.CHECKING):
            keys.add(incoming_key(upload))
    for media_keys, stale in Prompt.objects.values_list("media_keys", "stale_media_keys"):
        keys.update(key for key in media_keys.values() if key)
        keys.update(stale)
    return keys


def percentile(values: list[float], share: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * (len(ordered) - 1) + 0.5))]


def run(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    restart_postgres = "--restart-postgres" in argv
    began = time.monotonic()
    print_header("chaos")
    _stack.DB_NAME = os.environ.get("BENCH_DB", "pf_s24_chaos")
    from tests.fake_openai import FakeOpenAI

    fake = FakeOpenAI().start()
    fake.weather(delay=(0.5, 3.0), failure_rate=0.10)
    extra = {
        **fake.env(timeout=30, max_retries=1),  # the production AI settings
        "WEB_THREADS": "8",
        "LOG_LEVEL": "WARNING",
    }
    with _stack.prepared_site(extra) as env:
        from django.db import connections
        from django.utils import timezone

        from prompts.models import Prompt, Upload
        from prompts.services import media_files
        from prompts.vocabulary import ensure_tag_vocabulary

        ensure_tag_vocabulary()
        for index in range(USERS):
            _stack.make_uploader(f"chaos{index}")  # uploading needs a verified email address
        media_root = Path(env["MEDIA_ROOT"])
        log = Log()
        web = start_web(env, PORTS[0])
        workers = {"A": start_worker(env, "worker-A"), "B": start_worker(env, "worker-B")}
        router = Router(web[1])
        start = time.monotonic()
        faults = Faults(
            log=log,
            env=env,
            workers=workers,
            web=web,
            router=router,
            fake=fake,
            start=start,
            restart_postgres=restart_postgres,
        )
        try:
            faults.start()
            people = [Person(i, router, log, start + DURATION) for i in range(USERS)]
            for person in people:
                person.start()
                time.sleep(0.1)
            for person in people:
                person.join(timeout=DURATION + 4 * PAGE_LIMIT)
            faults.join(timeout=120)
            log.event("people done; waiting for the last prompts")
            connections.close_all()  # the database fault cut this process's connection too
            deadline = time.monotonic() + 180
            while Prompt.objects.filter(processing_complete=False, is_deleted=False).exists():
                if time.monotonic() > deadline:
                    break
                time.sleep(2)
        finally:
            for proc in faults.workers.values():
                _stack.stop(proc)
            _stack.stop(faults.web[0])
            fake.stop()

        # What the person saw and what the database holds.
        submitted = list(log.prompts)
        by_upload = Counter(
            Prompt.objects.filter(upload_id__in=[p["upload_id"] for p in submitted]).values_list("upload_id", flat=True)
        )
        lost = [p for p in submitted if by_upload.get(_uuid(p["upload_id"]), 0) == 0]
        duplicated = sum(n - 1 for n in by_upload.values() if n > 1)
        too_many_tags = sum(1 for prompt in Prompt.objects.all() if prompt.tags.count() > 5)
        rows = {
            str(row["upload_id"]): row
            for row in Prompt.objects.values(
                "upload_id", "created_on", "processing_completed_at", "processing_complete", "needs_seo_review"
            )
        }
        completion = []
        incomplete = 0
        for record in submitted:
            row = rows.get(record["upload_id"])
            if row is None or not row["processing_complete"] or row["processing_completed_at"] is None:
                incomplete += 1
                continue
            completion.append((row["processing_completed_at"] - row["created_on"]).total_seconds())
        over_limit = sum(1 for seconds in completion if seconds > PAGE_LIMIT) + incomplete
        error_notices = sum(1 for record in submitted if record.get("page_error_notice"))
        ai_calls = Counter()
        for request in fake.requests_of("content"):
            for record in submitted:
                if record["text"].split(":")[0] + ":" in request.text:
                    ai_calls[record["upload_id"]] += 1
                    break
        calls_per_prompt = Counter(ai_calls.get(record["upload_id"], 0) for record in submitted)
        moderation_calls = len(fake.requests_of("moderation"))
        uploads_made = Upload.objects.count()

        on_disk_before = files_on_disk(media_root)
        referenced_before = referenced_files()
        # The schedules, as they will run later: stale copies after their grace, abandoned uploads after a day.
        later = timezone.now()
        media_files.purge_stale_media(now=later + timedelta(hours=1))
        media_files.sweep_orphaned_uploads(now=later + timedelta(hours=25))
        on_disk = files_on_disk(media_root)
        referenced = referenced_files()
        leaked = sorted(on_disk - referenced)
        missing = sorted(key for key in referenced if key not in on_disk and not key.endswith("/incoming.jpg"))

    total_seconds = time.monotonic() - began
    calm_until = faults.first_fault_at
    requests_table = Table(
        f"Requests by endpoint and status ({USERS} people, {DURATION:.0f} s; baseline = the first "
        f"{calm_until - start:.0f} s, before any fault)",
        ["endpoint", "status", "count", "calm p50 s", "p50 s", "p95 s", "max s", "over 30 s"],
    )
    grouped = defaultdict(list)
    for endpoint, outcome, started, seconds in log.requests:
        grouped[(endpoint, outcome)].append((started, seconds))
    order = ["login", "presign", "PUT", "complete", "moderate", "variants", "finish", "submit", "status", "events"]
    for (endpoint, outcome), items in sorted(grouped.items(), key=lambda kv: (order.index(kv[0][0]), kv[0][1])):
        seconds = [s for _, s in items]
        calm = [s for started, s in items if started < calm_until]
        requests_table.add(
            endpoint,
            outcome,
            len(items),
            round(statistics.median(calm), 2) if calm else "—",
            round(statistics.median(seconds), 2),
            round(percentile(seconds, 0.95), 2),
            round(max(seconds), 2),
            sum(1 for s in seconds if s > ROUTER_LIMIT),
        )

    def failed(outcome: str) -> bool:
        return outcome.startswith("failed") or (outcome.startswith("5") and outcome != "503")

    sigterm = faults.sigterm_at or 0.0
    around_restart = [
        r for r in log.requests if sigterm and sigterm - ROUTER_LIMIT <= r[2] <= sigterm + ROUTER_LIMIT and failed(r[1])
    ]
    all_failed = [r for r in log.requests if failed(r[1])]
    over_30 = [r for r in log.requests if r[3] > ROUTER_LIMIT]
    calm_completion = [
        (rows[p["upload_id"]]["processing_completed_at"] - rows[p["upload_id"]]["created_on"]).total_seconds()
        for p in submitted
        if p["submitted"] < calm_until and p["upload_id"] in rows and rows[p["upload_id"]]["processing_completed_at"]
    ]
    completion_table = Table(
        "Time to completion per prompt (submit to processing_complete, from the database)",
        ["prompts", "calm p50 s", "p50 s", "p95 s", "max s", "over 120 s", "page error notice", "limited details"],
    )
    completion_table.add(
        len(submitted),
        round(statistics.median(calm_completion), 1) if calm_completion else "—",
        round(statistics.median(completion), 1) if completion else "—",
        round(percentile(completion, 0.95), 1),
        round(max(completion), 1) if completion else "—",
        over_limit,
        error_notices,
        sum(1 for row in rows.values() if row["needs_seo_review"]),
    )
    ai_table = Table("AI calls", ["measure", "value"])
    for calls in sorted(calls_per_prompt):
        ai_table.add(f"prompts with {calls} content call(s)", calls_per_prompt[calls])
    ai_table.add("moderation calls (all uploads)", moderation_calls)
    ai_table.add("uploads made", uploads_made)
    files_table = Table("Files", ["measure", "value"])
    files_table.add("on disk at the end of the run", len(on_disk_before))
    files_table.add("referenced by a row", len(referenced_before))
    files_table.add("on disk, unreferenced (the sweeps' work)", len(on_disk_before - referenced_before))
    files_table.add("on disk after the sweeps", len(on_disk))
    files_table.add("leaked (on disk, referenced by nothing, after the sweeps)", len(leaked))
    files_table.add("referenced but missing", len(missing))
    summary = Table("Outcome", ["target", "value", "goal", "result"])
    summary.add("uploads made (else nothing was tested)", uploads_made, "> 0", verdict(uploads_made > 0))
    summary.add("lost prompts", len(lost), "0", verdict(not lost))
    summary.add(
        "duplicated prompts (or tags)", duplicated + too_many_tags, "0", verdict(duplicated + too_many_tags == 0)
    )
    summary.add("prompts over the page's 120 s", over_limit, "0", verdict(over_limit == 0))
    summary.add("requests over 30 s", len(over_30), "0", verdict(not over_30))
    summary.add("failed requests across the gunicorn restart", len(around_restart), "0", verdict(not around_restart))
    summary.add("leaked files", len(leaked), "0", verdict(not leaked))
    summary.add("run time (s)", round(total_seconds), f"< {RUN_LIMIT}", verdict(total_seconds < RUN_LIMIT))
    summary.add("failed requests, whole run", len(all_failed), "—", "—")
    cut_streams = sum(1 for _at, what in log.events if "event stream was cut off" in what)
    streams = sum(1 for r in log.requests if r[0] == "events")
    summary.add(
        f"event streams cut off (of {streams}; a stopping server ends them, the pages reconnect)",
        cut_streams,
        "0",
        verdict(cut_streams == 0),
    )
    summary.add(
        "old gunicorn exited after SIGTERM (s)",
        round(faults.old_web_stopped_after or -1, 1),
        "< 30",
        verdict((faults.old_web_stopped_after or 99) < ROUTER_LIMIT),
    )
    if restart_postgres:
        summary.notes.append("database fault: the PostgreSQL server restarted (pg_ctlcluster restart)")
    else:
        summary.notes.append(
            f"database fault: this run's database refused connections for {DB_OUTAGE_SECONDS:.0f} s with every "
            "connection cut (not a server restart: the server is shared)"
        )
    if all_failed:
        summary.notes.append("failed: " + "; ".join(f"{r[0]} {r[1]}" for r in all_failed[:8]))
    if leaked:
        summary.notes.append("leaked: " + ", ".join(leaked[:5]))
    if lost:
        summary.notes.append("lost: " + ", ".join(p["upload_id"] for p in lost[:5]))
    tables = [requests_table, completion_table, ai_table, files_table, summary]
    for table in tables:
        print(table.render())
        print()
    events = [(round(at - start, 1), what) for at, what in log.events]
    write_results(
        "chaos",
        tables,
        users=USERS,
        seconds=DURATION,
        events=events,
        load_after=os.getloadavg(),
        completion_seconds=sorted(round(s, 1) for s in completion),
    )


def _uuid(value: str):
    import uuid

    return uuid.UUID(value)


if __name__ == "__main__":
    run()
