"""The critical path (issue 19): wake-ups instead of polls, the long poll without a thread, and
moderation side by side with the variants without anything unmoderated being kept or served.

Times are never asserted tightly: a wake-up only has to come before the poll it replaces would have.
"""

from __future__ import annotations

import asyncio
import base64
import gc
import io
import json
import os
import threading
import time
from pathlib import Path

import pytest
import requests
from django.core.cache import cache
from django.db import connection, connections
from django.test import Client
from PIL import Image

from prompts import selectors, wakeups
from prompts.media import storage
from prompts.models import Prompt, Upload
from prompts.services import ai_content, submission, uploads
from tests import media_samples
from tests.conftest import csrf_client

CRITICAL = (230, 20, 20)
CRITICAL_ANSWER = {"severity": "critical", "violations": ["example"], "explanation": "fake"}


def postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's; SQLite keeps polling")


def make_prompt(user) -> Prompt:
    return Prompt.objects.create(author=user, content="a lighthouse at dusk, volumetric fog", ai_generator="flux")


def complete(prompt: Prompt) -> None:
    """Complete the prompt (as a failed AI answer does) from a thread of the caller's, closing its connection."""
    ai_content.apply_fallback(prompt_id=prompt.id, reason=Prompt.ReviewReason.AI_ERROR)
    connections.close_all()


def complete_soon(prompt: Prompt, *, after: float) -> threading.Thread:
    finisher = threading.Thread(target=lambda: (time.sleep(after), complete(prompt)))
    finisher.start()
    return finisher


# --- NOTIFY wakes the waiting status request and the worker -------------------------------------


def test_a_waiting_status_request_is_woken_by_the_completion(transactional_db, alice, monkeypatch):
    postgresql_only()
    # Any re-read, with or without wake-ups, would come after 30 s: only a wake-up answers sooner.
    monkeypatch.setattr(selectors, "LONG_POLL_FALLBACK_SECONDS", 30.0)
    monkeypatch.setattr(selectors, "LONG_POLL_INTERVAL_SECONDS", 30.0)
    prompt = make_prompt(alice)
    started = time.monotonic()
    finisher = complete_soon(prompt, after=0.5)
    answer = selectors.wait_for_status(user=alice, processing_uuid=prompt.processing_uuid, wait_seconds=20)
    waited = time.monotonic() - started
    finisher.join()
    assert answer["processing_complete"] is True and answer["waited"] is True
    assert waited < 20  # woken: neither the 30 s re-read nor the 20 s deadline came first


def test_without_wakeups_the_long_poll_still_sees_the_completion(transactional_db, alice, settings):
    """SQLite, or CRITICAL_PATH_SEQUENTIAL=1: the short re-read finds it."""
    settings.CRITICAL_PATH_SEQUENTIAL = True
    prompt = make_prompt(alice)
    finisher = complete_soon(prompt, after=0.3)
    answer = selectors.wait_for_status(user=alice, processing_uuid=prompt.processing_uuid, wait_seconds=10)
    finisher.join()
    assert answer["processing_complete"] is True and not wakeups.prompt_done.listening


def test_the_worker_stops_waiting_as_soon_as_a_task_is_queued(transactional_db, monkeypatch):
    postgresql_only()
    from django_q.conf import Conf

    monkeypatch.setattr(Conf, "POLL", 60.0)  # the fallback: an empty queue is read again after 60 s
    got: list = []

    def worker():
        broker = wakeups.ORMWithWakeups(list_key="wake-test")
        started = time.monotonic()
        while not got and time.monotonic() - started < 90:
            got.extend(broker.dequeue() or [])
        connections.close_all()

    consumer = threading.Thread(target=worker)
    consumer.start()
    time.sleep(1.0)  # the worker is waiting on the empty queue
    queued = time.monotonic()
    wakeups.ORMWithWakeups(list_key="wake-test").enqueue("the-task")
    consumer.join(90)
    assert [payload for _, payload in got] == ["the-task"]
    assert time.monotonic() - queued < 30  # woken: the 60 s poll would have found it ~59 s after


# --- the long poll under a real ASGI server -----------------------------------------------------


@pytest.fixture
def asgi_server(procfile_web):
    """The Procfile's web process (gunicorn + uvicorn's worker, one worker) on the test database."""
    return procfile_web(PROCESSING_LONG_POLL_SECONDS="20")


def worker_pid(master: int) -> int:
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return int(children[0])


