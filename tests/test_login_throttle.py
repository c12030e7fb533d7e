"""The log-in throttle, attacked through the real log-in pages: the site's and the admin's share it,
look-alike spellings of a username share its tries, the client address cannot be chosen by the
client, the lockout says how long it really lasts, and simultaneous guesses cannot slip past it."""

import threading
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.cache import cache
from django.db import close_old_connections
from django.test import Client, RequestFactory, override_settings

from prompts.clients import client_address
from tests.conftest import PASSWORD, make_user

WRONG = b"Please enter a correct username and password"
LOCKED = b"Too many failed log-in attempts"


@pytest.fixture(autouse=True)
def empty_cache(db):
    cache.clear()  # the cache table outlives a test's transaction
    yield
    cache.clear()


@pytest.fixture
def staff_user(db):
    return make_user("marta", staff=True)


def fail(client, url, username, **extra):
    field = "username" if url.startswith("/admin/") else "login"  # the admin's form is Django's, the site's allauth's
    return client.post(url, {field: username, "password": "wrong"}, **extra)


def logged_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_locked_out_on_the_site_means_locked_out_on_the_admin(staff_user):
    client = Client()
    for _ in range(5):
        assert WRONG in fail(client, "/accounts/login/", "marta").content
    response = client.post("/admin/login/", {"username": "marta", "password": PASSWORD})
    assert response.status_code == 429 and int(response["Retry-After"]) > 800
    assert LOCKED in response.content and not logged_in(client)


def test_locked_out_on_the_admin_means_locked_out_on_the_site(staff_user):
    client = Client()
    for _ in range(5):
        assert (
            b"Please enter the correct username and password for a staff account"
            in fail(client, "/admin/login/", "marta").content
        )
    response = client.post("/accounts/login/", {"login": "marta", "password": PASSWORD})
    assert response.status_code == 429 and LOCKED in response.content and not logged_in(client)
    # The admin still refuses too, and the right password does not unlock it.
    response = client.post("/admin/login/", {"username": "marta", "password": PASSWORD})
    assert response.status_code == 429 and not logged_in(client)


def test_look_alike_spellings_of_a_username_share_its_tries(alice):
    """Django authenticates the NFKC form: mathematical bold, full-width and capital letters are
    all "alice", so they must not get five fresh tries each."""
    client = Client()
    for spelling in ["𝐚lice", "ａｌｉｃｅ", "ALICE", "Alice", "alice"]:
        assert WRONG in fail(client, "/accounts/login/", spelling).content
    response = client.post("/accounts/login/", {"login": "ａｌｉｃｅ", "password": PASSWORD})
    assert LOCKED in response.content and not logged_in(client)


def test_the_lockout_lasts_the_window_it_announces(alice):
    """Five failures at 12:00, 12:01 ... 12:04: at 12:10 the page says 5 minutes (the 12:00 one leaves
    at 12:15) and Retry-After agrees; at 12:15:01 the password works again. (With cache.incr on the
    database cache each failure pushed the lockout to 30 minutes while the page said 15.)"""
    client = Client()
    with time_machine.travel(datetime(2030, 3, 1, 12, 0, tzinfo=UTC), tick=False) as clock:
        for _ in range(5):
            fail(client, "/accounts/login/", "alice")
            clock.shift(timedelta(minutes=1))
        clock.move_to(datetime(2030, 3, 1, 12, 10, tzinfo=UTC))
        response = client.post("/accounts/login/", {"login": "alice", "password": PASSWORD})
        assert response.status_code == 429 and response["Retry-After"] == "300"
        assert b"Please wait 5 minutes and try again" in response.content
        clock.move_to(datetime(2030, 3, 1, 12, 14, 30, tzinfo=UTC))
        assert (
            b"Please wait 30 seconds"
            in client.post("/accounts/login/", {"login": "alice", "password": PASSWORD}).content
        )
        clock.move_to(datetime(2030, 3, 1, 12, 15, 1, tzinfo=UTC))
        # One more try is allowed again (only the 12:00 failure left the window) ...
        assert WRONG in fail(client, "/accounts/login/", "alice").content
        # ... and at 12:16:01 (the 12:01 one left too) the right password logs in and clears the count.
        clock.move_to(datetime(2030, 3, 1, 12, 16, 1, tzinfo=UTC))
        response = client.post("/accounts/login/", {"login": "alice", "password": PASSWORD})
        assert response.status_code == 302 and logged_in(client)
        for _ in range(4):
            assert WRONG in fail(Client(), "/accounts/login/", "alice").content


