from django.contrib.auth import get_user_model

from tests.conftest import PASSWORD


def test_sign_up_logs_in_and_lands_on_home(db, client):
    page = client.get("/accounts/signup/")
    assert b"Create your account" in page.content
    response = client.post("/accounts/signup/", {
        "username": "dora", "password1": PASSWORD, "password2": PASSWORD,
    }, follow=True)
    assert response.redirect_chain[-1][0] == "/"
    assert b"@dora" in response.content
    assert get_user_model().objects.filter(username="dora").exists()


def test_sign_up_shows_readable_errors_and_creates_nothing(db, client):
    response = client.post("/accounts/signup/", {"username": "dora", "password1": "abc", "password2": "abd"})
    assert response.status_code == 200
    assert b"The two password fields didn" in response.content
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
