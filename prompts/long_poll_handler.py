"""The ASGI handler for the processing page's status endpoint and event stream: its middleware runs on the
event loop.

Django's ASGI handler runs every sync middleware hook (all of Django's own) through a thread, one made
for each request, which then sits idle while the view awaits: a thousand waiting long polls would be a
thousand threads, and their hooks a thousand thread hand-offs each. The status endpoint needs only the
hooks that read the request and set headers, and those do no I/O, so this handler calls them inline on
the loop (`OnTheLoop`) and runs the view (prompts/views/api.py `prompt_status_async`, which reads the
session, the user and the status on the loop's shared executor, in one trip) with the same exception
handling as Django's. A page that must wait gets a `WaitingAnswer`: the handler sends it once the prompt
is complete or the wait is over, after the middleware and the view have returned, so while it waits a
page holds ~80 small objects, not its request and a suspended chain of a dozen coroutines (~200; with
a thousand pages every full garbage collection was a 0.1-0.2 s pause of the whole process).
A page on its event stream (`prompt_events_async`) gets a `StatusEvents`: sent as it comes, one status
event at a time, until the prompt is complete, the page goes away, or the process stops
(`end_event_streams`).
Everything else is served by the regular WSGI stack (prompts_manager/asgi.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref

from asgiref.sync import sync_to_async
from csp.middleware import CSPMiddleware
from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.sessions.middleware import SessionMiddleware
from django.core import signals
from django.core.exceptions import RequestAborted
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.core.handlers.exception import convert_exception_to_response
from django.middleware.clickjacking import XFrameOptionsMiddleware
from django.middleware.common import CommonMiddleware
from django.middleware.security import SecurityMiddleware
from django.urls import set_script_prefix

from prompts.middleware import DatabaseUnavailableMiddleware, MediaOriginsCSPMiddleware
from prompts.observability import RequestIdMiddleware
from prompts.timing import ServerTimingMiddleware
from prompts.views.api import StatusEvents, WaitingAnswer


def async_urls(get_response):
    """Resolve against the async views' URLs (prompts/long_poll_urls.py)."""

    async def middleware(request):
        request.urlconf = "prompts.long_poll_urls"
        return await get_response(request)

    return middleware


class OnTheLoop:
    """A Django middleware's process_request/process_response called directly in an async chain.

    Only for middleware whose hooks touch no database or file: headers, redirects, lazy objects.
    """

    def __init__(self, middleware_class):
        self.middleware_class = middleware_class

    def __call__(self, get_response):
        inner = self.middleware_class(get_response)

        async def middleware(request):
            response = None
            if hasattr(inner, "process_request"):
                response = inner.process_request(request)
            response = response or await get_response(request)
            if hasattr(inner, "process_response"):
                response = inner.process_response(request, response)
            return response

        return middleware


# Outermost first, as in settings.MIDDLEWARE (the others there are for pages and forms: CSRF only
# guards unsafe methods (the endpoint answers GET only), messages and WhiteNoise have nothing to do
# with a JSON GET).
LONG_POLL_MIDDLEWARE = [
    ServerTimingMiddleware,
    RequestIdMiddleware,
    OnTheLoop(SecurityMiddleware),
    OnTheLoop(SessionMiddleware),  # a lazy session; the view reads it on the shared executor
    OnTheLoop(CommonMiddleware),  # Content-Length, as on every other answer
    OnTheLoop(AuthenticationMiddleware),
    OnTheLoop(XFrameOptionsMiddleware),
    OnTheLoop(CSPMiddleware),
    OnTheLoop(MediaOriginsCSPMiddleware),
    async_urls,
]


async def _disconnect(receive) -> None:
    """Returns when the client has gone away: after its request, the only message left to receive."""
    if (await receive())["type"] != "http.disconnect":
        await asyncio.get_running_loop().create_future()  # nothing else can come: wait until cancelled


async def _unless_gone(awaitable, receive) -> bool:
    """Await `awaitable` unless the client goes away first (a closed tab does not hold its wait, and what it
    holds, until the deadline): whether it finished."""
    gone = asyncio.ensure_future(_disconnect(receive))
    waiting = asyncio.ensure_future(awaitable)
    try:
        await asyncio.wait((gone, waiting), return_when=asyncio.FIRST_COMPLETED)
    finally:
        gone.cancel()
        waiting.cancel()
    return waiting.done() and not waiting.cancelled()


_STOPPING: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Event] = weakref.WeakKeyDictionary()


def _stopping() -> asyncio.Event:
    """Set when this process's web server stops (`end_event_streams`)."""
    return _STOPPING.setdefault(asyncio.get_running_loop(), asyncio.Event())


def end_event_streams() -> None:
    """Called by the web worker when it is told to stop (prompts_manager/web_worker.py): every event stream
    ends now, rather than holding the stop until gunicorn's graceful timeout runs out."""
    _stopping().set()


class LongPollASGIHandler(ASGIHandler):
    """Django's ASGI handler with the middleware above, and no per-request thread."""

    def load_middleware(self, is_async=False):
        self._view_middleware = []
        self._template_response_middleware = []
        self._exception_middleware = [
            self.adapt_method_mode(False, DatabaseUnavailableMiddleware(lambda request: None).process_exception)
        ]
        handler = convert_exception_to_response(self._get_response_async)
        for factory in reversed(LONG_POLL_MIDDLEWARE):
            handler = convert_exception_to_response(factory(handler))
        self._middleware_chain = handler

    async def handle(self, scope, receive, send):
        """Django's, for the status endpoint's GET, except that a `WaitingAnswer` is sent once its wait is
        over: by then the request's middleware and view have returned, so a waiting page holds this
        coroutine and its answer, not a suspended pipeline (a thousand of those took a tenth of a second
        of every full garbage collection). A client that goes away while it waits is noticed, and its
        wait cut short."""
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return
        set_script_prefix(get_script_prefix(scope))
        await signals.request_started.asend(sender=self.__class__, scope=scope)
        request, response = self.create_request(scope, body_file)
        try:
            if request is not None:
                response = await self.run_get_response(request)
                del request
                if isinstance(response, WaitingAnswer):
                    response.let_go_of_the_request()
                    if not await _unless_gone(response.settle(), receive):
                        return  # the page went away: nothing to send (the finally closes the answer)
                elif isinstance(response, StatusEvents):
                    response.let_go_of_the_request()
                    await self._stream(response, receive, send)
                    return
            await self.send_response(response, send)
        finally:
            await sync_to_async(response.close)()
            body_file.close()

    async def _stream(self, response: StatusEvents, receive, send) -> None:
        """Send the event stream until it ends, the page goes away, or the process is stopping: then the
        stream ends at once (the page reconnects, to a process that is not stopping)."""
        streaming = asyncio.ensure_future(self.send_response(response, send))
        stopping = asyncio.ensure_future(_stopping().wait())
        try:
            await _unless_gone(asyncio.wait((streaming, stopping), return_when=asyncio.FIRST_COMPLETED), receive)
        finally:
            stopping.cancel()
            if not streaming.done():
                streaming.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await streaming
                with contextlib.suppress(Exception):  # the page may be gone
                    await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def __call__(self, scope, receive, send):
        # Django enters a ThreadSensitiveContext here (a thread per request); nothing in this chain
        # needs one: the rare sync step left (an exception's handling) uses asgiref's shared thread.
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        await self.handle(scope, receive, send)