def thread_count(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/task"))


async def _long_polls(base: str, path: str, cookie: str, count: int, ready: threading.Event) -> list[dict]:
    host, port = base.split("://", 1)[1].split(":")

    async def one() -> dict:
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(
            f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nCookie: sessionid={cookie}\r\n"
            "Accept: application/json\r\nConnection: close\r\n\r\n".encode()
        )
        await writer.drain()
        raw = await reader.read()
        writer.close()
        head, _, body = raw.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200"), head[:200]
        if b"text/event-stream" in head:  # chunked: the stream's last event
            return parse_events(dechunk(body))[-1]
        return json.loads(body)

    tasks = [asyncio.create_task(one()) for _ in range(count)]
    await asyncio.sleep(0.5)
    ready.set()
    return await asyncio.gather(*tasks)


def test_the_long_poll_waits_without_a_thread_under_the_asgi_worker(asgi_server, alice, settings):
    server, base = asgi_server
    prompt = make_prompt(alice)
    client = Client()
    client.force_login(alice)
    cookie = client.cookies["sessionid"].value
    path = f"/api/prompt/status/{prompt.processing_uuid}/"

    plain = requests.get(base + path, cookies={"sessionid": cookie}, timeout=10)
    assert plain.status_code == 200 and plain.json()["processing_complete"] is False
    assert "total;dur=" in plain.headers["Server-Timing"] and "no-cache" in plain.headers["Cache-Control"]
    assert requests.get(base + path).status_code == 401  # no session: refused, as every API answer

    waiting = 200
    answers, more_threads = pages_waiting(server, base, f"{path}?wait=20", cookie, prompt, waiting)
    assert len(answers) == waiting and all(a["processing_complete"] and a["waited"] for a in answers)
    prompt.refresh_from_db()
    assert {a["final_url"] for a in answers} == {f"/prompt/{prompt.slug}/"}
    assert more_threads < waiting // 4  # 200 waiting requests did not take 200 threads


def pages_waiting(server, base: str, path: str, cookie: str, prompt, count: int) -> tuple[list[dict], int]:
    """`count` pages waiting on `path` of the Procfile's web process; meanwhile another request is answered,
    then the prompt completes. Their last answers, and how many more threads the worker had while they waited."""
    pid = worker_pid(server.pid)
    threads_before = thread_count(pid)
    ready = threading.Event()
    result: dict = {}
    poller = threading.Thread(
        target=lambda: result.update(answers=asyncio.run(_long_polls(base, path, cookie, count, ready)))
    )
    poller.start()
    ready.wait(30)
    time.sleep(1.0)
    threads_waiting = thread_count(pid)
    assert requests.get(base + "/robots.txt", timeout=10).status_code == 200  # answered while they wait
    ai_content.apply_fallback(prompt_id=prompt.id, reason=Prompt.ReviewReason.AI_ERROR)
    poller.join(60)
    return result["answers"], threads_waiting - threads_before


def dechunk(body: bytes) -> bytes:
    out = b""
    while body:
        size, _, body = body.partition(b"\r\n")
        length = int(size, 16)
        out, body = out + body[:length], body[length + 2 :]
    return out


def test_event_streams_wait_without_a_thread_under_the_asgi_worker(asgi_server, alice):
    """The Procfile's web process: 200 pages on their event streams hold no thread each, other requests are
    answered meanwhile, and each stream gets the completion."""
    server, base = asgi_server
    prompt = make_prompt(alice)
    cookie = session_of(alice)
    path = f"/api/prompt/status/{prompt.processing_uuid}/events/"
    first = requests.get(base + path, cookies={"sessionid": cookie}, stream=True, timeout=10)
    assert first.status_code == 200 and first.headers["Content-Type"] == "text/event-stream"
    assert next(first.iter_lines()) == b"retry: 250"
    first.close()
    assert requests.get(base + path).status_code == 401

    waiting = 200
    answers, more_threads = pages_waiting(server, base, path, cookie, prompt, waiting)
    assert len(answers) == waiting and all(a["processing_complete"] for a in answers)
    assert more_threads < waiting // 4


def test_checking_for_wakeups_makes_no_connection_object_in_an_async_context():
    """`connection.vendor` made a connection object for the caller's context: one per waiting long poll."""
    made: list = []

    async def check():
        wakeups.enabled()
        made.extend(connections.all(initialized_only=True))

    thread = threading.Thread(target=asyncio.run, args=(check(),))  # a context of its own, as a request's
    thread.start()
    thread.join(10)
    assert made == []


def status_scope(processing_uuid, query: bytes, cookie: str | None, *, events: bool = False) -> dict:
    path = f"/api/prompt/status/{processing_uuid}/" + ("events/" if events else "")
    headers = [(b"host", b"testserver")] + ([(b"cookie", f"sessionid={cookie}".encode())] if cookie else [])
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query,
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }


