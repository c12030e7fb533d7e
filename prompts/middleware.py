"""Request/response plumbing that is not a page: the media origins in the Content Security Policy."""
from urllib.parse import urlsplit

from django.conf import settings

from prompts.media import storage


def _origin(url: str) -> str:
    parts = urlsplit(url or "")
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


class MediaOriginsCSPMiddleware:
    """Allow the storage and CDN origins (read from the settings in force) in img/media/connect-src."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        origins = sorted({o for o in (_origin(settings.MEDIA_CDN_URL), _origin(storage.upload_endpoint())) if o})
        if origins:
            update = dict(getattr(response, "_csp_update", None) or {})
            for directive in ("img-src", "media-src", "connect-src"):
                update[directive] = [*update.get(directive, []), *origins]
            response._csp_update = update
        return response