def test_the_address_limit_ignores_addresses_the_client_writes(db):
    """No proxy (TRUSTED_PROXY_HOPS=0): a client rotating X-Forwarded-For is still one address, so
    spraying 20 usernames locks that address out for a 21st."""
    make_user("victim")
    client = Client(REMOTE_ADDR="198.51.100.9")
    for n in range(20):
        fail(client, "/accounts/login/", f"nobody{n}", HTTP_X_FORWARDED_FOR=f"10.0.0.{n}")
    response = client.post(
        "/accounts/login/",
        {"login": "victim", "password": PASSWORD},
        HTTP_X_FORWARDED_FOR="10.0.9.9",
    )
    assert LOCKED in response.content and not logged_in(client)
    # Someone else, on another address, is not affected.
    other = Client(REMOTE_ADDR="198.51.100.10")
    assert other.post("/accounts/login/", {"login": "victim", "password": PASSWORD}).status_code == 302


@override_settings(TRUSTED_PROXY_HOPS=1)
def test_behind_one_proxy_the_address_is_the_one_the_proxy_appended(db):
    """Heroku's router appends the address it saw: whatever the client put before it is ignored."""
    make_user("victim")
    client = Client(REMOTE_ADDR="10.1.2.3")  # the router's own address
    for n in range(20):
        fail(
            client,
            "/accounts/login/",
            f"nobody{n}",
            HTTP_X_FORWARDED_FOR=f"1.1.1.{n}, 203.0.113.7",
        )
    response = client.post(
        "/accounts/login/",
        {"login": "victim", "password": PASSWORD},
        HTTP_X_FORWARDED_FOR="9.9.9.9, 203.0.113.7",
    )
    assert LOCKED in response.content
    response = client.post(
        "/accounts/login/",
        {"login": "victim", "password": PASSWORD},
        HTTP_X_FORWARDED_FOR="203.0.113.8",
    )
    assert response.status_code == 302  # another client behind the same router


@pytest.mark.parametrize(
    ("hops", "forwarded", "expected"),
    [
        (0, "1.1.1.1, 2.2.2.2", "10.0.0.1"),
        (1, "1.1.1.1, 2.2.2.2", "2.2.2.2"),
        (2, "1.1.1.1, 2.2.2.2, 3.3.3.3", "2.2.2.2"),
        (2, "3.3.3.3", "10.0.0.1"),  # did not come through both proxies
        (1, "", "10.0.0.1"),
        (1, " , ,", "10.0.0.1"),
    ],
)
def test_client_address_counts_trusted_hops_from_the_right(settings, hops, forwarded, expected):
    settings.TRUSTED_PROXY_HOPS = hops
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR=forwarded)
    assert client_address(request) == expected


@pytest.mark.django_db(transaction=True)
def test_simultaneous_guesses_cannot_pass_the_limit():
    """Each attempt is counted before its password is checked: 12 guesses sent at once get at most
    5 real password checks."""
    cache.clear()
    make_user("alice")
    barrier = threading.Barrier(12)
    answers = []

    def guess():
        client = Client()
        barrier.wait()
        try:
            answers.append(fail(client, "/accounts/login/", "alice").content)
        finally:
            close_old_connections()

    threads = [threading.Thread(target=guess) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(WRONG in body for body in answers) == 5
    assert sum(LOCKED in body for body in answers) == 7
    cache.clear()
