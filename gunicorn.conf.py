"""gunicorn for the web dyno (the Procfile: `gunicorn prompts_manager.asgi:application -c gunicorn.conf.py`).

The workers are uvicorn's ASGI worker (prompts_manager/web_worker.py): the status long poll waits on
the event loop and holds no thread; every other request runs as WSGI on WEB_THREADS threads per
worker (prompts_manager/asgi.py).

Heroku restarts every dyno once a day and on every deploy or config change: SIGTERM to every
process, SIGKILL 30 s later, and its router sends new requests to the new dyno. A restart must
drop no request, so:
- `graceful_timeout` (25 s) lets every request in flight finish before the SIGKILL. It is sized to
  the longest request the site makes: a status long poll (PROCESSING_LONG_POLL_SECONDS, at most
  20 s); the AI check inside an upload request is held to AI_REQUEST_TIMEOUT_SECONDS (8 s).
- No new connection is taken while draining. gunicorn alone keeps the listening socket open until
  its last request ends, so the kernel goes on accepting connections nobody will ever answer; they
  hang, then are reset when the worker exits. uvicorn's worker (the Procfile's) does not: the master
  closes its copy of the socket at SIGTERM and each worker closes its own within 0.1 s, so new
  connections are refused at once (measured: refused from the first probe, 0.27 s after SIGTERM).
  For gunicorn's own workers (gthread, e.g. `-k gthread`), `when_ready` below shuts the socket down
  shortly after they stopped accepting: from then on a connection is refused at once (a router or
  client goes elsewhere or tries again) instead of hanging. It must not run under uvicorn's worker:
  its copy of the socket would keep the backlog open those 2 s (measured: connections taken, then
  reset 1.5 s later).
- No keep-alive (`keepalive = 0`: every answer says "Connection: close", web_worker.py), so no idle connection is
  left open on a draining server for a request to be sent down and cut off with it.
`timeout` kills a worker that answers nothing for 30 s (Heroku's router gives up then: H12).
Every figure can be changed by the environment for a bigger dyno (README, "Operations").
"""

import os
import socket
import threading

workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "prompts_manager.web_worker.WebWorker"  # uvicorn's worker, see web_worker.py
# Not read by gunicorn for this worker: the WSGI thread pool per worker is settings.WEB_THREADS (a2wsgi),
# from the same variable; kept here so benchmarks read the Procfile's figures (bench/_stack.py).
threads = int(os.environ.get("WEB_THREADS", "16"))
timeout = 30
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "25"))
keepalive = 0
errorlog = "-"

# How long after SIGTERM the listening socket is shut down: the workers have stopped accepting by then
# (uvicorn's main loop checks for the signal every 0.1 s; gunicorn's own workers wake every second).
# Shutting it down earlier would hand a worker still in its loop an error from accept().
STOP_LISTENING_AFTER = 2.0


def when_ready(server):
    """On a graceful stop of the whole server (not a reload: the new workers share the socket), shut the
    listening socket down once the workers have stopped accepting, so new connections are refused."""
    stop = server.stop

    def stop_and_refuse(graceful=True):
        alone = server.reexec_pid == server.master_pid == 0 and not server.systemd and not server.cfg.reuse_port
        alone = alone and not _closes_its_own_socket(server.worker_class)
        copies = [listener.sock.dup() for listener in server.LISTENERS] if alone else []
        if copies:
            threading.Timer(STOP_LISTENING_AFTER, _refuse, args=(copies,)).start()
        stop(graceful)

    server.stop = stop_and_refuse


def _closes_its_own_socket(worker_class) -> bool:
    from uvicorn_worker import UvicornWorker

    return issubclass(worker_class, UvicornWorker)


def _refuse(copies):
    for copy in copies:
        try:
            copy.shutdown(socket.SHUT_RD)  # Linux: the backlog is reset and later connects are refused
        except OSError:
            pass
        copy.close()
