"""Production settings, plus WhiteNoise serving static files straight from the apps' static/ dirs.

A browser benchmark needs /static/js/*.js from gunicorn with DEBUG off. Production runs
collectstatic into STATIC_ROOT (/staticfiles/) at build time; a copy there would outlive later
edits of static/ and be served to everyone's tests on this machine, so the benchmark lets
WhiteNoise find the files itself (indexed once at start, as from STATIC_ROOT).
"""

from prompts_manager.settings import *  # noqa: F401,F403

WHITENOISE_USE_FINDERS = True
