"""Request/response plumbing that is not a page: the media origins in the Content Security Policy, and a
clear 503 while the database is unreachable."""

import logging
from urllib.parse import urlsplit

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils.deprecation import MiddlewareMixin
from whitenoise.middleware import WhiteNoiseMiddleware

from prompts.media import storage

logger = logging.getLogger(__name__)


def _origin(url: str) -> str:
    parts = urlsplit(url or "")
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


class StaticFilesMiddleware(WhiteNoiseMiddleware):
    """WhiteNoise, able to run in an async middleware chain (uvicorn's worker): a static file is
    served as WhiteNoise serves it; anything else goes on without costing a thread."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response=None, settings=settings):
        super().__init__(get_response, settings=settings)
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request):
        if self.is_async:
            return self._acall(request)
        return super().__call__(request)

    async def _acall(self, request):
        static_file = self.find_file(request.path_info) if self.autorefresh else self.files.get(request.path_info)
        if static_file is not None:
            return self.serve(static_file, request)
        return await self.get_response(request)


class MediaOriginsCSPMiddleware(MiddlewareMixin):
    """Allow the storage and CDN origins (read from the settings in force) in img/media/connect-src."""

    def process_response(self, request, response):
        origins = sorted({o for o in (_origin(settings.MEDIA_CDN_URL), _origin(storage.upload_endpoint())) if o})
        if origins:
            update = dict(getattr(response, "_csp_update", None) or {})
            for directive in ("img-src", "media-src", "connect-src"):
                update[directive] = [*update.get(directive, []), *origins]
            response._csp_update = update
        return response


DATABASE_UNAVAILABLE = "We can't reach our database right now. Please try again in a moment."
DATABASE_RETRY_AFTER_SECONDS = 5


class DatabaseUnavailableMiddleware(MiddlewareMixin):
    """A view that fails because the database is down or restarting answers 503, not 500.

    JSON under /api/ (the one error shape), a readable page elsewhere. The page is rendered without
    the request, so no context processor (user, messages) touches the database again. With
    CONN_HEALTH_CHECKS the next request opens a fresh connection once the database is back.
    """

    def process_exception(self, request, exception):
        if not isinstance(exception, (OperationalError, InterfaceError)):
            return None
        logger.error("database unavailable during %s %s: %s", request.method, request.path, exception)
        if request.path.startswith("/api/"):
            response = JsonResponse({"error": DATABASE_UNAVAILABLE}, status=503)
        else:
            response = HttpResponse(render_to_string("503.html", {"message": DATABASE_UNAVAILABLE}), status=503)
        response["Retry-After"] = str(DATABASE_RETRY_AFTER_SECONDS)
        return response
