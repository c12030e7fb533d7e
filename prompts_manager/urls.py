from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from prompts.views.accounts import LoginView
from prompts.views.media import serve_local_media

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/login/", LoginView.as_view(), name="login"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("", include("prompts.urls")),
]

# Local media is served by Django itself (development and the default one-command run); the view
# answers 404 unless MEDIA_BACKEND is "local". Production uses MEDIA_BACKEND=s3 and a CDN.
urlpatterns += [path(f"{settings.MEDIA_URL.strip('/')}/<path:path>", serve_local_media, name="local_media")]
