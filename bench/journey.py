"""The critical path a person waits for, in real Chromium: drop a file -> "Ready to submit", and Submit ->
the completion modal.

The whole site on loopback, twice side by side on one PostgreSQL database (each with its own Django-Q
queue, so neither worker takes the other's tasks):
- "now": the Procfile's web process (gunicorn + uvicorn's ASGI worker), CRITICAL_PATH_SEQUENTIAL=0:
  one `finish` request runs complete, then moderation and the variants side by side; LISTEN/NOTIFY
  wakes the worker at submit and the waiting status request at completion.
- "before" (the baseline): gunicorn's threaded WSGI worker as the Procfile had it,
  CRITICAL_PATH_SEQUENTIAL=1: complete -> moderate -> variants one request each, the worker polls the
  queue every Q_POLL (0.5 s) and the long poll re-reads the status every 0.2 s.
Both get a qcluster with 2 workers and the fake OpenAI server answering after the set latency (both
moderation and content).

For each AI latency (0 and 1.5 s) and file (a 12 MP JPEG, a PNG) UPLOADS uploads per mode, the modes
taking turns upload by upload (a busy spell of the shared machine hurts both). Each upload, in the same
browser tab as the one before (a person moves from page to page; until session 4 a new tab per upload
made Chromium start a renderer, ~0.5 s of one CPU right after `load`, while the upload ran): open the
upload page, drop the file, type the prompt, wait for the page's `pf:ready` mark, click Submit,
wait for the processing page's `pf:modal` mark (a page rendered complete opens it from the status in the
page). Steps come from the pages' own marks
(performance.mark, absolute time = timeOrigin + startTime), the Server-Timing of each API answer
(read from the Resource Timing entries), the database (prompt created / completed, the Django-Q
task's start) and the fake AI's request log (when the content request came and was answered).

Targets (PASS/MISS, "now" mode): drop -> ready p50 <= 0.4 s for the 12 MP JPEG at AI latency 0;
drop -> ready p50 <= 1.8 s at AI latency 1.5 s; submit -> modal minus the AI's own time p95 <= 0.3 s.

Run: `BENCH_DB=pf_s19_bench .venv/bin/python -m bench journey` (BENCH_JOURNEY_UPLOADS=20 by default).
"""

from __future__ import annotations

import io
import os
import statistics
import sys

from bench import _stack
from bench.common import Table, percentile, print_header, verdict, write_results

NAME = "journey"
UPLOADS = int(os.environ.get("BENCH_JOURNEY_UPLOADS", "20"))
LATENCIES = tuple(float(v) for v in os.environ.get("BENCH_JOURNEY_LATENCIES", "0,1.5").split(","))
KINDS = ("jpeg-12mp", "png")
READY_TARGET_MS = {0.0: 400.0, 1.5: 1800.0}  # drop -> ready p50, 12 MP JPEG (and at 1.5 s, both files)
SUBMIT_TARGET_MS = 300.0  # submit -> modal minus the AI's own time, p95
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
Q_POLL = "0.5"  # the settings' default
READY_TITLE = "✅ Your prompt is ready!"

MODES = {
    "now": {
        "server": "asgi",
        "env": {"CRITICAL_PATH_SEQUENTIAL": "0", "Q_CLUSTER_NAME": "journey-now"},
    },
    "before": {
        "server": "wsgi",
        "env": {"CRITICAL_PATH_SEQUENTIAL": "1", "Q_CLUSTER_NAME": "journey-before"},
    },
}

# Every step, in the order a person meets them: (name, how it is computed).
STEPS = [
    ("presign", "presign answered - drop"),
    ("PUT", "PUT done - presign answered"),
    ("complete", "complete answered - PUT done (before only)"),
    ("moderate", "moderate answered - complete answered (before only)"),
    ("variants", "variants answered - moderate answered (before only)"),
    ("finish", "complete+moderation+variants in one request (now only)"),
    ("drop -> ready", "the page's pf:ready - pf:drop"),
    ("submit", "Submit clicked -> processing page loaded (POST, 302, GET)"),
    ("pickup", "prompt created (submit) -> the AI task's request reaches the AI (queue pickup, task start)"),
    ("AI", "the fake AI's content request, received -> answered"),
    ("save", "AI answered -> prompt completed (processing_completed_at)"),
    ("status seen", "completed -> the page's pf:status-complete"),
    ("modal shown", "pf:status-complete -> pf:modal"),
    ("submit -> modal", "Submit clicked -> pf:modal"),
    ("submit -> modal - AI", "the same, minus the AI's own time"),
]

READ_PAGE = """
() => ({
  origin: performance.timeOrigin,
  marks: Object.fromEntries(performance.getEntriesByType('mark')
    .map((m) => [m.name, performance.timeOrigin + m.startTime])),
  resources: performance.getEntriesByType('resource')
    .filter((r) => r.name.includes('/api/'))
    .map((r) => ({ name: r.name, start: r.startTime, duration: r.duration,
                   timing: (r.serverTiming || []).map((t) => [t.name, t.duration]) })),
  loaded: (() => { const n = performance.getEntriesByType('navigation')[0];
                   return n ? performance.timeOrigin + n.domContentLoadedEventEnd : null; })(),
})
"""


def uptime() -> str:
    return "load average: " + ", ".join(f"{v:.2f}" for v in os.getloadavg())


# --- files -------------------------------------------------------------------------------------


def make_file(kind: str, index: int) -> tuple[str, str, bytes]:
    """A distinct file per upload (the same person may not share the same bytes twice)."""
    from PIL import Image, ImageDraw, ImageFilter

    if kind == "jpeg-12mp":
        size = (4000, 3000)
    else:
        size = (1200, 900)
    base = Image.linear_gradient("L").resize(size)
    image = Image.merge("RGB", (base, base.transpose(Image.Transpose.FLIP_LEFT_RIGHT), base.rotate(90, expand=False)))
    draw = ImageDraw.Draw(image)
    for k in range(12):
        x, y = (index * 97 + k * 331) % size[0], (index * 53 + k * 211) % size[1]
        draw.ellipse((x, y, x + size[0] // 6, y + size[1] // 6), fill=((index * 40 + k * 20) % 256, 120, 200 - k * 10))
    buffer = io.BytesIO()
    if kind == "jpeg-12mp":
        image = image.filter(ImageFilter.GaussianBlur(1))
        image.save(buffer, format="JPEG", quality=88)
        return f"journey-{index}.jpg", "image/jpeg", buffer.getvalue()
    noise = Image.effect_noise(size, 24).convert("RGB")
    Image.blend(image, noise, 0.25).save(buffer, format="PNG")
    return f"journey-{index}.png", "image/png", buffer.getvalue()


# --- servers -----------------------------------------------------------------------------------


def start_web(env: dict[str, str], server: str):
    options = _stack.procfile_web_options()
    site = {**env, "DJANGO_SETTINGS_MODULE": "bench._settings"}
    if server == "asgi":
        return _stack.start_asgi(site, workers=options.get("workers", 2))
    return _stack.start_gunicorn(site, workers=options.get("workers", 2), threads=16)


# --- one upload in the browser -----------------------------------------------------------------


def journey(page, url: str, mode: str, kind: str, index: int, latency: float) -> dict:
    from tests.browser.flows import drop_file

    # Distinct bytes for every upload of the run: the same person may not share the same file twice.
    seed = (index * len(MODES) + list(MODES).index(mode)) * 10 + LATENCIES.index(latency) if latency in LATENCIES else 0
    name, content_type, data = make_file(kind, seed if index < 10_000 else index)
    token = f"journey {mode} {kind} {latency} #{index}"
    try:
        page.goto(f"{url}/upload/", wait_until="load")
        drop_file(page, name, data, content_type=content_type)
        page.get_by_label("Prompt *", exact=True).fill(f"{token}: a lighthouse at dusk, volumetric fog")
        page.get_by_label("Generator *", exact=True).select_option(label="Midjourney")
        page.wait_for_function("() => performance.getEntriesByName('pf:ready').length > 0", timeout=60_000, polling=20)
        upload_page = page.evaluate(READ_PAGE)
        clicked = page.evaluate(
            "() => { const at = performance.timeOrigin + performance.now();"
            " document.getElementById('submit-button').click(); return at; }"
        )
        page.wait_for_url("**/prompt/processing/**", timeout=30_000)
        # Complete before the page was rendered: the page carries the status and opens the modal from it
        # (marks as usual); only a page without that status (completed long ago) shows the result alone.
        page.wait_for_function(
            "() => performance.getEntriesByName('pf:modal').length > 0"
            " || (document.readyState !== 'loading' && !document.getElementById('completed-status')"
            " && document.getElementById('processing-page').dataset.complete === 'true')",
            timeout=60_000,
            polling=20,
        )
        processing_page = page.evaluate(READ_PAGE)
        rendered_complete = page.get_attribute("#processing-page", "data-complete") == "true"
        loaded_complete = rendered_complete and "pf:modal" not in processing_page["marks"]
        title = READY_TITLE if loaded_complete else page.text_content("#processing-dialog [data-dialog-title]")
        processing_uuid = page.url.rstrip("/").rsplit("/", 1)[-1]
    except Exception as exc:  # a row for the failure, not the end of the run
        return {"error": f"{type(exc).__name__}: {str(exc)[:300]}", "mode": mode, "token": token}
    return {
        "mode": mode,
        "kind": kind,
        "latency": latency,
        "token": token,
        "bytes": len(data),
        "upload": upload_page,
        "clicked": clicked,
        "processing": processing_page,
        "title": title,
        "loaded_complete": loaded_complete,
        "rendered_complete": rendered_complete,
        "processing_uuid": processing_uuid,
    }


def steps_of(seen: dict, fake) -> dict[str, float]:
    """Every step's ms for one upload (missing ones left out)."""
    from prompts.models import Prompt

    marks = seen["upload"]["marks"]
    out: dict[str, float] = {}

    def between(a: str, b: str, name: str) -> None:
        if a in marks and b in marks:
            out[name] = marks[b] - marks[a]

    between("pf:drop", "pf:presign", "presign")
    between("pf:presign", "pf:put", "PUT")
    between("pf:put", "pf:complete", "complete")
    between("pf:complete", "pf:moderate", "moderate")
    between("pf:moderate", "pf:variants", "variants")
    between("pf:put", "pf:finish", "finish")
    between("pf:drop", "pf:ready", "drop -> ready")
    after = dict(seen["processing"]["marks"])
    clicked = seen["clicked"]
    if seen.get("loaded_complete") and seen["processing"]["loaded"]:
        # The page was rendered complete: the result was on screen when it loaded.
        after.setdefault("pf:status-complete", seen["processing"]["loaded"])
        after.setdefault("pf:modal", seen["processing"]["loaded"])
    if seen["processing"]["loaded"]:
        out["submit"] = seen["processing"]["loaded"] - clicked
    prompt = Prompt.objects.filter(processing_uuid=seen["processing_uuid"]).first()
    request = next((r for r in fake.requests_of("content") if f"{seen['token']}:" in r.text), None)
    ai_ms = None
    if request is not None and request.answered_at:
        ai_ms = (request.answered_at - request.received_at) * 1000
        out["AI"] = ai_ms
    if prompt is not None:
        if request is not None:
            # Django-Q's Task.started is the enqueue time; the task's first outside call is the AI request.
            out["pickup"] = (request.received_at - prompt.created_on.timestamp()) * 1000
        if prompt.processing_completed_at:
            done_ms = prompt.processing_completed_at.timestamp() * 1000
            if request is not None and request.answered_at:
                out["save"] = done_ms - request.answered_at * 1000
            if "pf:status-complete" in after:
                out["status seen"] = after["pf:status-complete"] - done_ms
    if "pf:status-complete" in after and "pf:modal" in after:
        out["modal shown"] = after["pf:modal"] - after["pf:status-complete"]
    if "pf:modal" in after:
        out["submit -> modal"] = after["pf:modal"] - clicked
        if ai_ms is not None:
            out["submit -> modal - AI"] = out["submit -> modal"] - ai_ms
    return out


def server_timing(seen: dict) -> dict[str, dict[str, float]]:
    """The Server-Timing of each upload API answer: {"finish": {"db": .., "ai": .., "total": ..}, ...}."""
    out = {}
    for entry in seen["upload"]["resources"]:
        step = entry["name"].rstrip("/").rsplit("/", 1)[-1].split("?")[0]
        if entry["timing"]:
            out[step] = dict(entry["timing"])
    return out


# --- the run -----------------------------------------------------------------------------------


def run() -> None:
    print_header(NAME)
    busy_before = _stack.other_cpu_share()
    from playwright.sync_api import sync_playwright

    from tests.fake_openai import FakeOpenAI

    fake = FakeOpenAI().start()
    results: list[dict] = []
    loads: dict[str, str] = {"start": uptime()}
    with _stack.prepared_site({**fake.env(timeout=30, max_retries=0), "Q_POLL": Q_POLL}) as env:
        servers = {mode: start_web({**env, **spec["env"]}, spec["server"]) for mode, spec in MODES.items()}
        workers = {mode: _stack.start_qcluster({**env, **spec["env"]}, workers=2) for mode, spec in MODES.items()}
        try:
            session = _stack.logged_in_session(next(iter(servers.values()))[1])
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
                context = browser.new_context(viewport={"width": 1280, "height": 900})
                for _proc, url in servers.values():
                    context.add_cookies([{"name": "sessionid", "value": session.cookies["sessionid"], "url": url}])
                # One tab, as a person goes from page to page: a new tab for each upload would measure
                # Chromium starting a renderer (~0.5 s of a CPU just after `load`, even for about:blank)
                # together with the upload, on the same 2 cores.
                tab = context.new_page()
                for mode, (_proc, url) in servers.items():  # warm both: first requests import and connect
                    journey(tab, url, mode, "png", 10_000 + len(mode), 0.0)
                for latency in LATENCIES:
                    fake.set_latency(latency)
                    for kind in KINDS:
                        for index in range(UPLOADS):
                            order = list(MODES) if index % 2 == 0 else list(reversed(MODES))
                            for mode in order:
                                seen = journey(tab, servers[mode][1], mode, kind, index, latency)
                                seen.update(mode=mode, kind=kind, latency=latency)
                                results.append(seen)
                        loads[f"{kind} @ {latency}s"] = uptime()
                        print(f"  ... {kind} at AI latency {latency} s done ({uptime()})", file=sys.stderr)
                        failed = sum(1 for r in results[-UPLOADS * len(MODES) :] if "error" in r)
                        if failed:
                            print(f"  ... {failed} failed: {results[-1].get('error', '')[:200]}", file=sys.stderr)
                browser.close()
            for seen in results:
                if "error" not in seen:
                    seen["steps"] = steps_of(seen, fake)
                    seen["server_timing"] = server_timing(seen)
        finally:
            for proc in workers.values():
                _stack.stop(proc)
            for proc, _url in servers.values():
                _stack.stop(proc)
            fake.stop()
    busy_after = _stack.other_cpu_share()
    report(results, loads, busy_before, busy_after)


def report_again() -> None:
    """Re-render bench/results/journey.json's tables from its uploads (e.g. after changing a table)."""
    import json

    from bench.common import RESULTS_DIR

    saved = json.loads((RESULTS_DIR / f"{NAME}.json").read_text())
    busy = saved.get("other_processes_cpu_share", {})
    report(saved["uploads"], saved["loads"], busy.get("before"), busy.get("after"))


def report(results: list[dict], loads: dict[str, str], busy_before, busy_after) -> None:
    tables = []
    targets = []
    for latency in LATENCIES:
        for kind in KINDS:
            table = Table(
                f"AI latency {latency:g} s, {kind}: p50 / p95 ms per step ({UPLOADS} uploads per mode; "
                f"{loads.get(f'{kind} @ {latency}s', '')})",
                ["step", "before p50", "before p95", "now p50", "now p95", "now/before p50", "target", "result"],
            )
            rows = {
                mode: [r for r in results if r["mode"] == mode and r["kind"] == kind and r["latency"] == latency]
                for mode in MODES
            }
            for step, _how in STEPS:
                values = {mode: [r["steps"][step] for r in rows[mode] if step in r.get("steps", {})] for mode in MODES}
                if not values["now"] and not values["before"]:
                    continue
                cells = []
                for mode in ("before", "now"):
                    cells += (
                        [percentile(values[mode], 0.5), percentile(values[mode], 0.95)] if values[mode] else ["—", "—"]
                    )
                ratio = (
                    f"{percentile(values['now'], 0.5) / percentile(values['before'], 0.5):.2f}"
                    if values["now"] and values["before"] and percentile(values["before"], 0.5) > 0
                    else "—"
                )
                target, result = "—", "—"
                if step == "drop -> ready" and (kind == "jpeg-12mp" or latency > 0) and latency in READY_TARGET_MS:
                    goal = READY_TARGET_MS[latency]
                    ok = bool(values["now"]) and percentile(values["now"], 0.5) <= goal
                    target, result = f"p50 <= {goal:.0f}", verdict(ok)
                    targets.append(
                        {
                            "target": f"drop -> ready p50 <= {goal:.0f} ms ({kind}, AI {latency:g} s)",
                            "now_p50_ms": percentile(values["now"], 0.5) if values["now"] else None,
                            "before_p50_ms": percentile(values["before"], 0.5) if values["before"] else None,
                            "result": result,
                        }
                    )
                if step == "submit -> modal - AI":
                    ok = bool(values["now"]) and percentile(values["now"], 0.95) <= SUBMIT_TARGET_MS
                    target, result = f"p95 <= {SUBMIT_TARGET_MS:.0f}", verdict(ok)
                    goal = f"submit -> modal - AI p95 <= {SUBMIT_TARGET_MS:.0f} ms"
                    targets.append(
                        {
                            "target": f"{goal} ({kind}, AI {latency:g} s)",
                            "now_p95_ms": percentile(values["now"], 0.95) if values["now"] else None,
                            "before_p95_ms": percentile(values["before"], 0.95) if values["before"] else None,
                            "result": result,
                        }
                    )
                table.add(step, *cells, ratio, target, result)
            failures = [r for mode in MODES for r in rows[mode] if "error" in r]
            wrong = [
                r["token"] for mode in MODES for r in rows[mode] if "error" not in r and r.get("title") != READY_TITLE
            ]
            rendered = sum(1 for r in rows["now"] if r.get("rendered_complete"))
            if rendered:
                table.notes.append(
                    f"now: {rendered} processing page(s) were rendered complete (the modal opened from the "
                    "status in the page, no status request)"
                )
            complete_at_load = sum(1 for mode in MODES for r in rows[mode] if r.get("loaded_complete"))
            if complete_at_load:
                table.notes.append(
                    f"{complete_at_load} processing page(s) were already complete when rendered (no modal: the "
                    "result is on the page); their modal time is the page's DOMContentLoaded"
                )
            if failures:
                table.notes.append(f"{len(failures)} upload(s) failed: {[f['error'][:120] for f in failures[:3]]}")
            if wrong:
                table.notes.append(f"{len(wrong)} modal(s) not the success one: {wrong[:3]}")
            timing = {}
            for r in rows["now"]:
                for name, value in r.get("server_timing", {}).get("finish", {}).items():
                    timing.setdefault(name, []).append(value)
            if timing:
                table.notes.append(
                    "now, the finish request's Server-Timing p50 ms: "
                    + ", ".join(f"{k} {statistics.median(v):.0f}" for k, v in timing.items())
                )
            tables.append(table)
    for share, when in ((busy_before, "before"), (busy_after, "after")):
        if share is not None and tables:
            tables[-1].notes.append(
                f"other processes used {share:.0%} of the {os.cpu_count()} CPUs just {when} the run"
            )
    steps_table = Table("How each step is measured", ["step", "from"])
    for step, how in STEPS:
        steps_table.add(step, how)
    for table in [*tables, steps_table]:
        print(table.render())
        print()
    write_results(
        NAME,
        [*tables, steps_table],
        targets=targets,
        loads=loads,
        other_processes_cpu_share={"before": busy_before, "after": busy_after},
        uploads=[{k: v for k, v in r.items() if k not in ("upload", "processing")} for r in results],
    )
