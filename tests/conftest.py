"""The cast and the real outside processes the tests talk to.

alice owns things, bob is another user, carol is premium, and staff reviews. Outside services
(qcluster, moto's S3 server, the fake OpenAI server) run as real processes or threads on loopback.
"""

import json

import pytest
import requests
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.test import Client

from prompts.models import Profile
from prompts.vocabulary import ensure_tag_vocabulary
from tests.fixtures_media import local_media, moto_server, s3_media  # noqa: F401  (fixtures)
from tests.processes import free_port, start_procfile_web, stop_process, wait_until
from tests.processes import test_database_env as database_env

PASSWORD = "correct-horse-battery-staple"


def make_user(
    username: str, *, premium: bool = False, staff: bool = False, email: str | None = "", verified: bool = True
):
    """A user with a verified address `<username>@example.com` (uploading needs one); `email=None`
    makes an account from before sign-up asked for one, `verified=False` one that has not clicked the link."""
    # Transactional tests flush the database, data migrations included: put the vocabulary back.
    ensure_tag_vocabulary()
    address = f"{username}@example.com" if email == "" else email
    user = get_user_model().objects.create_user(
        username=username, password=PASSWORD, is_staff=staff, email=address or ""
    )
    if address:
        EmailAddress.objects.create(user=user, email=address, primary=True, verified=verified)
    if premium:
        Profile.objects.create(user=user, is_premium=True)
    return user


@pytest.fixture
def alice(db):
    return make_user("alice")


@pytest.fixture
def bob(db):
    return make_user("bob")


@pytest.fixture
def carol(db):
    return make_user("carol", premium=True)


@pytest.fixture
def staff(db):
    return make_user("staff", staff=True)


class CsrfClient(Client):
    """Enforces CSRF like a browser session does, and sends the token the way our pages do."""

    def __init__(self, **kwargs):
        super().__init__(enforce_csrf_checks=True, **kwargs)

    @property
    def csrf_token(self) -> str:
        return self.cookies["csrftoken"].value

    def post_form(self, url: str, data: dict | None = None, **extra):
        """A form POST with the token in `csrfmiddlewaretoken`, as a rendered form sends it."""
        return self.post(url, {"csrfmiddlewaretoken": self.csrf_token, **(data or {})}, **extra)

    def post_json(self, url: str, body) -> tuple[int, dict]:
        """A JSON POST with the token in X-CSRFToken, as static/js/common.js sends it."""
        response = self.post(
            url, data=json.dumps(body), content_type="application/json", HTTP_X_CSRFTOKEN=self.csrf_token
        )
        return response.status_code, response.json()


def csrf_client(user=None) -> CsrfClient:
    """A CSRF-enforcing client logged in as `user`, with its csrftoken cookie set."""
    client = CsrfClient()
    if user is not None:
        client.force_login(user)
        client.get("/")  # sets the csrftoken cookie
    return client


@pytest.fixture
def alice_client(alice):
    return csrf_client(alice)


@pytest.fixture
def bob_client(bob):
    return csrf_client(bob)


@pytest.fixture(scope="session")
def fake_openai_server():
    from tests.fake_openai import FakeOpenAI

    server = FakeOpenAI().start()
    yield server
    server.stop()


@pytest.fixture
def fake_openai(fake_openai_server, settings):
    """The fake OpenAI server with default answers, and settings that point the SDK at it."""
    fake_openai_server.reset()
    settings.AI_PROVIDER = "openai"
    settings.OPENAI_API_KEY = "test-key"
    settings.OPENAI_BASE_URL = fake_openai_server.url
    settings.AI_TIMEOUT_SECONDS = 2
    settings.AI_MAX_RETRIES = 0
    yield fake_openai_server
    fake_openai_server.reset()


@pytest.fixture(autouse=True)
def close_wakeup_listeners():
    """The LISTEN connections a test opened (prompts/wakeups.py) close with it: the test database must
    be droppable at the end, and the next test starts from none."""
    yield
    from prompts import wakeups

    wakeups.prompt_done.stop()
    wakeups.ORMWithWakeups.close_listeners()


@pytest.fixture
def procfile_web(transactional_db, tmp_path, settings):
    """`procfile_web(**env)` starts the Procfile's web process (gunicorn + uvicorn's worker, one worker) on
    the test database, with `env` added to its environment; returns (process, base URL). Stopped after the test."""
    started = []

    def start(**env):
        port = free_port()
        env = {**database_env(), "MEDIA_ROOT": str(settings.MEDIA_ROOT), **env}
        log = open(tmp_path / "web.log", "ab")
        server = start_procfile_web(port, env, log, "--workers", "1")
        started.append(server)
        base = f"http://127.0.0.1:{port}"

        def up():
            try:
                return requests.get(f"{base}/robots.txt", timeout=2).status_code == 200
            except requests.RequestException:
                return False

        wait_until(up, timeout=40, interval=0.2, message="the Procfile's web process to answer")
        return server, base

    yield start
    for server in started:
        stop_process(server)
    if started:
        print((tmp_path / "web.log").read_text()[-3000:])
