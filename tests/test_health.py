"""/healthz and /readyz: each readiness check made to fail for real (closed ports, a hung endpoint,
an old queued task, a stuck prompt), and the answer never leaks hosts or credentials."""

import json
import socket
from datetime import timedelta

import pytest
from django.utils import timezone
from django_q.models import OrmQ
from django_q.tasks import async_task

from prompts.models import Prompt
from tests.factories import submitted_prompt
from tests.test_settings_env import run_python

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def generous_budget(settings):
    """A check that should pass must not fail because this shared machine is slow today
    (creating a boto3 client alone can take seconds under load); the budget test sets its own."""
    settings.READYZ_BUDGET_SECONDS = 15


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def readyz(client):
    response = client.get("/readyz")
    assert response["Content-Type"] == "application/json"
    assert "no-cache" in response["Cache-Control"]
    return response.status_code, response.json()


def failing(body) -> set[str]:
    return {name for name, check in body["checks"].items() if not check["ok"]}


@pytest.mark.django_db(transaction=False)
def test_healthz_answers_without_touching_the_database(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_readyz_is_ok_when_everything_answers(client):
    status, body = readyz(client)
    assert status == 200, body
    assert body["status"] == "ok"
    assert set(body["checks"]) == {
        "database",
        "cache",
        "storage",
        "queue",
        "stuck_prompts",
    }
    assert all(check["ok"] and isinstance(check["ms"], int) for check in body["checks"].values())


def test_readyz_is_ok_with_s3_storage(client, s3_media):
    status, body = readyz(client)
    assert status == 200, body


def test_storage_at_a_closed_port_fails_without_naming_it(client, s3_media, settings):
    port = closed_port()
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            **settings.STORAGES["default"],
            "OPTIONS": {
                **settings.STORAGES["default"]["OPTIONS"],
                "endpoint_url": f"http://127.0.0.1:{port}",
            },
        },
    }
    status, body = readyz(client)
    assert status == 503 and body["status"] == "fail"
    assert failing(body) == {"storage"}
    text = json.dumps(body)
    assert str(port) not in text and "127.0.0.1" not in text and "test-application-key" not in text


def test_a_storage_that_never_answers_costs_the_budget_not_the_request(client, s3_media, settings):
    settings.READYZ_BUDGET_SECONDS = 3.0
    # A port that accepts connections (the backlog) and never answers.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        settings.STORAGES = {
            **settings.STORAGES,
            "default": {
                **settings.STORAGES["default"],
                "OPTIONS": {
                    **settings.STORAGES["default"]["OPTIONS"],
                    "endpoint_url": f"http://127.0.0.1:{silent.getsockname()[1]}",
                },
            },
        }
        status, body = readyz(client)
    assert status == 503
    assert "storage" in failing(body)
    assert body["checks"]["storage"]["detail"] == "no answer within 3 s"
    assert body["checks"]["storage"]["ms"] == 3000  # answered at the budget, not the 30 s read timeout


def test_cache_at_a_closed_port_fails(client, settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": f"redis://:s3cret-password@127.0.0.1:{closed_port()}/5",
            "OPTIONS": {
                "CLIENT_CLASS": "django_redis.client.DefaultClient",
                "SOCKET_CONNECT_TIMEOUT": 1,
            },
        }
    }
    status, body = readyz(client)
    assert status == 503 and failing(body) == {"cache"}
    assert "s3cret" not in json.dumps(body)


def test_a_task_no_worker_took_makes_the_queue_check_fail(client, settings):
    settings.READYZ_QUEUE_LAG_SECONDS = 300
    async_task("prompts.tasks.purge_view_marks")  # nobody runs a worker in this test
    assert readyz(client)[0] == 200  # just queued: no lag yet
    OrmQ.objects.update(lock=timezone.now() - timedelta(minutes=6))
    status, body = readyz(client)
    assert status == 503 and failing(body) == {"queue"}
    assert "waited 360 s" in body["checks"]["queue"]["detail"]
    # a task a worker holds (its lease runs into the future) is not waiting
    OrmQ.objects.update(lock=timezone.now() + timedelta(minutes=3))
    assert readyz(client)[0] == 200


def test_a_stuck_prompt_makes_readyz_fail(client, alice):
    prompt = submitted_prompt(alice)
    Prompt.objects.filter(id=prompt.id).update(processing_complete=False)
    assert readyz(client)[0] == 200  # processing for a moment is normal
    Prompt.objects.filter(id=prompt.id).update(updated_on=timezone.now() - timedelta(hours=1))
    status, body = readyz(client)
    assert status == 503 and failing(body) == {"stuck_prompts"}
    assert body["checks"]["stuck_prompts"]["detail"] == "1 prompt(s) still processing after 45 minutes"


READYZ_IN_A_PROCESS = (
    "import django, json; django.setup(); from django.test import Client; "
    "r = Client(HTTP_HOST='localhost').get('/readyz'); print(r.status_code); print(r.content.decode())"
)


@pytest.mark.django_db(transaction=False)
def test_a_database_at_a_closed_port_fails_every_database_check_and_healthz_stays_up(
    tmp_path,
):
    url = f"postgres://postgres:db-secret@127.0.0.1:{closed_port()}/promptfinder"
    result = run_python(
        READYZ_IN_A_PROCESS,
        DEBUG="1",
        DATABASE_URL=url,
        MEDIA_ROOT=str(tmp_path),
        READYZ_BUDGET_SECONDS="5",
    )
    assert result.returncode == 0, result.stderr
    status, body = result.stdout.split("\n", 1)
    body = json.loads(body)
    assert status == "503"
    # the database cache lives in the database too; storage (local disk) still answers
    assert failing(body) == {"database", "cache", "queue", "stuck_prompts"}
    assert "db-secret" not in result.stdout
    alive = run_python(READYZ_IN_A_PROCESS.replace("/readyz", "/healthz"), DEBUG="1", DATABASE_URL=url)
    assert alive.stdout.split("\n")[0] == "200", alive.stderr
