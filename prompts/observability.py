"""What operators see: a request id and the upload/prompt id on every log line, JSON logs in
production, and error reports to Sentry without user content.

- `RequestIdMiddleware` takes Heroku's `X-Request-ID` (or makes one), echoes it in the response and
  keeps it in a context variable for the request; `bind(upload_id=..., prompt_id=...)` adds the ids
  a view or task knows, and `ContextFilter` copies all three onto every log record.
- `JsonFormatter` writes one JSON object per line (Heroku's log drains and Papertrail parse it).
- `init_sentry()` starts sentry-sdk in the web and the worker processes when SENTRY_DSN is set.
  `scrub_event` runs before any event leaves: no request bodies (upload bytes, prompt text), no
  cookies, no local variables, no logging arguments or breadcrumb data (both may hold a prompt of an
  unpublished post), no bytes anywhere. What stays: the error, the stack, the URL, the ids.
"""

from __future__ import annotations

import contextvars
import functools
import json
import logging
import re
import uuid
from contextlib import contextmanager
from datetime import UTC, datetime

from asgiref.sync import iscoroutinefunction, markcoroutinefunction

_IDS = ("request_id", "upload_id", "prompt_id")
_context: dict[str, contextvars.ContextVar] = {name: contextvars.ContextVar(name, default=None) for name in _IDS}
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{8,200}$")


def current() -> dict[str, object]:
    return {name: var.get() for name, var in _context.items() if var.get() is not None}


@contextmanager
def bind(**ids):
    """Attach ids (upload_id, prompt_id, request_id) to every log line and error report inside."""
    tokens = [(_context[name], _context[name].set(value)) for name, value in ids.items()]
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)


class RequestIdMiddleware:
    sync_capable = True
    async_capable = True  # a waiting long poll (async view) must not be given a thread by its middleware

    def __init__(self, get_response):
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request):
        if self.is_async:
            return self._acall(request)
        request_id = self._request_id(request)
        with bind(request_id=request_id):
            response = self.get_response(request)
        response["X-Request-ID"] = request_id
        return response

    async def _acall(self, request):
        request_id = self._request_id(request)
        with bind(request_id=request_id):
            response = await self.get_response(request)
        response["X-Request-ID"] = request_id
        return response

    @staticmethod
    def _request_id(request) -> str:
        given = request.headers.get("X-Request-ID", "")
        request.request_id = given if _REQUEST_ID.match(given) else uuid.uuid4().hex
        return request.request_id


def task(function):
    """A Django-Q entry point: its prompt id on every log line, a database blip ridden out (tasks are safe
    to run twice: prompts/dbretry.py), and its failure reported with it."""
    from prompts.dbretry import retry_database_errors

    resilient = retry_database_errors(function)

    @functools.wraps(function)
    def run(*args, **kwargs):
        ids = {"prompt_id": args[0]} if args and isinstance(args[0], int) else {}
        with bind(**ids):
            try:
                return resilient(*args, **kwargs)
            except Exception as exc:
                _report(exc, task=function.__name__)
                raise  # Django-Q records the failure and retries as configured

    return run


def _report(exc: BaseException, **tags) -> None:
    import sentry_sdk

    if sentry_sdk.get_client().is_active():
        with sentry_sdk.new_scope() as scope:
            for key, value in tags.items():
                scope.set_tag(key, value)
            sentry_sdk.capture_exception(exc)


class ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        for name in _IDS:
            if not hasattr(record, name):
                setattr(record, name, _context[name].get())
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in _IDS:
            value = getattr(record, name, None)
            if value is not None:
                line[name] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


REMOVED = "[removed]"


def _no_bytes(value):
    if isinstance(value, (bytes, bytearray, memoryview)):
        return REMOVED
    if isinstance(value, dict):
        return {key: _no_bytes(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_no_bytes(item) for item in value]
    return value


def scrub_event(event: dict, hint: dict | None = None) -> dict:
    request = event.get("request") or {}
    for key in ("data", "cookies", "query_string"):
        if key in request:
            request[key] = REMOVED
    headers = request.get("headers") or {}
    for key in list(headers):
        if key.lower() in {"cookie", "authorization", "x-csrftoken"}:
            headers[key] = REMOVED
    for exception in (event.get("exception") or {}).get("values", []):
        for frame in (exception.get("stacktrace") or {}).get("frames", []):
            frame.pop("vars", None)
    logentry = event.get("logentry") or {}
    if "params" in logentry:
        logentry["params"] = []
        logentry.pop("formatted", None)
    breadcrumbs = event.get("breadcrumbs") or {}
    for crumb in breadcrumbs.get("values", []) if isinstance(breadcrumbs, dict) else []:
        crumb.pop("data", None)
        if crumb.get("category") not in {"django", "http"}:
            crumb.pop("message", None)  # log and SQL breadcrumbs can quote user text
    event.pop("extra", None)
    tags = event.setdefault("tags", {})
    for name, value in current().items():
        tags.setdefault(name, str(value))
    return _no_bytes(event)


def init_sentry(*, dsn: str, environment: str = "", release: str = "", traces: float = 0.0) -> None:
    import sentry_sdk
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=dsn,
        environment=environment or None,
        release=release or None,
        integrations=[DjangoIntegration()],
        send_default_pii=False,
        include_local_variables=False,
        max_request_body_size="never",
        before_send=scrub_event,
        traces_sample_rate=traces,
    )
