from allauth.account import views as allauth_views
from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from prompts.views.accounts import LoginView
from prompts.views.media import serve_media

urlpatterns = [
    path("admin/", admin.site.urls),
    # allauth's log-in with the throttle's 429 (prompts.views.accounts), then the rest of allauth.
    path("accounts/login/", LoginView.as_view(), name="account_login"),
    path("accounts/", include("allauth.urls")),
    # The names (and addresses) of Django's own account views, which templates, tests and scripts
    # written before allauth use: the same allauth views under the old names.
    path("accounts/login/", LoginView.as_view(), name="login"),
    path("accounts/logout/", allauth_views.logout, name="logout"),
    path("accounts/signup/", allauth_views.signup, name="signup"),
    path("accounts/password_reset/", allauth_views.password_reset, name="password_reset"),
    path("accounts/password_change/", allauth_views.password_change, name="password_change"),
    path("", include("prompts.urls")),
]

# Media through Django: local files (development and the one-command run), and on both backends the
# private files of unpublished prompts, for their author and staff. Published files on S3 come from
# the CDN.
urlpatterns += [path(f"{settings.MEDIA_URL.strip('/')}/<path:path>", serve_media, name="media")]
