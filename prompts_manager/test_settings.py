"""Settings for the test suite: the real settings, with the test flag set before they load."""

import os

os.environ.setdefault("PROMPTFINDER_TESTING", "1")

from prompts_manager.settings import *  # noqa: E402,F401,F403
from prompts_manager.settings import BASE_DIR, DATABASES  # noqa: E402

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast sign-ups in tests

if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # A file, not memory, so a real qcluster process can share the test database.
    DATABASES["default"]["TEST"] = {"NAME": os.environ.get("SQLITE_TEST_PATH", str(BASE_DIR / "test_db.sqlite3"))}

# The Procfile's web process in tests (tests/conftest.py `procfile_web`) serves /static/ with DEBUG off and
# no collectstatic: WhiteNoise finds the files in the apps' folders, as bench/_settings.py does.
WHITENOISE_USE_FINDERS = True