def client_messages(gone_after: float | None = None):
    """An ASGI `receive`: the request, then `http.disconnect` after `gone_after` seconds (or never)."""
    messages = iter([{"type": "http.request", "body": b"", "more_body": False}])

    async def receive():
        message = next(messages, None)
        if message is not None:
            return message
        if gone_after is None:
            await asyncio.Event().wait()
        await asyncio.sleep(gone_after)
        return {"type": "http.disconnect"}

    return receive


def run_in_a_loop_of_its_own(coroutine):
    """asyncio.run in a thread of its own: a browser test run before in this process may leave a loop
    running in the main thread."""
    outcome: dict = {}

    def run():
        try:
            outcome["value"] = asyncio.run(coroutine)
        except BaseException as exc:  # re-raised in the test's thread
            outcome["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(60)
    gc.collect()  # the loop's executor threads are gone: their database connections close with them
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def session_of(user) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


def test_a_waiting_long_poll_holds_its_answer_not_its_request(transactional_db, alice, settings):
    """While it waits, the status request's middleware, view and request are gone (a thousand of them made
    every full garbage collection a pause for the whole process); the answer that comes is whole."""
    from django.core.handlers.asgi import ASGIRequest

    from prompts.long_poll_handler import LongPollASGIHandler

    prompt = make_prompt(alice)
    scope = status_scope(prompt.processing_uuid, b"wait=5", session_of(alice))
    sent: list[dict] = []

    async def send(message):
        sent.append(message)

    async def wait_then_complete() -> list:
        answering = asyncio.create_task(LongPollASGIHandler()(scope, client_messages(), send))
        await asyncio.sleep(1.0)
        gc.collect()  # the request and its lazy user refer to each other: unreachable is what counts
        requests_alive = [o for o in gc.get_objects() if type(o) is ASGIRequest]  # noqa: E721 (lazy objects)
        assert not sent  # still waiting
        await asyncio.get_running_loop().run_in_executor(None, complete, prompt)
        await asyncio.wait_for(answering, 10)
        return requests_alive

    assert run_in_a_loop_of_its_own(wait_then_complete()) == []
    start, body = sent[0], b"".join(m.get("body", b"") for m in sent[1:])
    headers = {name.decode().lower(): value.decode() for name, value in start["headers"]}
    answer = json.loads(body)
    assert start["status"] == 200 and answer["processing_complete"] and answer["waited"]
    assert int(headers["content-length"]) == len(body)
    assert "wait;dur=" in headers["server-timing"] and "no-cache" in headers["cache-control"]
    assert selectors._ASYNC_LONG_POLLS["waiting"] == 0


def test_a_page_that_goes_away_ends_its_wait(transactional_db, alice):
    """A closed tab does not hold its wait (and what it holds) until the deadline."""
    from prompts.long_poll_handler import LongPollASGIHandler

    prompt = make_prompt(alice)
    scope = status_scope(prompt.processing_uuid, b"wait=15", session_of(alice))
    sent: list[dict] = []

    async def send(message):
        sent.append(message)

    started = time.monotonic()
    run_in_a_loop_of_its_own(LongPollASGIHandler()(scope, client_messages(gone_after=0.5), send))
    assert time.monotonic() - started < 5
    assert sent == [] and selectors._ASYNC_LONG_POLLS["waiting"] == 0


@pytest.mark.parametrize("events", [False, True], ids=["long poll", "event stream"])
@pytest.mark.parametrize("who", ["nobody", "someone else"])
def test_a_long_poll_is_refused_at_once_to_anyone_but_the_author(transactional_db, alice, bob, who, events):
    from prompts.long_poll_handler import LongPollASGIHandler

    prompt = make_prompt(alice)
    cookie = None if who == "nobody" else session_of(bob)
    sent: list[dict] = []

    async def send(message):
        sent.append(message)

    started = time.monotonic()
    scope = status_scope(prompt.processing_uuid, b"wait=5", cookie, events=events)
    run_in_a_loop_of_its_own(LongPollASGIHandler()(scope, client_messages(), send))
    assert time.monotonic() - started < 3  # not after the wait
    status, error = (401, "Please log in to continue.") if who == "nobody" else (404, "This prompt was not found.")
    assert sent[0]["status"] == status and json.loads(sent[1]["body"]) == {"error": error}
    assert selectors._ASYNC_LONG_POLLS["waiting"] == 0


# --- the processing page's event stream -----------------------------------------------------------


def parse_events(body: bytes) -> list[dict]:
    """The `status` events of a text/event-stream body, each with its `retry` (or None)."""
    events = []
    for block in body.decode().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if line and not line.startswith(":"))
        if fields:
            assert fields["event"] == "status", block
            events.append({**json.loads(fields["data"]), "retry": fields.get("retry")})
    return events


