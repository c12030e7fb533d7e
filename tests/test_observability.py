"""Operators' view: JSON log lines carrying the request id, and Sentry reports that arrive at a DSN
on loopback without the request body, prompt text or image bytes."""

import gzip
import io
import json
import logging
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import sentry_sdk

from prompts.observability import ContextFilter, JsonFormatter, init_sentry, task
from prompts.services import submission
from tests.conftest import CsrfClient
from tests.factories import ready_upload_for

SECRET_PROMPT = "an unpublished prompt: a violet lighthouse under seven moons"


class FakeSentry(ThreadingHTTPServer):
    """Receives envelopes as sentry.io would, and keeps every item's JSON."""

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _SentryHandler)
        self.raw: list[bytes] = []
        self.items: list[dict] = []

    @property
    def dsn(self) -> str:
        return f"http://publickey@127.0.0.1:{self.server_address[1]}/1"


class _SentryHandler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        self.server.raw.append(body)
        for line in body.split(b"\n"):
            try:
                item = json.loads(line)
            except ValueError:
                continue
            if isinstance(item, dict) and ("exception" in item or "logentry" in item):
                self.server.items.append(item)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


@pytest.fixture
def fake_sentry():
    server = FakeSentry()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    init_sentry(dsn=server.dsn, environment="test")
    yield server
    sentry_sdk.get_client().close(timeout=2)
    sentry_sdk.init()  # no DSN: reporting off again for the rest of the run
    server.shutdown()


@pytest.fixture
def json_log():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    root.removeHandler(handler)


@pytest.mark.django_db
def test_an_error_while_submitting_reaches_sentry_without_the_prompt_or_the_body(alice, fake_sentry, monkeypatch):
    def broken(
        **kwargs,
    ):  # a failure injected into the real view, to have something to report
        raise RuntimeError("submission exploded")

    monkeypatch.setattr(submission, "submit_prompt", broken)
    client = CsrfClient(raise_request_exception=False)
    client.force_login(alice)
    client.get("/upload/")
    upload = ready_upload_for(alice)
    response = client.post_form(
        "/upload/submit/",
        {"upload_id": str(upload.id), "content": SECRET_PROMPT, "ai_generator": "flux"},
        HTTP_X_REQUEST_ID="req-0123456789",
    )
    assert response.status_code == 500
    sentry_sdk.flush(timeout=5)
    events = [item for item in fake_sentry.items if "exception" in item]
    assert events, "no event arrived at the DSN"
    event = events[0]
    assert event["exception"]["values"][-1]["type"] == "RuntimeError"
    assert event["exception"]["values"][-1]["value"] == "submission exploded"
    assert "upload" in event["transaction"]  # the view (the URL comes from the WSGI server in production)
    assert event["request"]["data"] == "[removed]"
    assert event["tags"]["request_id"] == "req-0123456789"
    raw = b"".join(fake_sentry.raw)
    assert b"violet lighthouse" not in raw
    assert b"sessionid" not in raw and b"csrftoken" not in raw  # no cookies
    assert "user" not in event  # no personal data
    assert all("vars" not in frame for frame in event["exception"]["values"][-1]["stacktrace"]["frames"])


def test_a_failed_task_is_reported_with_its_task_name_and_prompt_id(fake_sentry, json_log):
    @task
    def generate_for_prompt(prompt_id: int) -> dict:
        logging.getLogger("prompts.tasks").warning("working on it")
        raise ValueError("the AI answered nonsense")

    with pytest.raises(ValueError):
        generate_for_prompt(4242)  # Django-Q records the failure: the exception still propagates
    sentry_sdk.flush(timeout=5)
    events = [item for item in fake_sentry.items if "exception" in item]
    assert events[0]["tags"]["task"] == "generate_for_prompt"
    assert events[0]["tags"]["prompt_id"] == "4242"
    assert [line["prompt_id"] for line in json_log() if line["message"] == "working on it"] == [4242]


@pytest.mark.django_db(transaction=True)
def test_log_lines_are_json_with_the_request_id(client, settings, json_log):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{port}/5",
            "OPTIONS": {"CLIENT_CLASS": "django_redis.client.DefaultClient"},
        }
    }
    response = client.get("/readyz", HTTP_X_REQUEST_ID="heroku-req-42abcdef")
    assert response["X-Request-ID"] == "heroku-req-42abcdef"
    lines = [line for line in json_log() if line["message"] == "readiness check cache failed"]
    assert lines and lines[0]["request_id"] == "heroku-req-42abcdef" and lines[0]["level"] == "ERROR"
    assert "Traceback" in lines[0]["exception"]
    # a request without an id (or with a hostile one) gets a fresh one
    made = client.get("/healthz", HTTP_X_REQUEST_ID="<script>").headers["X-Request-ID"]
    assert made != "<script>" and len(made) == 32
