"""100 simulated people doing the whole flow for several minutes against gunicorn + qcluster + PostgreSQL.

Each person logs in, then over and over: presign -> PUT -> complete -> moderate -> variants ->
submit -> poll the status every 3 s until complete. We count errors (any 5xx, any request that
failed) and, at the end, check that every submitted prompt exists and completed: none lost.
The baseline in the same run is one person alone doing the same flow (per-step latency).
Like a browser, the client re-sends a GET once when a kept-alive connection was closed under it.
"""

from __future__ import annotations

import os
import statistics
import sys
import threading
import time
from collections import defaultdict

from bench import _stack
from bench.common import Table, print_header, verdict, write_results

USERS = int(os.environ.get("LOAD_USERS", "100"))
DURATION = float(os.environ.get("LOAD_SECONDS", "180"))
AI_DELAY = 1.0


class Person(threading.Thread):
    def __init__(self, url: str, username: str, password: str, stop_at: float, stats):
        super().__init__(daemon=True)
        self.url, self.username, self.password, self.stop_at, self.stats = url, username, password, stop_at, stats
        self.submitted: list[str] = []

    def timed(self, step: str, call):
        started = time.perf_counter()
        try:
            response = call()
        except Exception as exc:  # a connection error is an error of the run, never ignored
            self.stats["errors"].append(f"{step}: {type(exc).__name__}: {str(exc)[:160]}")
            return None
        self.stats["latency"][step].append((time.perf_counter() - started) * 1000)
        if response.status_code >= 500:
            self.stats["errors"].append(f"{step}: HTTP {response.status_code}")
        return response

    def run(self):
        import requests
        from requests.adapters import HTTPAdapter
        from urllib3.util.retry import Retry

        session = requests.Session()
        # Like a browser: a GET sent on a kept-alive connection that the server closed at that
        # moment is sent once more. POST/PUT are never retried here.
        session.mount(
            "http://",
            HTTPAdapter(max_retries=Retry(total=1, connect=1, read=1, status=0, allowed_methods=frozenset({"GET"}))),
        )
        session.get(f"{self.url}/accounts/login/")
        response = self.timed(
            "login",
            lambda: session.post(
                f"{self.url}/accounts/login/",
                data={
                    "username": self.username,
                    "password": self.password,
                    "csrfmiddlewaretoken": session.cookies["csrftoken"],
                },
                allow_redirects=False,
            ),
        )
        if response is None or response.status_code != 302:
            self.stats["errors"].append("login refused")
            return
        headers = {"X-CSRFToken": session.cookies["csrftoken"]}
        seed = hash(self.username) % 100000
        while time.time() < self.stop_at:
            seed += 1
            data = _stack.synthetic_photo(seed)
            presigned = self.timed(
                "presign",
                lambda: session.post(
                    f"{self.url}/api/upload/b2/presign/",
                    json={"filename": "load.jpg", "content_type": "image/jpeg", "file_size": len(data)},
                    headers=headers,
                ),
            )
            if presigned is None or presigned.status_code != 200:
                continue
            answer = presigned.json()
            put = self.timed(
                "PUT", lambda: session.put(self.url + answer["presigned_url"], data=data, headers=answer["headers"])
            )
            if put is None or put.status_code != 200:
                continue
            ok = True
            for step in ("complete", "moderate", "variants"):
                response = self.timed(
                    step,
                    lambda: session.post(
                        f"{self.url}/api/upload/b2/{step}/", json={"upload_id": answer["upload_id"]}, headers=headers
                    ),
                )
                if response is None or response.status_code != 200:
                    ok = False
                    break
            if not ok:
                continue
            submit = self.timed(
                "submit",
                lambda: session.post(
                    f"{self.url}/upload/submit/",
                    data={
                        "upload_id": answer["upload_id"],
                        "content": f"load test prompt {seed}",
                        "ai_generator": "flux",
                        "csrfmiddlewaretoken": session.cookies["csrftoken"],
                    },
                    allow_redirects=False,
                ),
            )
            if submit is None or submit.status_code != 302:
                continue
            uuid = submit.headers["Location"].rstrip("/").rsplit("/", 1)[-1]
            self.submitted.append(answer["upload_id"])
            started = time.time()
            while time.time() - started < 120:
                status = self.timed("status", lambda: session.get(f"{self.url}/api/prompt/status/{uuid}/"))
                if status is not None and status.status_code == 200 and status.json().get("processing_complete"):
                    self.stats["completed_seen"] += 1
                    break
                time.sleep(3)