def stream_of(prompt, cookie, *, receive=None, meanwhile=None) -> tuple[dict, list[dict], list[dict]]:
    """The event stream of `prompt` through the ASGI handler: its headers, its events, and every message
    sent; `meanwhile(loop)` runs beside it (e.g. completes the prompt)."""
    from prompts.long_poll_handler import LongPollASGIHandler

    sent: list[dict] = []

    async def send(message):
        sent.append(message)

    async def both():
        streaming = asyncio.create_task(
            LongPollASGIHandler()(
                status_scope(prompt.processing_uuid, b"", cookie, events=True), receive or client_messages(), send
            )
        )
        if meanwhile is not None:
            await meanwhile()
        await asyncio.wait_for(streaming, 20)

    run_in_a_loop_of_its_own(both())
    headers = {name.decode().lower(): value.decode() for name, value in sent[0]["headers"]}
    assert sent[0]["status"] == 200
    return headers, parse_events(b"".join(m.get("body", b"") for m in sent[1:])), sent


def test_the_event_stream_sends_the_status_at_once_then_the_completion(transactional_db, alice, settings):
    """One request per waiting page: the status at once, then the completion pushed the moment it comes
    (PROMPT_DONE on PostgreSQL, the short re-read on SQLite), and the stream ends."""
    settings.PROCESSING_EVENTS_EVERY_SECONDS = 15.0
    prompt = make_prompt(alice)
    times: dict = {}

    async def complete_after_a_second():
        await asyncio.sleep(1.0)
        times["completed"] = time.monotonic()
        await asyncio.get_running_loop().run_in_executor(None, complete, prompt)

    headers, events, sent = stream_of(prompt, session_of(alice), meanwhile=complete_after_a_second)
    times["ended"] = time.monotonic()
    assert headers["content-type"] == "text/event-stream" and "content-length" not in headers
    assert "no-cache" in headers["cache-control"] and headers["x-accel-buffering"] == "no"
    assert "total;dur=" in headers["server-timing"]
    assert [e["processing_complete"] for e in events] == [False, True]
    assert events[0]["estimate_text"].startswith("About ") and events[0]["retry"] == "250"
    prompt.refresh_from_db()
    assert events[1]["final_url"] == f"/prompt/{prompt.slug}/" and events[1]["retry"] is None
    assert times["ended"] - times["completed"] < 5  # pushed, not after the 15 s period
    assert sent[-1] == {"type": "http.response.body"}  # the stream ended itself
    assert selectors._ASYNC_LONG_POLLS["waiting"] == 0


def test_the_event_stream_sends_the_status_every_period_and_ends_after_its_time(transactional_db, alice, settings):
    """Nothing happens: a status event every period (its estimate aged, bytes that keep a router's idle
    window open), and after PROCESSING_EVENTS_MAX_SECONDS the stream ends for the page to reconnect."""
    settings.PROCESSING_EVENTS_EVERY_SECONDS = 0.4
    settings.PROCESSING_EVENTS_MAX_SECONDS = 1.8
    prompt = make_prompt(alice)
    started = time.monotonic()
    _headers, events, _sent = stream_of(prompt, session_of(alice))
    assert 1.7 < time.monotonic() - started < 10
    assert len(events) >= 4 and not any(e["processing_complete"] for e in events)
    elapsed = [e["elapsed_seconds"] for e in events]
    assert elapsed == sorted(elapsed) and elapsed[-1] > elapsed[0]
    assert selectors._ASYNC_LONG_POLLS["waiting"] == 0


def test_an_event_stream_ends_when_its_page_goes_away(transactional_db, alice, settings):
    settings.PROCESSING_EVENTS_EVERY_SECONDS = 15.0
    prompt = make_prompt(alice)
    started = time.monotonic()
    _headers, events, _sent = stream_of(prompt, session_of(alice), receive=client_messages(gone_after=0.5))
    assert time.monotonic() - started < 5
    assert [e["processing_complete"] for e in events] == [False]
    assert selectors._ASYNC_LONG_POLLS["waiting"] == 0


