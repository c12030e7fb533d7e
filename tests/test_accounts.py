from django.contrib.auth import get_user_model

from tests.conftest import PASSWORD


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
    response = client.post("/accounts/login/", {"username": "alice", "password": PASSWORD}, follow=True)
    assert b"@alice" in response.content
    response = client.post("/accounts/logout/", follow=True)
    assert b"Log in" in response.content and b"@alice" not in response.content


def test_wrong_password_is_refused(alice, client):
    response = client.post("/accounts/login/", {"username": "alice", "password": "nope"})
    assert response.status_code == 200
    assert b"Please enter a correct username and password" in response.content


def test_password_guessing_is_throttled_after_five_failures(alice, client):
    from django.core.cache import cache

    cache.clear()
    for _ in range(5):
        response = client.post("/accounts/login/", {"username": "alice", "password": "wrong"})
        assert b"Please enter a correct username and password" in response.content
    response = client.post("/accounts/login/", {"username": "alice", "password": PASSWORD})
    assert b"Too many failed log-in attempts" in response.content
    assert "_auth_user_id" not in client.session


def test_open_redirects_in_next_are_refused(alice, client):
    response = client.post("/accounts/login/?next=https://evil.example/", {"username": "alice", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/"
    response = client.post("/accounts/login/", {"username": "alice", "password": PASSWORD, "next": "//evil.example/x"})
    assert response["Location"] in ("/",)
