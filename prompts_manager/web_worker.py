"""The web process's gunicorn worker: uvicorn's ASGI worker, held to gunicorn.conf.py's stop rules.

uvicorn's worker takes gunicorn's `keepalive` as its keep-alive timeout, but with `keepalive = 0` it
still answers without "Connection: close" and closes the connection a moment later, so a client may
send its next request down a connection that is being closed. Here every answer says
"Connection: close" when keep-alive is off, as gunicorn's own workers do. And uvicorn waits for the
requests in flight without a limit once told to stop; here it gives up one second before gunicorn's
`graceful_timeout`, when the master would SIGKILL it, so it closes its connections itself; the
processing pages' event streams, which would last that long, end at once (their pages reconnect). And
uvicorn closes at once every connection that has not sent its request yet, including one it accepted a
moment before the signal (a reload's old worker drops such a request with a reset): here it stops
accepting first and lets those connections send their request for a second before that.
"""

import asyncio
import gc
import sys

from gunicorn.arbiter import Arbiter
from uvicorn.server import Server
from uvicorn_worker import UvicornWorker

# How long a connection accepted just before the stop may take to send its request.
ACCEPTED_GRACE_SECONDS = 1.0


class _Server(Server):
    async def shutdown(self, sockets=None):
        from prompts.long_poll_handler import end_event_streams

        for server in self.servers:
            server.close()  # no new connection from here on
        end_event_streams()  # the processing pages' streams end now; the pages reconnect elsewhere
        if self.server_state.connections:
            await asyncio.sleep(ACCEPTED_GRACE_SECONDS)
        await super().shutdown(sockets)


class WebWorker(UvicornWorker):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.config.timeout_graceful_shutdown = max(1, self.cfg.graceful_timeout - 1)

    async def _serve(self) -> None:  # uvicorn_worker's own, with the server above
        self.config.app = self.wsgi
        server = _Server(config=self.config)
        self._install_sigquit_handler()
        await server.serve(sockets=self.sockets)
        if not server.started:
            sys.exit(Arbiter.WORKER_BOOT_ERROR)

    def load_wsgi(self):
        super().load_wsgi()  # self.wsgi: the ASGI application
        if not asyncio.iscoroutinefunction(self.wsgi) and not asyncio.iscoroutinefunction(self.wsgi.__call__):
            # gunicorn reads ./gunicorn.conf.py on its own: `gunicorn prompts_manager.wsgi` lands here too.
            raise SystemExit(
                "gunicorn.conf.py's worker serves the ASGI app: run `gunicorn prompts_manager.asgi:application`"
                " (or a WSGI app with `-k gthread`)."
            )
        if self.cfg.keepalive <= 0:
            self.wsgi = close_every_connection(self.wsgi)
        keep_the_collector_off_the_critical_path()


# A full collection only after this many collections of the middle generation (Python's default: 10).
FULL_COLLECTION_EVERY = 100


def keep_the_collector_off_the_critical_path() -> None:
    """Python's cycle collector stops the whole process, and a full collection walks every object that
    is not frozen. What is loaded at start (Django, the apps: ~100,000 objects) lives as long as the
    process: frozen, out of its sight. A thousand waiting long polls each hold ~80 objects for up to
    20 s, so they reach the oldest generation, and with Python's thresholds a full collection (60-150 ms
    on this machine) came every few seconds, each one a pause for every request in flight
    (bench/status_load.py: other requests' p95 2.3x idle with the pauses, 1.2x with the collector off).
    Ten times fewer full collections; what cycles are left in the oldest generation wait that much longer.
    """
    gc.collect()
    gc.freeze()
    young, middle, _full = gc.get_threshold()
    gc.set_threshold(young, middle, FULL_COLLECTION_EVERY)


def close_every_connection(app):
    """The ASGI application, every HTTP answer of which carries "Connection: close"."""

    async def closing(scope, receive, send):
        if scope["type"] != "http":
            return await app(scope, receive, send)

        async def send_closing(message):
            if message["type"] == "http.response.start":
                headers = [(name, value) for name, value in message.get("headers", []) if name.lower() != b"connection"]
                message = {**message, "headers": [*headers, (b"connection", b"close")]}
            await send(message)

        return await app(scope, receive, send_closing)

    return closing
