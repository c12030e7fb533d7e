"""Accounts in Chromium, through the real allauth views and the mail they really send: sign up, find
uploading closed until the address is verified, verify from the mail, forget the password and reset
it from the mail, and log in with the new one by email address. Each account page passes axe."""

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.core import mail
from playwright.sync_api import expect

from tests.browser.flows import link_in_last_mail, screenshot, verify_email
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser
NEW_PASSWORD = "a-new-and-long-secret-91"


def assert_accessible(page, name: str) -> None:
    """Zero serious or critical axe-core findings, and a screenshot at both widths to look at."""
    results = Axe().run(page)
    bad = [v for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
    assert bad == [], [(v["id"], v["help"], [n["target"] for n in v["nodes"]]) for v in bad]
    screenshot(page, f"accounts-{name}")


def test_sign_up_verify_by_mail_then_reset_the_password_by_mail(page):
    page.goto("/accounts/signup/")
    expect(page.get_by_role("heading", name="Create your account")).to_be_visible()
    assert_accessible(page, "signup")
    page.get_by_label("Email").fill("dora@example.com")
    page.get_by_label("Username").fill("dora")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password (again)").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_text("@dora")).to_be_visible()
    assert len(mail.outbox) == 1

    # Uploading waits for the address; the page says so and can send the link again.
    page.get_by_role("banner").get_by_role("link", name="Upload").click()
    expect(page.get_by_role("heading", name="Verify your email to upload")).to_be_visible()
    expect(page.get_by_text("dora@example.com")).to_be_visible()
    assert_accessible(page, "verify-to-upload")
    assert page.watch.error_responses == [f"403 GET {page.url}"]  # that refusal was the point: forget it
    page.watch.error_responses.clear()
    page.watch.console_errors.clear()

    verify_email(page, "dora@example.com")
    page.get_by_role("banner").get_by_role("link", name="Upload").click()
    expect(page.get_by_text("Select an image or video to enable the form")).to_be_visible()

    page.goto("/accounts/email/")
    expect(page.get_by_role("navigation", name="Account settings")).to_be_visible()
    assert_accessible(page, "email")
    page.goto("/accounts/password/change/")
    assert_accessible(page, "password-change")

    page.get_by_role("button", name="Log out").click()
    page.goto("/accounts/login/")
    assert_accessible(page, "login")
    page.get_by_role("link", name="Forgot your password?").click()
    assert_accessible(page, "password-reset")
    page.get_by_label("Email").fill("dora@example.com")
    page.get_by_role("button", name="Reset My Password").click()
    expect(page.get_by_role("heading", name="Password Reset")).to_be_visible()

    page.goto(link_in_last_mail("dora@example.com"))
    expect(page.get_by_role("heading", name="Change Password")).to_be_visible()
    assert_accessible(page, "password-reset-from-key")
    page.get_by_label("New Password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("New Password (again)").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Change Password").click()
    expect(page.get_by_text("Your password is now changed.")).to_be_visible()

    page.goto("/accounts/login/")
    page.get_by_label("Username or email").fill("dora@example.com")
    page.get_by_label("Password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text("@dora")).to_be_visible()
    # A favicon still loading when the test moves on to the next address is cancelled, not failed.
    page.watch.failed_requests[:] = [f for f in page.watch.failed_requests if "favicon.svg: net::ERR_ABORTED" not in f]
    page.watch.assert_clean()
