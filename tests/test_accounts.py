import re
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.conftest import PASSWORD, csrf_client, make_user


def test_sign_up_logs_in_and_lands_on_home(db, client):
    page = client.get("/accounts/signup/")
    assert b"Create your account" in page.content
    response = client.post(
        "/accounts/signup/",
        {
            "email": "dora@example.com",
            "username": "dora",
            "password1": PASSWORD,
            "password2": PASSWORD,
        },
        follow=True,
    )
    assert response.redirect_chain[-1][0] == "/"
    assert b"@dora" in response.content
    assert get_user_model().objects.filter(username="dora").exists()


def test_sign_up_shows_readable_errors_and_creates_nothing(db, client):
    response = client.post(
        "/accounts/signup/", {"email": "dora@example.com", "username": "dora", "password1": "abc", "password2": "abc"}
    )
    assert response.status_code == 200
    assert b"This password is too short." in response.content
    response = client.post(
        "/accounts/signup/",
        {"email": "dora@example.com", "username": "dora", "password1": PASSWORD, "password2": PASSWORD + "x"},
    )
    assert response.status_code == 200
    assert b"You must type the same password each time." in response.content
    assert not get_user_model().objects.filter(username="dora").exists()


def test_log_in_and_log_out_through_the_real_views(alice, client):
    response = client.post("/accounts/login/", {"login": "alice", "password": PASSWORD}, follow=True)
    assert b"@alice" in response.content
    response = client.post("/accounts/logout/", follow=True)
    assert b"Log in" in response.content and b"@alice" not in response.content


def test_a_log_in_that_names_its_field_username_still_works(alice, client):
    """Django's own form called it `username`; scripts and older clients still do (allauth: `login`)."""
    assert client.post("/accounts/login/", {"username": "alice", "password": PASSWORD}).status_code == 302
    assert "_auth_user_id" in client.session


def test_wrong_password_is_refused(alice, client):
    response = client.post("/accounts/login/", {"login": "alice", "password": "nope"})
    assert response.status_code == 200
    assert b"Please enter a correct username and password" in response.content


def test_password_guessing_is_throttled_after_five_failures(alice, client):
    from django.core.cache import cache

    cache.clear()
    for _ in range(5):
        response = client.post("/accounts/login/", {"login": "alice", "password": "wrong"})
        assert b"Please enter a correct username and password" in response.content
    response = client.post("/accounts/login/", {"login": "alice", "password": PASSWORD})
    assert b"Too many failed log-in attempts" in response.content
    assert "_auth_user_id" not in client.session