def run_people(url: str, users: list[tuple[str, str]], seconds: float) -> tuple[dict, list[Person]]:
    stats = {"latency": defaultdict(list), "errors": [], "completed_seen": 0}
    stop_at = time.time() + seconds
    people = [Person(url, name, password, stop_at, stats) for name, password in users]
    for person in people:
        person.start()
        time.sleep(0.05)  # a ramp, not a thundering herd
    for person in people:
        person.join(timeout=seconds + 180)
    return stats, people


def run() -> None:
    print_header("load")
    _stack.DB_NAME = "promptfinder_load"  # its own database: other benchmarks may run meanwhile
    from tests.fake_openai import FakeOpenAI

    fake = FakeOpenAI().start()
    fake.script("content", delay=AI_DELAY)
    with _stack.prepared_site({**fake.env(timeout=30, max_retries=0)}) as env:
        from prompts.models import Prompt, Upload

        users = []
        for index in range(USERS):
            _stack.make_uploader(f"load{index}")
            users.append((f"load{index}", _stack.PASSWORD))
        web, url = _stack.start_gunicorn(env, workers=2, threads=16)
        worker = _stack.start_qcluster(env, workers=2)
        try:
            alone, _ = run_people(url, [("bench", _stack.PASSWORD)], 20)
            crowd, people = run_people(url, users, DURATION)
            deadline = time.time() + 180
            while Prompt.objects.filter(processing_complete=False).exists() and time.time() < deadline:
                time.sleep(1)
        finally:
            _stack.stop(worker)
            _stack.stop(web)
            fake.stop()
        submitted = [upload_id for person in people for upload_id in person.submitted]
        found = Prompt.objects.filter(upload_id__in=submitted)
        lost = len(submitted) - found.count()
        incomplete = found.filter(processing_complete=False).count()
        duplicates = Upload.objects.filter(id__in=submitted).count() - found.values("upload_id").distinct().count()

    table = Table(
        f"Whole flow, {USERS} people for {DURATION:.0f} s: gunicorn (2x16 threads) + qcluster (2) + PostgreSQL",
        ["step", "alone p50 ms", "crowd p50 ms", "crowd p95 ms", "crowd p99 ms", "requests"],
    )
    for step in ("login", "presign", "PUT", "complete", "moderate", "variants", "submit", "status"):
        values = sorted(crowd["latency"].get(step, [0.0]))
        solo = alone["latency"].get(step, [0.0])
        table.add(
            step,
            round(statistics.median(solo), 1),
            round(statistics.median(values), 1),
            round(values[int(0.95 * (len(values) - 1))], 1),
            round(values[int(0.99 * (len(values) - 1))], 1),
            len(values),
        )
    summary = Table("Outcome", ["measure", "value", "target", "result"])
    summary.add("prompts submitted", len(submitted), "—", "—")
    summary.add("prompts/minute", round(len(submitted) / (DURATION / 60), 1), "—", "—")
    summary.add("errors (5xx or failed requests)", len(crowd["errors"]), "0", verdict(not crowd["errors"]))
    summary.add("lost prompts", lost, "0", verdict(lost == 0))
    summary.add("incomplete after 3 min drain", incomplete, "0", verdict(incomplete == 0))
    summary.add("uploads submitted twice", duplicates, "0", verdict(duplicates == 0))
    if crowd["errors"]:
        summary.notes.append("first errors: " + "; ".join(crowd["errors"][:5]))
    print(table.render())
    print(summary.render())
    write_results("load", [table, summary], errors=crowd["errors"][:50])
    print("  ... done", file=sys.stderr)
