"""The URLs the ASGI long-poll handler resolves against (prompts/long_poll_handler.py): the status
endpoint's and the event stream's async views at the addresses the WSGI stack serves the sync ones,
then every other URL, so `reverse()` in the view (the prompt's final URL) works as anywhere."""

from django.urls import path

from prompts.views import api
from prompts_manager.urls import urlpatterns as site_urlpatterns

urlpatterns = [
    path("api/prompt/status/<uuid:processing_uuid>/", api.prompt_status_async, name="api_prompt_status"),
    path("api/prompt/status/<uuid:processing_uuid>/events/", api.prompt_events_async, name="api_prompt_events"),
    *site_urlpatterns,
]
