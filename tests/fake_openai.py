"""A fake OpenAI-compatible HTTP server on loopback, for the real SDK (openai 3.x uses httpx2, which
respx cannot intercept).

Convention: the base URL is `FakeOpenAI.url` = "http://127.0.0.1:<port>/v1" and the only endpoint is
POST /v1/chat/completions. All control is state in the process that started the server, so a qcluster
subprocess pointed at `url` (see `env()`) gets the same answers.

A request's kind comes from its response_format JSON schema name: a name containing "moderation"
is "moderation", anything else "content". Each kind answers from its script (see `script()`):
by default moderation says severity "none" and content returns a valid title, description and the
first three tags of the request's "Allowed tags: [...]" list.

Markers in the request's text (the user's prompt text) override the script for that request, so a
browser test can choose the AI's behaviour by what it types:
    [[ai:timeout]]      wait `slow_seconds` before answering (past any test client timeout)
    [[ai:delay=1.5]]    wait 1.5 s, then answer normally
    [[ai:error]]        HTTP 500            [[ai:rate_limit]]  HTTP 429 with Retry-After
    [[ai:bad_request]]  HTTP 400            [[ai:status=503]]  any HTTP status
    [[ai:malformed]] [[ai:truncated]] [[ai:refusal]] [[ai:missing_fields]] [[ai:no_choices]]
Moderation requests carry no user text, so script moderation with `script("moderation", ...)`, or
let it answer by what the picture shows with `flag_colour()`: a colour stands for prohibited content.
"""

import base64
import io
import json
import random
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

BEHAVIOURS = ("answer", "malformed", "truncated", "refusal", "missing_fields", "no_choices")
MARKER = re.compile(r"\[\[ai:([a-z_]+)(?:=([0-9.]+))?\]\]")
ALLOWED_TAGS = re.compile(r"Allowed tags: (\[.*?\])\n")

DEFAULT_MODERATION = {"severity": "none", "violations": [], "explanation": "Nothing of concern (fake)."}
DEFAULT_DESCRIPTION = (
    "A richly detailed AI-generated scene with soft light, layered depth and a clear focal point. "
    "The composition leads the eye from the foreground to a glowing horizon, and the colour palette "
    "stays warm and balanced. Reuse this prompt to explore similar moods, swap the subject for your own, "
    "or adjust the lighting words to change the atmosphere."
)


@dataclass
class Step:
    """How the server answers one request."""

    content: dict[str, Any] | None = None  # JSON object sent as the message content; None = default
    behaviour: str = "answer"
    status: int = 200
    retry_after: float | None = None
    delay: float = 0.0


@dataclass
class RecordedRequest:
    path: str
    kind: str
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    received_at: float = 0.0  # time.time() when the request arrived
    answered_at: float | None = None  # ... and when its answer was sent (None: not yet)

    @property
    def text(self) -> str:
        """All text the request's messages carry, system prompt included."""
        return "\n".join(_texts(self.body))

    @property
    def images(self) -> list[dict[str, Any]]:
        """The image_url objects ({"url": ..., "detail": ...}) of all messages."""
        return [
            part["image_url"]
            for message in self.body.get("messages", [])
            if isinstance(message.get("content"), list)
            for part in message["content"]
            if part.get("type") == "image_url"
        ]