def test_event_streams_end_at_once_when_the_web_process_stops(transactional_db, alice, settings):
    """A stopping web worker (prompts_manager/web_worker.py) ends every stream instead of holding its stop
    until gunicorn's graceful timeout; the pages reconnect, to a process that is not stopping."""
    from prompts.long_poll_handler import end_event_streams

    settings.PROCESSING_EVENTS_EVERY_SECONDS = 15.0
    prompt = make_prompt(alice)

    async def stop_after_half_a_second():
        await asyncio.sleep(0.5)
        end_event_streams()

    started = time.monotonic()
    _headers, events, sent = stream_of(prompt, session_of(alice), meanwhile=stop_after_half_a_second)
    assert time.monotonic() - started < 5
    assert [e["processing_complete"] for e in events] == [False]
    assert sent[-1] == {"type": "http.response.body", "body": b"", "more_body": False}
    assert selectors._ASYNC_LONG_POLLS["waiting"] == 0


def test_with_no_room_to_wait_the_stream_tells_the_page_to_come_back_on_the_polling_rhythm(
    transactional_db, alice, settings
):
    settings.PROCESSING_ASYNC_LONG_POLLS_PER_PROCESS = 0
    prompt = make_prompt(alice)
    _headers, events, _sent = stream_of(prompt, session_of(alice))
    assert [(e["processing_complete"], e["waited"], e["retry"]) for e in events] == [
        (False, False, str(settings.PROCESSING_POLL_MS))
    ]


def test_a_complete_prompt_s_stream_is_one_event(transactional_db, alice):
    prompt = make_prompt(alice)
    complete(prompt)
    _headers, events, _sent = stream_of(prompt, session_of(alice))
    assert [e["processing_complete"] for e in events] == [True]


def test_what_the_ai_wrote_cannot_add_lines_or_events_to_the_stream(transactional_db, alice):
    """The AI's title and description go into a `data:` line as JSON: a line break in them is escaped, so
    they cannot end the event or add a field or an event of their own."""
    prompt = make_prompt(alice)
    complete(prompt)
    forged = 'Nice\n\nevent: status\ndata: {"processing_complete": true, "final_url": "https://evil.example/"}\r\n'
    Prompt.objects.filter(id=prompt.id).update(title=forged, excerpt="line\u2028separator\rreturn")
    _headers, events, sent = stream_of(prompt, session_of(alice))
    assert len(events) == 1 and events[0]["title"] == forged
    assert events[0]["description"] == "line\u2028separator\rreturn"
    assert events[0]["final_url"] == f"/prompt/{Prompt.objects.get(id=prompt.id).slug}/"
    body = b"".join(m.get("body", b"") for m in sent[1:])
    assert body.count(b"\n") == 4 and b"\r" not in body  # retry, event, data, blank line: nothing else


def test_under_wsgi_the_event_stream_is_a_long_poll_in_the_stream_s_format(transactional_db, alice, settings):
    """runserver and every WSGI server: one event once the prompt completes or the wait is over, then the
    browser's EventSource reconnects (at once after a wait, on the polling rhythm when none could wait)."""
    settings.PROCESSING_LONG_POLL_SECONDS = 1
    prompt = make_prompt(alice)
    client = Client()
    client.force_login(alice)
    url = f"/api/prompt/status/{prompt.processing_uuid}/events/"
    assert Client().get(url).status_code == 401
    waited = client.get(url)
    assert waited["Content-Type"] == "text/event-stream" and "no-cache" in waited["Cache-Control"]
    [event] = parse_events(waited.content)
    assert event["processing_complete"] is False and event["waited"] is True and event["retry"] == "250"
    finisher = complete_soon(prompt, after=0.3)
    [event] = parse_events(client.get(url).content)
    finisher.join()
    assert event["processing_complete"] is True
    settings.PROCESSING_LONG_POLL_SECONDS = 0  # long polls off: the page polls on its rhythm
    [event] = parse_events(client.get(url).content)
    assert event["retry"] == str(settings.PROCESSING_POLL_MS)


# --- moderation beside the variants ---------------------------------------------------------------


def started_upload(client, data: bytes, content_type: str = "image/jpeg") -> str:
    filename = "picture." + content_type.split("/")[1].replace("jpeg", "jpg")
    signed = client.post_json(
        "/api/upload/b2/presign/", {"filename": filename, "content_type": content_type, "file_size": len(data)}
    )[1]
    put = client.put(signed["presigned_url"], data=data, content_type=content_type)
    assert put.status_code == 200, put.content
    return signed["upload_id"]


def files_of(upload_id: str) -> list[str]:
    folder = Path(storage_root()) / "uploads" / upload_id
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def storage_root() -> str:
    from django.conf import settings

    return str(settings.MEDIA_ROOT)


