"""Completion -> modal: how long after the AI task commits does the processing page open its dialog?

The whole site on loopback: gunicorn (Procfile workers and threads) + qcluster (2 workers) +
PostgreSQL + the fake OpenAI server. For each of 10 AI delays, spread over one 3 s polling
period above 2 s (so that completion falls at every phase of the polling), a prompt is submitted
and its processing page opened in headless Chromium (logged in with the session cookie of a
requests session), once against a gunicorn with the long poll on (PROCESSING_LONG_POLL_SECONDS
=20) and once against one with it off (=0: the spec's plain polling every PROCESSING_POLL_MS
=3000, the baseline). The two take turns prompt by prompt.

In the page, an init script notes Date.now() when #processing-dialog gains `open` (a
MutationObserver) and when each status answer arrives (a wrapper around fetch). The delay is
that time minus the prompt's processing_completed_at: the same machine clock. The timestamp is
taken inside the completing transaction, a few ms before its commit, so the delay is if
anything overstated.

Target (PASS/MISS): with the long poll, the modal opens <= 0.5 s after completion (p95), and
every page shows "✅ Your prompt is ready!".
"""

from __future__ import annotations

import os
import random
import statistics
import sys

from bench import _stack
from bench.common import Table, print_header, verdict, write_results

NAME = "modal_delay"
PROMPTS = int(os.environ.get("BENCH_MODAL_PROMPTS", "10"))  # per mode
BASE_AI_DELAY = 2.0
POLL_MS = 3000
TARGET_MS = 500.0
READY_TITLE = "✅ Your prompt is ready!"
MODES = {
    "long poll on (20 s)": {"PROCESSING_LONG_POLL_SECONDS": "20", "PROCESSING_POLL_MS": str(POLL_MS)},
    "long poll off (baseline, 3 s polling)": {"PROCESSING_LONG_POLL_SECONDS": "0", "PROCESSING_POLL_MS": str(POLL_MS)},
}
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]

# Runs before the page's own scripts: the moment the dialog opens and when each status answer arrives.
WATCH_PAGE = """
window.__bench = { dialogOpenedAt: null, answers: [] };
const pageFetch = window.fetch.bind(window);
window.fetch = async (...args) => {
  const response = await pageFetch(...args);
  if (String(args[0]).includes('/api/prompt/status/')) {
    const at = Date.now();
    response.clone().json()
      .then((data) => window.__bench.answers.push({ at, complete: Boolean(data.processing_complete) }))
      .catch(() => window.__bench.answers.push({ at, complete: null }));
  }
  return response;
};
new MutationObserver((records) => {
  for (const record of records) {
    if (record.target.id === 'processing-dialog' && record.target.open && !window.__bench.dialogOpenedAt) {
      window.__bench.dialogOpenedAt = Date.now();
    }
  }
}).observe(document, { subtree: true, attributes: true, attributeFilter: ['open'] });
"""


def ai_delays() -> list[float]:
    delays = [BASE_AI_DELAY + (POLL_MS / 1000) * k / PROMPTS for k in range(PROMPTS)]
    random.Random(4).shuffle(delays)  # not in order, so a drift of the machine is not a drift of the phase
    return delays


def submit(session, url: str, upload_id: str, index: int, delay: float) -> str:
    """Submit a ready upload; the fake AI answers after `delay` s (its [[ai:delay=..]] marker)."""
    response = session.post(
        f"{url}/upload/submit/",
        data={
            "upload_id": upload_id,
            "content": f"bench modal {index}, a lighthouse at dusk [[ai:delay={delay:.2f}]]",
            "ai_generator": "flux",
            "csrfmiddlewaretoken": session.cookies["csrftoken"],
        },
        headers={"Referer": f"{url}/upload/"},
        allow_redirects=False,
    )
    assert response.status_code == 302, response.text[:300]
    return response.headers["Location"]


def watch_processing_page(context, url: str, location: str) -> dict:
    page = context.new_page()
    try:
        page.goto(url + location, wait_until="domcontentloaded")
        try:
            page.wait_for_function("() => window.__bench && window.__bench.dialogOpenedAt", timeout=30_000, polling=50)
        except Exception as exc:  # the row is reported as a failure, not the whole run
            return {"error": f"{type(exc).__name__}: no dialog within 30 s", **page.evaluate("() => window.__bench")}
        seen = page.evaluate("() => window.__bench")
        seen["title"] = page.text_content("#processing-dialog [data-dialog-title]")
        seen["loaded_complete"] = page.get_attribute("#processing-page", "data-complete") == "true"
        return seen
    finally:
        page.close()


