"""ASGI entry point, run by the Procfile's web process under uvicorn's gunicorn worker.

The processing page's status endpoint (`/api/prompt/status/...`, an async view) runs on the event
loop: a page waiting on its long poll holds no thread, so one process keeps 1,000 of them waiting.
Every other request runs as plain WSGI on a fixed pool of WEB_THREADS threads (a2wsgi), as under
gunicorn's threaded worker: long-lived threads keep their database connections (CONN_MAX_AGE),
where Django's own ASGI handler would open one per request. `manage.py runserver` and any WSGI
server keep using wsgi.py; every view works under both.
"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "prompts_manager.settings")

import django  # noqa: E402
from a2wsgi import WSGIMiddleware  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402

ASYNC_PREFIXES = ("/api/prompt/status/",)

django.setup(set_prefix=False)

from prompts.long_poll_handler import LongPollASGIHandler  # noqa: E402

django_asgi = LongPollASGIHandler()
django_wsgi = WSGIMiddleware(get_wsgi_application(), workers=settings.WEB_THREADS)


async def application(scope, receive, send):
    if scope["type"] == "http" and scope["path"].startswith(ASYNC_PREFIXES):
        return await django_asgi(scope, receive, send)
    return await django_wsgi(scope, receive, send)
