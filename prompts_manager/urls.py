from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from prompts.views.accounts import LoginView
from prompts.views.media import serve_media

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/login/", LoginView.as_view(), name="login"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("", include("prompts.urls")),
]

# Media through Django: local files (development and the one-command run), and on both backends the
# private files of unpublished prompts, for their author and staff. Published files on S3 come from
# the CDN.
urlpatterns += [path(f"{settings.MEDIA_URL.strip('/')}/<path:path>", serve_media, name="media")]