def run() -> None:
    print_header(NAME)
    busy_before = _stack.other_cpu_share()
    from playwright.sync_api import sync_playwright

    from bench.pipeline import percentile, ready_upload
    from tests.fake_openai import FakeOpenAI

    options = _stack.procfile_web_options()
    fake = FakeOpenAI().start()
    fake.script("content", delay=BASE_AI_DELAY)
    delays = ai_delays()
    seen: dict[str, list[dict]] = {mode: [] for mode in MODES}
    with _stack.prepared_site(fake.env(timeout=30, max_retries=0)) as env:
        # bench._settings: WhiteNoise serves /static/ from the apps' folders (no collectstatic copy).
        webs = {
            mode: _stack.start_gunicorn(
                {**env, **extra, "DJANGO_SETTINGS_MODULE": "bench._settings"},
                workers=options.get("workers", 2),
                threads=options.get("threads", 4),
            )
            for mode, extra in MODES.items()
        }
        worker = _stack.start_qcluster(env, workers=2)
        try:
            first_url = next(iter(webs.values()))[1]
            session = _stack.logged_in_session(first_url)
            uploads = [ready_upload(session, first_url, index) for index in range(PROMPTS * len(MODES))]
            print(f"  ... {len(uploads)} uploads ready", file=sys.stderr)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
                context = browser.new_context()
                context.add_cookies(
                    [{"name": "sessionid", "value": session.cookies["sessionid"], "domain": "127.0.0.1", "path": "/"}]
                )
                context.add_init_script(WATCH_PAGE)
                for index, delay in enumerate(delays):
                    order = list(MODES) if index % 2 == 0 else list(reversed(MODES))
                    for mode in order:
                        url = webs[mode][1]
                        location = submit(session, url, uploads.pop(), index, delay)
                        result = watch_processing_page(context, url, location)
                        result.update(ai_delay=delay, processing_uuid=location.rstrip("/").rsplit("/", 1)[-1])
                        seen[mode].append(result)
                    print(f"  ... prompt {index + 1}/{PROMPTS} in both modes", file=sys.stderr)
                browser.close()
        finally:
            _stack.stop(worker)
            for proc, _url in webs.values():
                _stack.stop(proc)
            fake.stop()

        from prompts.models import Prompt

        completed = {
            str(uuid): at
            for uuid, at in Prompt.objects.filter(processing_completed_at__isnull=False).values_list(
                "processing_uuid", "processing_completed_at"
            )
        }
    busy_after = _stack.other_cpu_share()

    table = Table(
        f"Task commit -> modal open in headless Chromium, {PROMPTS} prompts per mode (AI answers after "
        f"{BASE_AI_DELAY:.0f}-{BASE_AI_DELAY + POLL_MS / 1000:.0f} s); gunicorn + qcluster + PostgreSQL",
        [
            "mode",
            "opened",
            "p50 ms",
            "p95 ms",
            "max ms",
            "answer p50 ms",
            "render p50 ms",
            "status requests/page",
            "target p95",
            "result",
        ],
    )
    raw = {}
    for mode in MODES:
        delays_ms, answer_ms, render_ms, requests_per_page, failures = [], [], [], [], []
        for result in seen[mode]:
            done = completed.get(result["processing_uuid"])
            if (
                result.get("error")
                or done is None
                or result.get("title") != READY_TITLE
                or result.get("loaded_complete")
            ):
                failures.append({k: result.get(k) for k in ("processing_uuid", "error", "title", "loaded_complete")})
                continue
            done_ms = done.timestamp() * 1000
            delays_ms.append(result["dialogOpenedAt"] - done_ms)
            answer = next((a["at"] for a in result["answers"] if a["complete"]), None)
            if answer is not None:
                answer_ms.append(answer - done_ms)
                render_ms.append(result["dialogOpenedAt"] - answer)
            requests_per_page.append(len(result["answers"]))
        long_poll = mode.startswith("long poll on")
        ok = long_poll and not failures and delays_ms and percentile(delays_ms, 0.95) <= TARGET_MS
        stats = (
            (
                round(statistics.median(delays_ms), 1),
                round(percentile(delays_ms, 0.95), 1),
                round(max(delays_ms), 1),
                round(statistics.median(answer_ms), 1),
                round(statistics.median(render_ms), 1),
                round(statistics.fmean(requests_per_page), 1),
            )
            if delays_ms
            else ("—",) * 6
        )
        table.add(
            mode,
            f"{len(delays_ms)}/{len(seen[mode])}",
            *stats,
            f"<= {TARGET_MS:.0f}" if long_poll else "—",
            verdict(bool(ok)) if long_poll else "—",
        )
        raw[mode] = {
            "delay_ms": delays_ms,
            "answer_ms": answer_ms,
            "render_ms": render_ms,
            "status_requests_per_page": requests_per_page,
            "failures": failures,
            "pages": seen[mode],
        }
        if failures:
            table.notes.append(f"{mode}: {len(failures)} page(s) without the ready dialog: {failures[:3]}")
    table.notes.append(
        "delay = Date.now() in the page when the dialog opens - processing_completed_at; answer = the "
        "status answer that said complete arrived; render = answer -> dialog open"
    )
    table.notes.append("the long poll re-reads the status every 0.2 s on the server (selectors.wait_for_status)")
    for share, when in ((busy_before, "before"), (busy_after, "after")):
        if share is not None:
            busy = share > 0.10
            table.notes.append(
                f"{'MACHINE BUSY: ' if busy else ''}other processes used {share:.0%} of the "
                f"{os.cpu_count()} CPUs just {when} the run" + ("; times are noisy" if busy else "")
            )
    print(table.render())
    write_results(
        NAME, [table], raw=raw, ai_delays=delays, other_processes_cpu_share={"before": busy_before, "after": busy_after}
    )
