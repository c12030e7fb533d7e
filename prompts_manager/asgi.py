"""ASGI entry point: the web process runs it under uvicorn's gunicorn worker (see the Procfile), so a
processing page waiting on its long poll holds no thread (prompts/views/api.py `prompt_status`).
`manage.py runserver` and any WSGI server keep using wsgi.py; every view works under both."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "prompts_manager.settings")
application = get_asgi_application()