def test_finish_makes_a_ready_upload_in_one_request(alice, local_media, fake_openai):
    client = csrf_client(alice)
    upload_id = started_upload(client, media_samples.jpeg_bytes((1600, 1200)))
    response = client.post(
        "/api/upload/b2/finish/",
        data=json.dumps({"upload_id": upload_id}),
        content_type="application/json",
        HTTP_X_CSRFTOKEN=client.csrf_token,
    )
    answer = response.json()
    assert response.status_code == 200, answer
    assert answer["state"] == "ready" and answer["moderation"]["action"] == "allow"
    six = {"thumb", "medium", "large", "webp_thumb", "webp", "webp_large"}  # JPEG and WebP at 300/600/1200 (issue 18)
    assert set(answer["variants"]) == six and answer["width"] == 1600
    upload = Upload.objects.get(id=upload_id)
    assert upload.state == Upload.State.READY and set(upload.variant_keys) == six
    assert all(storage.exists(key) for key in upload.variant_keys.values())
    # Where the time went, for DevTools: the database, the AI, the resize.
    timing = response["Server-Timing"]
    assert all(f"{name};dur=" in timing for name in ("db", "ai", "resize", "total"))
    # The old calls, in order, still answer for the same upload.
    assert client.post_json("/api/upload/b2/variants/", {"upload_id": upload_id})[1]["state"] == "ready"


def image_sent(request) -> Image.Image:
    """The image an AI request carried (a data URL)."""
    url = request.images[0]["url"]
    assert url.startswith("data:image/"), url[:40]
    return Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))


def finished_prompt(user, data: bytes, content_type: str = "image/jpeg") -> Prompt:
    client = csrf_client(user)
    upload_id = started_upload(client, data, content_type)
    status, answer = client.post_json("/api/upload/b2/finish/", {"upload_id": upload_id})
    assert status == 200 and answer["state"] == "ready", answer
    return submission.submit_prompt(
        user=user, upload_id=upload_id, content="a red boat at dawn", ai_generator="flux", save_as_draft=False
    )


def test_the_ai_writes_from_the_medium_jpeg_our_server_made_and_moderation_sees_the_original(
    alice, local_media, fake_openai
):
    """The content task sends the 600 px JPEG made from the checked bytes (upright, a fraction of the
    original's size: the model looks at 512 px anyway); moderation looked at the checked original."""
    original = media_samples.jpeg_bytes((1600, 1200), orientation=6)  # stored sideways, shown upright
    prompt = finished_prompt(alice, original)
    assert ai_content.generate_ai_content(prompt_id=prompt.id).status == "success"
    moderated = image_sent(fake_openai.requests_of("moderation")[0])
    assert moderated.size == (1600, 1200) and moderated.getexif().get(0x0112) == 6
    written_from = image_sent(fake_openai.requests_of("content")[0])
    assert written_from.format == "JPEG" and written_from.size == (450, 600)  # upright, 600 px
    sent = fake_openai.requests_of("content")[0].images[0]["url"].split(",", 1)[1]
    assert base64.b64decode(sent) == storage.read_bytes(prompt.media_keys["medium"])  # the page's own medium


def test_without_the_medium_jpeg_in_the_cache_the_ai_writes_from_the_checked_original(alice, local_media, fake_openai):
    original = media_samples.png_rgba_bytes((500, 400))
    prompt = finished_prompt(alice, original, "image/png")
    cache.delete(uploads.content_image_cache_key(prompt.media_sha256))
    assert ai_content.generate_ai_content(prompt_id=prompt.id).status == "success"
    (request,) = fake_openai.requests_of("content")
    assert request.images[0]["url"].startswith("data:image/png;base64,") and image_sent(request).size == (500, 400)


def test_a_refused_upload_leaves_no_variant_anywhere(alice, local_media, fake_openai, monkeypatch):
    """The variants are made while moderation runs; the refusal comes first here, and they are deleted."""
    from prompts.media import images

    fake_openai.script("moderation", CRITICAL_ANSWER)
    refused = threading.Event()
    real_make_variants = images.make_variants

    def variants_after_the_verdict(data, **options):
        refused.wait(10)  # the verdict is in before the variants are: the race the overlap opens
        return real_make_variants(data, **options)

    monkeypatch.setattr(images, "make_variants", variants_after_the_verdict)
    from prompts.services import uploads

    real_moderate = uploads.moderate_upload

    def moderate_then_release(**kwargs):
        try:
            return real_moderate(**kwargs)
        finally:
            refused.set()

    monkeypatch.setattr(uploads, "moderate_upload", moderate_then_release)
    client = csrf_client(alice)
    upload_id = started_upload(client, media_samples.jpeg_bytes((1600, 1200), color=CRITICAL))
    code, answer = client.post_json("/api/upload/b2/finish/", {"upload_id": upload_id})
    assert code == 200, answer
    assert answer["state"] == "rejected" and answer["moderation"]["action"] == "reject"
    assert answer["variants"] is None
    upload = Upload.objects.get(id=upload_id)
    assert upload.state == Upload.State.REJECTED
    six = ("thumb", "medium", "large", "webp_thumb", "webp", "webp_large")
    assert not any(name in upload.variant_keys for name in six)
    assert files_of(upload_id) == []  # not the original, not one variant
    names = ("thumb.jpg", "medium.jpg", "large.jpg", "webp_thumb.webp", "webp.webp", "webp_large.webp")
    for name in (*names, "original.jpg"):
        assert client.get(f"/media/uploads/{upload_id}/{name}").status_code == 404
    assert client.post_json("/api/upload/b2/variants/", {"upload_id": upload_id})[0] == 409


