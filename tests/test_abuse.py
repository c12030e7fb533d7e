"""The abuse paths a probe found on the public site: a comment flood, view counts inflated by one
client, and look-alike usernames."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.test import Client

from prompts import tasks
from prompts.models import Comment, Prompt, PromptView
from prompts.services import social
from tests.conftest import PASSWORD, csrf_client, make_user
from tests.test_public_site import publish

pytestmark = pytest.mark.django_db
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0"


@pytest.fixture(autouse=True)
def empty_cache(db):
    cache.clear()  # the cache table outlives a test's transaction
    yield
    cache.clear()


def comment(client, slug, body):
    return client.post(
        f"/prompt/{slug}/comments/",
        {"body": body, "csrfmiddlewaretoken": client.cookies["csrftoken"].value},
    )


def views(prompt) -> int:
    return Prompt.objects.get(id=prompt.id).view_count


# --- comments -------------------------------------------------------------------------------------


def test_a_comment_flood_stops_at_the_limit_and_keeps_what_was_typed(alice, bob):
    prompt = publish(alice)
    with time_machine.travel(datetime(2030, 5, 1, 9, 0, tzinfo=UTC), tick=False) as clock:
        client = csrf_client(bob)  # logged in at the travelled time, or the session would have expired
        answers = [comment(client, prompt.slug, f"spam {n}").status_code for n in range(40)]
        assert answers.count(302) == social.COMMENT_LIMIT == 10 and answers.count(429) == 30
        assert Comment.objects.count() == 10
        clock.shift(timedelta(minutes=4))
        response = comment(client, prompt.slug, "a thoughtful reply I typed for a while")
        assert response.status_code == 429 and response["Retry-After"] == "360"
        page = response.content.decode()
        assert "You&#x27;re commenting too fast. Please wait 6 minutes" in page
        assert ">a thoughtful reply I typed for a while</textarea>" in page
        clock.shift(timedelta(minutes=6, seconds=1))
        assert comment(client, prompt.slug, "a thoughtful reply I typed for a while").status_code == 302
    assert Comment.objects.count() == 11
    # Another person is not slowed down by bob's flood.
    assert comment(csrf_client(make_user("carla")), prompt.slug, "hello").status_code == 302


def test_refused_comments_do_not_use_up_the_limit(alice, bob):
    prompt = publish(alice)
    client = csrf_client(bob)
    for _ in range(15):
        assert comment(client, prompt.slug, "   ").status_code == 400
    assert comment(client, prompt.slug, "first real comment").status_code == 302


# --- views ------------------------------------------------------------------------------------------


def test_one_client_counts_one_view_a_day_whatever_it_sends(alice, bob):
    prompt = publish(alice)
    url = f"/prompt/{prompt.slug}/"
    with time_machine.travel(datetime(2030, 5, 1, 9, 0, tzinfo=UTC), tick=False) as clock:
        for n in range(30):  # reloads, fresh cookies, new user agents, forged X-Forwarded-For
            Client(REMOTE_ADDR="198.51.100.1").get(
                url,
                HTTP_USER_AGENT=f"{BROWSER} {n}",
                HTTP_X_FORWARDED_FOR=f"10.0.0.{n}",
            )
        assert views(prompt) == 1
        Client(REMOTE_ADDR="198.51.100.2").get(url, HTTP_USER_AGENT=BROWSER)  # someone else
        assert views(prompt) == 2
        for address in (
            "198.51.100.3",
            "198.51.100.4",
        ):  # bob, from two networks: one person
            csrf_client(bob).get(url, HTTP_USER_AGENT=BROWSER, REMOTE_ADDR=address)
        assert views(prompt) == 3
        clock.move_to(datetime(2030, 5, 2, 8, 0, tzinfo=UTC))  # the next day counts again
        Client(REMOTE_ADDR="198.51.100.1").get(url, HTTP_USER_AGENT=BROWSER)
        assert views(prompt) == 4
        assert tasks.purge_view_marks() == {"deleted": 3}  # yesterday's marks
        assert PromptView.objects.count() == 1


# --- look-alike usernames ---------------------------------------------------------------------------


def sign_up(username):
    return Client().post(
        "/accounts/signup/",
        {
            "email": f"{uuid.uuid4().hex}@example.com",
            "username": username,
            "password1": PASSWORD,
            "password2": PASSWORD,
        },
    )


@pytest.mark.parametrize("look_alike", ["d\u0435mo", "dem\u043e", "\u0501emo", "dеm\u03bf", "dern0"])
def test_a_username_that_looks_like_an_existing_one_is_refused(look_alike):
    """Cyrillic е and о, Cyrillic komi de, Greek omicron, "rn" for "m" and zero for "o"."""
    make_user("demo")
    response = sign_up(look_alike)
    assert response.status_code == 200
    assert "This username looks too much like the existing username “demo”" in response.content.decode()
    assert get_user_model().objects.count() == 1


@pytest.mark.parametrize("same", ["Demo", "DEMO", "ｄｅｍｏ"])
def test_other_cases_and_widths_of_a_name_were_already_refused_by_django(same):
    make_user("demo")
    assert "A user with that username already exists." in sign_up(same).content.decode()
    assert get_user_model().objects.count() == 1


def test_a_distinct_username_is_welcome_and_joins_the_index():
    make_user("demo")
    assert sign_up("demos").status_code == 302
    assert "looks too much like" in sign_up("dеmos").content.decode()  # Cyrillic е, against the new one


def test_users_made_outside_the_sign_up_form_are_in_the_index_too():
    get_user_model().objects.create_superuser("p\u0430ypal", password=PASSWORD)  # Cyrillic а, by an admin
    assert "looks too much like the existing username “p\u0430ypal”" in sign_up("paypal").content.decode()
