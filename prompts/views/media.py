"""Local media backend: serving stored files (GET)."""
from django.conf import settings
from django.views.static import serve


def serve_local_media(request, path):
    # MEDIA_ROOT is read per request so the setting can change (tests, management commands).
    response = serve(request, path, document_root=settings.MEDIA_ROOT)
    response["Cache-Control"] = "public, max-age=86400"
    response["X-Content-Type-Options"] = "nosniff"
    return response