def test_variants_of_an_upload_refused_meanwhile_are_deleted(alice, local_media, fake_openai):
    """The other order: variants finished, then the row says rejected (another request's verdict)."""
    from prompts.services import uploads

    client = csrf_client(alice)
    upload_id = started_upload(client, media_samples.jpeg_bytes((1200, 900)))
    assert client.post_json("/api/upload/b2/complete/", {"upload_id": upload_id})[0] == 200
    upload = Upload.objects.get(id=upload_id)
    made = uploads._variant_files(upload)
    assert all(storage.exists(key) for key in made.keys.values())
    Upload.objects.filter(id=upload_id).update(state=Upload.State.REJECTED)
    with pytest.raises(uploads.Conflict):
        uploads._record_variants(upload, made)
    assert not any(storage.exists(key) for key in made.keys.values())
    assert Upload.objects.get(id=upload_id).variant_keys == {}


def test_the_sequential_path_is_kept(alice, local_media, fake_openai, settings):
    settings.CRITICAL_PATH_SEQUENTIAL = True
    client = csrf_client(alice)
    upload_id = started_upload(client, media_samples.jpeg_bytes((1200, 900)))
    code, answer = client.post_json("/api/upload/b2/finish/", {"upload_id": upload_id})
    assert code == 200 and answer["state"] == "ready"
    page = client.get("/upload/").content.decode()
    assert 'data-critical-path="sequential"' in page


@pytest.mark.django_db(transaction=True)  # the late check is queued on commit
def test_finish_holds_the_check_to_the_request_budget_and_the_worker_finishes_it(
    alice, local_media, fake_openai, settings
):
    """Issue 24 on the finish path: one AI attempt of AI_REQUEST_TIMEOUT_SECONDS inside the request; a
    slower AI leaves the upload held (not checked, variants made) and the worker finishes the check."""
    from django_q.models import OrmQ

    from prompts import tasks

    settings.AI_TIMEOUT_SECONDS = 30  # the worker's budget
    settings.AI_MAX_RETRIES = 1
    settings.AI_REQUEST_TIMEOUT_SECONDS = 1  # the request's
    fake_openai.script("moderation", delay=3, times=1)  # answers, but later than a request may wait
    client = csrf_client(alice)
    upload_id = started_upload(client, media_samples.jpeg_bytes((1600, 1200)))
    code, answer = client.post_json("/api/upload/b2/finish/", {"upload_id": upload_id})
    assert code == 200, answer
    assert answer["state"] == "ready" and answer["moderation"]["action"] == "review"
    assert answer["moderation"]["checked"] is False
    assert len(fake_openai.requests_of("moderation")) == 1  # one attempt inside the request, no retry
    assert [row.name() for row in OrmQ.objects.all()] == [f"moderation_{upload_id}"]
    upload = Upload.objects.get(id=upload_id)
    assert upload.state == Upload.State.READY and len(upload.variant_keys) == 6
    assert all(storage.exists(key) for key in upload.variant_keys.values())

    fake_openai.script("moderation", {"severity": "none", "violations": [], "explanation": "(fake)"})
    assert tasks.finish_moderation(upload_id)["action"] == "allow"
    upload.refresh_from_db()
    assert upload.moderation_checked is True and upload.state == Upload.State.READY


# --- a JPEG's variants start before complete has stored it ------------------------------------------


