"""Submit -> complete through the real HTTP endpoints, gunicorn, a real qcluster and PostgreSQL.

For each AI delay (0 s and 3 s) 50 uploads go through presign -> PUT -> complete -> moderate ->
variants, then are submitted one by one at a pace the two workers can keep up with, and we time:
(a) the submit request, (b) queue pickup (submit answered -> task started), (c) submit ->
processing_complete committed, (d) when a browser polling every 3 s from page load would see it.
The baseline in the same run is the AI's own delay: the overhead is (c) minus it.
"""

from __future__ import annotations

import io
import math
import statistics
import sys
import time

from bench import _stack
from bench.common import Table, percentile, print_header, verdict, write_results

UPLOADS = int(__import__("os").environ.get("BENCH_UPLOADS", "50"))
POLL_SECONDS = 3.0


def sample_jpeg(index: int) -> bytes:
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (1600, 1200), (40 + index % 200, 90, 160))
    ImageDraw.Draw(img).ellipse((200, 200, 900, 900), fill=(240, 200, 90))
    buffer = io.BytesIO()
    img.save(buffer, format="JPEG", quality=88)
    return buffer.getvalue()


def ready_upload(session, url: str, index: int) -> str:
    headers = {"X-CSRFToken": session.cookies["csrftoken"], "Referer": f"{url}/upload/"}
    data = sample_jpeg(index)
    presigned = session.post(
        f"{url}/api/upload/b2/presign/",
        json={"filename": f"bench-{index}.jpg", "content_type": "image/jpeg", "file_size": len(data)},
        headers=headers,
    ).json()
    put_url = presigned["presigned_url"]
    put_url = put_url if put_url.startswith("http") else url + put_url
    assert session.put(put_url, data=data, headers=presigned["headers"]).status_code == 200
    for step in ("complete", "moderate", "variants"):
        response = session.post(
            f"{url}/api/upload/b2/{step}/", json={"upload_id": presigned["upload_id"]}, headers=headers
        )
        assert response.status_code == 200, response.text
    return presigned["upload_id"]


def run_one(ai_delay: float, table: Table, raw: dict) -> None:
    from tests.fake_openai import FakeOpenAI

    fake = FakeOpenAI().start()
    fake.script("content", delay=ai_delay)
    with _stack.prepared_site(fake.env(timeout=30, max_retries=0)) as env:
        from django_q.models import Task

        from prompts.models import Prompt

        web, url = _stack.start_gunicorn(env)
        worker = _stack.start_qcluster(env, workers=2)
        try:
            session = _stack.logged_in_session(url)
            uploads = [ready_upload(session, url, i) for i in range(UPLOADS)]
            # Two workers finish one task each per (ai_delay + overhead): pace submits below that.
            gap = max(0.25, ai_delay / 2 + 0.3)
            submits = {}
            for index, upload_id in enumerate(uploads):
                started = time.time()
                response = session.post(
                    f"{url}/upload/submit/",
                    data={
                        "upload_id": upload_id,
                        "content": f"bench prompt number {index}, a lighthouse at dusk",
                        "ai_generator": "flux",
                        "csrfmiddlewaretoken": session.cookies["csrftoken"],
                    },
                    headers={"Referer": f"{url}/upload/"},
                    allow_redirects=False,
                )
                answered = time.time()
                assert response.status_code == 302, response.text[:300]
                submits[upload_id] = (started, answered)
                time.sleep(max(0.0, gap - (answered - started)))
            deadline = time.time() + 120 + UPLOADS * ai_delay
            while Prompt.objects.filter(processing_complete=False).exists() and time.time() < deadline:
                time.sleep(0.2)
        finally:
            _stack.stop(worker)
            _stack.stop(web)
            fake.stop()
        submit_ms, pickup_ms, run_ms, complete_ms, visible_ms = [], [], [], [], []
        for prompt in Prompt.objects.filter(processing_complete=True).select_related("upload"):
            started, answered = submits[str(prompt.upload_id)]
            task = Task.objects.filter(name=f"ai_content_{prompt.id}").order_by("started").first()
            completed = prompt.processing_completed_at.timestamp()
            submit_ms.append((answered - started) * 1000)
            # Enqueued on commit inside the submit request: pickup counts from the request's start.
            pickup_ms.append((task.started.timestamp() - started) * 1000)
            run_ms.append((task.stopped.timestamp() - task.started.timestamp()) * 1000)
            complete_ms.append((completed - started) * 1000)
            # The processing page loads right after the redirect and polls at once, then every 3 s.
            waited = max(0.0, completed - answered)
            visible_ms.append((answered - started + math.ceil(waited / POLL_SECONDS) * POLL_SECONDS) * 1000)
    done = len(complete_ms)
    overhead = [c - ai_delay * 1000 for c in complete_ms]
    rows = [
        ("submit request", submit_ms, 150),
        ("queue pickup", pickup_ms, 1000),
        ("task run (incl. AI)", run_ms, None),
        ("submit -> complete", complete_ms, None),
        ("overhead above AI time", overhead, 1500),
        ("seen with 3 s polling", visible_ms, None),
    ]
    for name, values, target in rows:
        p95 = percentile(values, 0.95)
        table.add(
            f"{ai_delay:.0f} s",
            name,
            round(statistics.median(values), 1),
            round(p95, 1),
            f"< {target}" if target else "—",
            verdict(p95 < target) if target else "—",
        )
    table.notes.append(f"AI delay {ai_delay:.0f} s: {done}/{UPLOADS} prompts completed, submits spaced {gap:.2f} s")
    raw[f"ai_{ai_delay:.0f}s"] = {
        "submit_ms": submit_ms,
        "pickup_ms": pickup_ms,
        "run_ms": run_ms,
        "complete_ms": complete_ms,
        "visible_ms": visible_ms,
        "completed": done,
    }


def run() -> None:
    print_header("pipeline")
    table = Table(
        "Submit -> complete, 50 uploads, gunicorn + qcluster (2 workers) + PostgreSQL",
        ["AI delay", "measure", "p50 ms", "p95 ms", "target p95", "result"],
    )
    raw: dict = {}
    for delay in (0.0, 3.0):
        run_one(delay, table, raw)
        print(f"  ... AI delay {delay:.0f} s done", file=sys.stderr)
    table.notes.append("baseline: the fake AI's own delay; 'overhead' = submit->complete minus that delay")
    print(table.render())
    write_results("pipeline", [table], raw=raw)
