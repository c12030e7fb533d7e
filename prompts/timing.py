"""Server-Timing: where a request's time went, on every answer (visible in the browser's DevTools,
read by bench/journey.py).

`ServerTimingMiddleware` starts a `Timings` for the request in a context variable; every database
query adds to its `db` (a wrapper installed on each new connection), and `phase("ai")` blocks add
named phases the view or service knows about. The answer carries
`Server-Timing: db;dur=3.2;desc="4 queries", ai;dur=1502.0, total;dur=1510.4`.
Context variables follow the request into `sync_to_async` threads, so the async views count too.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from contextvars import ContextVar

from asgiref.sync import iscoroutinefunction, markcoroutinefunction

_current: ContextVar[Timings | None] = ContextVar("server_timing", default=None)


class Timings:
    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.db_ms = 0.0
        self.queries = 0
        self.phases: dict[str, float] = {}

    def add(self, name: str, ms: float) -> None:
        self.phases[name] = self.phases.get(name, 0.0) + ms

    def header(self) -> str:
        total = (time.perf_counter() - self.started) * 1000
        parts = [f'db;dur={self.db_ms:.1f};desc="{self.queries} queries"']
        parts += [f"{name};dur={ms:.1f}" for name, ms in self.phases.items()]
        parts.append(f"total;dur={total:.1f}")
        return ", ".join(parts)


@contextmanager
def phase(name: str):
    """Time a named part of the request (e.g. "ai", "variants"); a no-op outside a request."""
    timings = _current.get()
    start = time.perf_counter()
    try:
        yield
    finally:
        if timings is not None:
            timings.add(name, (time.perf_counter() - start) * 1000)


def record_query(execute, sql, params, many, context):
    """A connection execute wrapper (see `install`): the query's time goes to the request's `db`."""
    timings = _current.get()
    if timings is None:
        return execute(sql, params, many, context)
    start = time.perf_counter()
    try:
        return execute(sql, params, many, context)
    finally:
        timings.db_ms += (time.perf_counter() - start) * 1000
        timings.queries += 1


def install(sender, connection, **kwargs) -> None:
    """connection_created receiver: time every query on every connection."""
    if record_query not in connection.execute_wrappers:
        connection.execute_wrappers.insert(0, record_query)


class ServerTimingMiddleware:
    """Outermost middleware: `total` is the whole request as Django saw it."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response):
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request):
        if self.is_async:
            return self._acall(request)
        token = _current.set(Timings())
        try:
            response = self.get_response(request)
            response["Server-Timing"] = _current.get().header()
            return response
        finally:
            _current.reset(token)

    async def _acall(self, request):
        token = _current.set(Timings())
        try:
            response = await self.get_response(request)
            response["Server-Timing"] = _current.get().header()
            return response
        finally:
            _current.reset(token)
