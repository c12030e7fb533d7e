"""The session engine (prompts/sessions.py): Django's database sessions, read in one plain query."""

from datetime import timedelta

from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from prompts.sessions import SessionStore
from tests.factories import submitted_prompt


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def session_reads(queries) -> list[str]:
    return [
        q["sql"] for q in queries if "django_session" in q["sql"] and q["sql"].lstrip().upper().startswith("SELECT")
    ]


def test_a_logged_in_request_reads_its_session_in_one_query_of_its_data_only(alice):
    prompt = submitted_prompt(alice)
    client = logged_in(alice)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"/api/prompt/status/{prompt.processing_uuid}/")
    assert response.status_code == 200
    (read,) = session_reads(queries)
    # Django's own store selects every column through the ORM; ours, only what it decodes.
    assert read.split(" FROM ")[0].replace('"', "").replace("`", "") == "SELECT session_data"


def test_what_a_session_holds_is_read_back_and_an_expired_or_unknown_one_is_empty(alice):
    store = SessionStore()
    store["colour"] = "teal"
    store.create()
    key = store.session_key

    assert SessionStore(key).load() == {"colour": "teal"}

    Session.objects.filter(session_key=key).update(expire_date=timezone.now() - timedelta(seconds=1))
    expired = SessionStore(key)
    assert expired.load() == {}
    assert expired.session_key is None  # as Django's: the expired key is not reused

    unknown = SessionStore("x" * 32)
    assert unknown.load() == {} and unknown.session_key is None


def test_an_expired_session_logs_out_and_a_logged_out_one_is_refused(alice):
    prompt = submitted_prompt(alice)
    client = logged_in(alice)
    url = f"/api/prompt/status/{prompt.processing_uuid}/"
    assert client.get(url).status_code == 200

    Session.objects.update(expire_date=timezone.now() - timedelta(seconds=1))
    assert client.get(url).status_code == 401

    client = logged_in(alice)
    client.post("/accounts/logout/")
    assert client.get(url).status_code == 401