def _jpeg_samples() -> dict[str, bytes]:
    from PIL import Image, ImageCms

    def saved(img, **options) -> bytes:
        buffer = io.BytesIO()
        img.save(buffer, format="JPEG", **options)
        return buffer.getvalue()

    photo = Image.open(io.BytesIO(media_samples.jpeg_bytes((1600, 1200))))
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    xmp = b"\xff\xe1" + (len(b"http://ns.adobe.com/xap/1.0/\0<x/>") + 2).to_bytes(2, "big")
    xmp += b"http://ns.adobe.com/xap/1.0/\0<x/>"
    plain = media_samples.jpeg_bytes((1600, 1200))
    return {
        "plain": plain,
        "12 MP": media_samples.jpeg_bytes((4000, 3000)),
        "turned, with GPS": media_samples.jpeg_bytes((1600, 1200), orientation=6, gps=True),
        "colour profile": saved(photo, quality=90, icc_profile=srgb),
        "progressive, with a comment": saved(photo, quality=90, progressive=True, comment=b"made by hand"),
        "CMYK (Adobe)": saved(photo.convert("CMYK"), quality=90),
        "XMP and bytes after the end": plain[:2] + xmp + plain[2:] + b"\xff\xd8 a second image",
    }


@pytest.mark.parametrize("name", list(_jpeg_samples()))
def test_a_jpeg_makes_the_same_variants_before_and_after_it_is_cleaned(name):
    """Why a JPEG's variants may start from the uploaded bytes: the cleaned file draws the same pixels,
    turned the same way, in the same colour profile, so every variant is the same byte for byte."""
    from prompts.media import images
    from prompts.services import uploads

    data = _jpeg_samples()[name]
    info = images.inspect_image(data)
    assert info.format in uploads.EARLY_VARIANT_FORMATS
    cleaned = uploads._sanitized_image(Upload(), data, info)
    before, after = images.make_variants(data), images.make_variants(cleaned)
    assert before.files == after.files
    assert (before.blurhash, before.width, before.height) == (after.blurhash, after.width, after.height)


def test_a_png_with_stealth_bits_is_cleaned_pixel_by_pixel_so_its_variants_wait():
    from prompts.media import images
    from prompts.services import uploads
    from tests import generation_samples

    data = generation_samples.stealth_png("a prompt hidden in the pixels", mode="rgb", size=(400, 320))
    info = images.inspect_image(data)
    assert info.format not in uploads.EARLY_VARIANT_FORMATS
    cleaned = uploads._sanitized_image(Upload(), data, info)
    assert images.make_variants(data).files != images.make_variants(cleaned).files


def test_a_jpeg_s_variants_are_under_way_before_complete_stores_the_file(alice, local_media, fake_openai, monkeypatch):
    from prompts.media import images
    from prompts.services import uploads

    order = []
    real_make_variants, real_store = images.make_variants, uploads._store_verified
    monkeypatch.setattr(
        images, "make_variants", lambda data, **o: order.append("variants") or real_make_variants(data, **o)
    )

    def store(upload, data, **options):
        time.sleep(0.2)  # a slow storage: the variants thread has long started by now
        order.append("store")
        return real_store(upload, data, **options)

    monkeypatch.setattr(uploads, "_store_verified", store)
    client = csrf_client(alice)
    upload_id = started_upload(client, media_samples.jpeg_bytes((1600, 1200)))
    code, answer = client.post_json("/api/upload/b2/finish/", {"upload_id": upload_id})
    assert code == 200 and answer["state"] == "ready", answer
    assert order == ["variants", "store"]
    upload = Upload.objects.get(id=upload_id)
    assert all(storage.exists(key) for key in upload.variant_keys.values())


def test_when_complete_fails_after_the_variants_started_their_files_are_deleted(
    alice, local_media, fake_openai, monkeypatch
):
    """Alice shares a file she already shared: complete refuses it after inspecting it, by which time the
    variants are being made. They are deleted, the row never lists them."""
    from prompts.media import images

    started = threading.Event()
    real_make_variants = images.make_variants

    def slow_variants(data, **options):
        started.set()
        time.sleep(0.3)  # still running when complete refuses the file
        return real_make_variants(data, **options)

    monkeypatch.setattr(images, "make_variants", slow_variants)
    data = media_samples.jpeg_bytes((1600, 1200), color=(10, 120, 30))
    client = csrf_client(alice)
    first = started_upload(client, data)
    assert client.post_json("/api/upload/b2/finish/", {"upload_id": first})[1]["state"] == "ready"
    from prompts.services import submission

    submission.submit_prompt(
        user=alice, upload_id=first, content="A green field", ai_generator="midjourney", save_as_draft=False
    )
    started.clear()
    again = started_upload(client, data)
    code, answer = client.post_json("/api/upload/b2/finish/", {"upload_id": again})
    assert code == 409 and "existing_url" in answer, answer
    assert started.is_set()  # the variants had started
    assert files_of(again) == []
    assert Upload.objects.get(id=again).variant_keys == {}