def test_open_redirects_in_next_are_refused(alice, client):
    response = client.post("/accounts/login/?next=https://evil.example/", {"login": "alice", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/"
    response = client.post("/accounts/login/", {"login": "alice", "password": PASSWORD, "next": "//evil.example/x"})
    assert response["Location"] in ("/",)


# --- allauth: email, verification before uploading, reset, old names ---------------------------


LINK = re.compile(r"https?://testserver(/accounts/[^\s]+)")


@pytest.fixture(autouse=True)
def empty_cache(db):
    cache.clear()  # allauth's rate limits and our throttle live in the cache table
    yield
    cache.clear()


def link_in(message) -> str:
    return LINK.search(message.body).group(1)


def sign_up_dora(client):
    return client.post_form(
        "/accounts/signup/",
        {"email": "dora@example.com", "username": "dora", "password1": PASSWORD, "password2": PASSWORD},
    )


def test_sign_up_sends_a_verification_link_and_uploading_waits_for_it(db):
    client = csrf_client()
    client.get("/accounts/signup/")
    assert sign_up_dora(client).status_code == 302
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["dora@example.com"]
    # Browsing needs nothing; uploading is refused with a way out, on the page and the JSON endpoints.
    assert client.get("/").status_code == 200
    page = client.get("/upload/")
    assert page.status_code == 403
    html = page.content.decode()
    assert "Verify your email to upload" in html and "dora@example.com" in html and "Send the link again" in html
    status, body = client.post_json(
        "/api/upload/b2/presign/", {"filename": "a.jpg", "content_type": "image/jpeg", "file_size": 1000}
    )
    assert status == 403 and body["verify_url"] == "/accounts/email/"
    assert "Please verify your email address before uploading" in body["error"]
    for endpoint in ("complete", "moderate", "variants"):
        assert client.post_json(f"/api/upload/b2/{endpoint}/", {"upload_id": "x"})[0] == 403
    assert client.post_form("/upload/submit/", {"upload_id": "x", "content": "a fox"}).status_code == 403

    # "Send the link again" really sends it, once the three-minute cool-down of allauth's limit is over.
    client.post_form("/accounts/email/", {"email": "dora@example.com", "action_send": ""})
    assert len(mail.outbox) == 1
    with time_machine.travel(timezone.now() + timedelta(minutes=4)):
        client.post_form("/accounts/email/", {"email": "dora@example.com", "action_send": ""})
    assert len(mail.outbox) == 2
    # The link opens a page that confirms with a POST (mail scanners that follow links confirm nothing).
    confirm = link_in(mail.outbox[-1])
    assert "Confirm" in client.get(confirm).content.decode()
    assert client.post_form(confirm).status_code == 302
    assert client.get("/upload/").status_code == 200


def test_an_account_without_an_email_is_asked_for_one_at_log_in_and_cannot_upload(db):
    make_user("olga", email=None)
    client = csrf_client()
    client.get("/accounts/login/")
    response = client.post_form("/accounts/login/?next=/trash/", {"login": "olga", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/accounts/email/?next=%2Ftrash%2F"
    assert "Please add your email address" in client.get(response["Location"]).content.decode()
    # Skipping the page does not open uploading.
    page = client.get("/upload/")
    assert page.status_code == 403 and "Add an email address" in page.content.decode()
    status, body = client.post_json("/api/upload/b2/presign/", {})
    assert status == 403 and "Please add and verify an email address" in body["error"]
    client.post_form("/accounts/email/", {"email": "olga@example.com", "action_add": ""})
    assert mail.outbox[-1].to == ["olga@example.com"]
    client.post_form(link_in(mail.outbox[-1]))
    assert client.get("/upload/").status_code == 200


def test_log_in_by_email_and_it_shares_the_usernames_tries(alice):
    response = Client().post("/accounts/login/", {"login": "alice@example.com", "password": PASSWORD})
    assert response.status_code == 302
    client = Client()
    for login in ["alice@example.com", "alice", "ALICE@example.com", "alice", "Alice@Example.com"]:
        assert client.post("/accounts/login/", {"login": login, "password": "wrong"}).status_code == 200
    response = client.post("/accounts/login/", {"login": "alice@example.com", "password": PASSWORD})
    assert response.status_code == 429 and b"Too many failed log-in attempts" in response.content
    assert "_auth_user_id" not in client.session


def test_password_reset_sends_a_link_that_sets_a_new_password(alice):
    client = csrf_client()
    client.get("/accounts/password/reset/")
    assert client.post_form("/accounts/password/reset/", {"email": "alice@example.com"}).status_code == 302
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["alice@example.com"]
    form_url = client.get(link_in(mail.outbox[0]))["Location"]  # the key moves from the URL to the session
    response = client.post_form(form_url, {"password1": "a-brand-new-secret-42", "password2": "a-brand-new-secret-42"})
    assert response.status_code == 302
    assert Client().post("/accounts/login/", {"login": "alice", "password": "a-brand-new-secret-42"}).status_code == 302
    assert Client().post("/accounts/login/", {"login": "alice", "password": PASSWORD}).status_code == 200


def test_a_reset_for_an_unknown_address_reveals_nothing(db):
    client = csrf_client()
    client.get("/accounts/password/reset/")
    assert client.post_form("/accounts/password/reset/", {"email": "nobody@example.com"}).status_code == 302


def test_change_email_and_password_pages(alice):
    client = csrf_client(alice)
    assert "Email addresses" in client.get("/accounts/email/").content.decode()
    response = client.post_form(
        "/accounts/password/change/",
        {"oldpassword": PASSWORD, "password1": "another-long-secret-7", "password2": "another-long-secret-7"},
    )
    assert response.status_code == 302
    assert Client().post("/accounts/login/", {"login": "alice", "password": "another-long-secret-7"}).status_code == 302


@pytest.mark.parametrize(
    ("name", "path"),
    [
        ("login", "/accounts/login/"),
        ("logout", "/accounts/logout/"),
        ("signup", "/accounts/signup/"),
        ("password_reset", "/accounts/password_reset/"),
        ("password_change", "/accounts/password_change/"),
        ("account_login", "/accounts/login/"),
        ("account_signup", "/accounts/signup/"),
    ],
)
def test_the_old_url_names_still_resolve(name, path):
    assert reverse(name) == path


def test_the_old_password_reset_address_sends_mail_too(alice):
    client = csrf_client()
    client.get("/accounts/password_reset/")
    client.post_form("/accounts/password_reset/", {"email": "alice@example.com"})
    assert len(mail.outbox) == 1


def test_social_login_is_off_by_default(db):
    html = Client().get("/accounts/login/").content.decode()
    assert "Or continue with" not in html