class FakeOpenAI:
    def __init__(self, *, slow_seconds: float = 5.0) -> None:
        self.slow_seconds = slow_seconds
        self._lock = threading.Lock()
        self._scripts: dict[str, tuple[Step, int | None]] = {}
        self._requests: list[RecordedRequest] = []
        self._flagged_colours: list[tuple[tuple[int, int, int], str]] = []
        self._weather: tuple[float, float, float] | None = None  # (min delay, max delay, failure rate)
        self._random = random.Random(24)
        self._hang_until = 0.0
        self._hang_seconds = 0.0
        self._httpd: ThreadingHTTPServer | None = None
        self._latency = {"moderation": 0.0, "content": 0.0}

    # --- lifecycle ---------------------------------------------------------------------------
    def start(self) -> "FakeOpenAI":
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._httpd.daemon_threads = True
        threading.Thread(target=self._httpd.serve_forever, name="fake-openai", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    @property
    def url(self) -> str:
        assert self._httpd is not None, "start() the server first"
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def env(self, *, timeout: float = 2.0, max_retries: int = 0) -> dict[str, str]:
        """Environment for a subprocess (e.g. qcluster) that should talk to this server."""
        return {
            "AI_PROVIDER": "openai",
            "OPENAI_API_KEY": "test-key",
            "OPENAI_BASE_URL": self.url,
            "AI_TIMEOUT_SECONDS": str(timeout),
            "AI_MAX_RETRIES": str(max_retries),
        }

    # --- control -----------------------------------------------------------------------------
    def reset(self) -> None:
        """Default answers for every kind, and no recorded requests."""
        with self._lock:
            self._scripts.clear()
            self._requests.clear()
            self._flagged_colours.clear()
            self._weather, self._hang_until = None, 0.0

    def weather(self, *, delay: tuple[float, float], failure_rate: float) -> None:
        """Unscripted requests of every kind take a random time in `delay` (seconds) and fail with HTTP 500
        at `failure_rate`, like a real AI on a bad day (bench/chaos.py)."""
        with self._lock:
            self._weather = (delay[0], delay[1], failure_rate)

    def hang(self, *, window: float, seconds: float) -> None:
        """For the next `window` seconds, every request (markers and scripts too) hangs `seconds` before
        its answer."""
        with self._lock:
            self._hang_until, self._hang_seconds = time.monotonic() + window, seconds

    def set_latency(self, seconds: float, *, kinds: tuple[str, ...] = ("moderation", "content")) -> None:
        """Every answer of these kinds waits `seconds` (on top of a scripted delay), like a real model's
        response time; kept until changed (reset() does not clear it)."""
        with self._lock:
            for kind in kinds:
                self._latency[kind] = float(seconds)

    def flag_colour(self, colour: tuple[int, int, int], severity: str = "critical") -> None:
        """Unscripted moderation answers `severity` when any part of a request's images (at least 2% of
        one image, e.g. one frame of a contact sheet) is close to `colour`; the worst match wins."""
        with self._lock:
            self._flagged_colours.append((tuple(colour), severity))

    def script(
        self,
        kind: str,
        content: dict[str, Any] | None = None,
        *,
        behaviour: str = "answer",
        status: int = 200,
        retry_after: float | None = None,
        delay: float = 0.0,
        times: int | None = None,
    ) -> None:
        """Answer the next `times` requests of `kind` (all of them when None) this way, then by default.

        content: the JSON object to answer with; behaviour: one of BEHAVIOURS; status: an HTTP error
        status to answer with instead (429 and 5xx are retried by the SDK); retry_after: seconds for
        the Retry-After header; delay: seconds to wait before answering.
        """
        assert kind in ("moderation", "content"), kind
        assert behaviour in BEHAVIOURS, behaviour
        with self._lock:
            self._scripts[kind] = (Step(content, behaviour, status, retry_after, delay), times)

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def requests_of(self, kind: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.kind == kind]

    # --- serving -----------------------------------------------------------------------------
    def _next_step(self, path: str, body: dict[str, Any], headers: dict[str, str]) -> tuple[str, Step, RecordedRequest]:
        schema_name = str(((body.get("response_format") or {}).get("json_schema") or {}).get("name", ""))
        kind = "moderation" if "moderation" in schema_name.lower() else "content"
        with self._lock:
            recorded = RecordedRequest(path, kind, body, headers, received_at=time.time())
            self._requests.append(recorded)
            if time.monotonic() < self._hang_until:
                return kind, Step(delay=self._hang_seconds), recorded
            if self._weather is not None and kind not in self._scripts:
                low, high, failure_rate = self._weather
                failed = self._random.random() < failure_rate
                return kind, Step(delay=self._random.uniform(low, high), status=500 if failed else 200), recorded
            marked = self._step_from_markers(body)
            if marked is not None:
                return kind, marked, recorded
            if kind == "moderation" and kind not in self._scripts and self._flagged_colours:
                return kind, Step(content=self._moderation_by_colour(body)), recorded
            step, times = self._scripts.get(kind, (Step(), None))
            if times is not None:
                if times <= 1:
                    self._scripts.pop(kind, None)
                else:
                    self._scripts[kind] = (step, times - 1)
            return kind, step, recorded

    def _moderation_by_colour(self, body: dict[str, Any]) -> dict[str, Any]:
        from PIL import Image

        order = ("none", "low", "medium", "high", "critical")
        worst, seen = "none", []
        for part in RecordedRequest("", "moderation", body).images:
            data = base64.b64decode(part["url"].split(",", 1)[1])
            with Image.open(io.BytesIO(data)) as img:
                pixels = list(img.convert("RGB").resize((64, 64)).getdata())
            for colour, severity in self._flagged_colours:
                near = sum(1 for pixel in pixels if max(abs(a - b) for a, b in zip(pixel, colour, strict=False)) <= 40)
                if near >= 0.02 * len(pixels):
                    seen.append(f"colour {colour}")
                    worst = max(worst, severity, key=order.index)
        return {"severity": worst, "violations": seen, "explanation": "Judged by colour (fake)."}

    def _step_from_markers(self, body: dict[str, Any]) -> Step | None:
        match = MARKER.search("\n".join(_texts(body)))
        if match is None:
            return None
        name, value = match.groups()
        if name == "timeout":
            return Step(delay=self.slow_seconds)
        if name == "delay":
            return Step(delay=float(value or 1))
        if name == "status":
            return Step(status=int(float(value or 500)))
        statuses = {
            "error": Step(status=500),
            "rate_limit": Step(status=429, retry_after=1),
            "bad_request": Step(status=400),
        }
        if name in statuses:
            return statuses[name]
        return Step(behaviour=name) if name in BEHAVIOURS else None


def _texts(body: dict[str, Any]) -> list[str]:
    texts = []
    for message in body.get("messages", []):
        content = message.get("content")
        if isinstance(content, str):
            texts.append(content)
        elif isinstance(content, list):
            texts.extend(part.get("text", "") for part in content if part.get("type") == "text")
    return texts


def _default_content(body: dict[str, Any]) -> dict[str, Any]:
    match = ALLOWED_TAGS.search("\n".join(_texts(body)) + "\n")
    tags = json.loads(match.group(1))[:3] if match else []
    return {
        "title": "Glowing Horizon Over A Quiet Dreamlike Scene",
        "description": DEFAULT_DESCRIPTION,
        "tags": tags,
        "relevance_score": 0.85,
        "relevance_explanation": "The image shows what the prompt asks for (fake).",
    }


def _message_and_finish(kind: str, step: Step, body: dict[str, Any]) -> tuple[dict[str, Any], str]:
    answer = (
        step.content
        if step.content is not None
        else (DEFAULT_MODERATION if kind == "moderation" else _default_content(body))
    )
    content = json.dumps(answer)
    if step.behaviour == "malformed":
        return {"role": "assistant", "content": "Sure! Here is the analysis: {severity: none,", "refusal": None}, "stop"
    if step.behaviour == "truncated":
        return {"role": "assistant", "content": content[: len(content) // 2], "refusal": None}, "length"
    if step.behaviour == "refusal":
        return {"role": "assistant", "content": None, "refusal": "I'm sorry, I can't help with that."}, "stop"
    if step.behaviour == "missing_fields":
        partial = (
            {"violations": [], "explanation": "no severity"}
            if kind == "moderation"
            else {"title": answer.get("title", "A Title Without Tags")}
        )
        return {"role": "assistant", "content": json.dumps(partial), "refusal": None}, "stop"
    return {"role": "assistant", "content": content, "refusal": None}, "stop"


def _handler_for(fake: FakeOpenAI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.path.rstrip("/") != "/v1/chat/completions":
                return self._send(
                    404, {"error": {"message": f"Unknown path {self.path}", "type": "invalid_request_error"}}
                )
            try:
                body = json.loads(raw)
            except ValueError:
                return self._send(400, {"error": {"message": "Body is not JSON", "type": "invalid_request_error"}})
            kind, step, self.recorded = fake._next_step(
                self.path, body, {k.lower(): v for k, v in self.headers.items()}
            )
            delay = step.delay + fake._latency[kind]
            if delay:
                time.sleep(delay)
            if step.status != 200:
                headers = {"Retry-After": str(step.retry_after)} if step.retry_after is not None else {}
                error_type = "rate_limit_exceeded" if step.status == 429 else "server_error"
                return self._send(
                    step.status, {"error": {"message": f"Fake {step.status}", "type": error_type}}, headers
                )
            choices = []
            if step.behaviour != "no_choices":
                message, finish_reason = _message_and_finish(kind, step, body)
                choices = [{"index": 0, "message": message, "finish_reason": finish_reason, "logprobs": None}]
            self._send(
                200,
                {
                    "id": f"chatcmpl-fake-{len(fake.requests)}",
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": body.get("model", "fake"),
                    "choices": choices,
                    "usage": {"prompt_tokens": 2800, "completion_tokens": 120, "total_tokens": 2920},
                },
            )

        def _send(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
            data = json.dumps(payload).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)
                if getattr(self, "recorded", None) is not None:
                    self.recorded.answered_at = time.time()
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (its timeout) while we were delaying

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler
