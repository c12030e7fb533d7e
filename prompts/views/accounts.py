"""Accounts: allauth's views, with the log-in throttle's 429 and the verified-email gate on uploading.

The throttle itself is `prompts.auth_backends.LoginThrottleBackend`; allauth does the rest
(sign-up, verification, password reset, email and password changes, social log-in).
"""

import functools

from allauth.account import views as allauth_views
from django.http import JsonResponse
from django.shortcuts import render
from django.urls import reverse

from prompts.services import accounts

VERIFY_TO_UPLOAD = (
    "Please verify your email address before uploading: open the link we sent to {address}, "
    "or send a new one from your email settings ({url})."
)
ADD_EMAIL_TO_UPLOAD = "Please add and verify an email address before uploading ({url})."


def refused_for_now(request, response):
    """A throttled log-in answers 429 with Retry-After (the page still shows the form and why)."""
    attempt = getattr(request, "login_attempt", None)
    if attempt is not None and not attempt.allowed:
        response.status_code = 429
        response["Retry-After"] = str(attempt.retry_after)
    return response


class LoginView(allauth_views.LoginView):
    def form_invalid(self, form):
        return refused_for_now(self.request, super().form_invalid(form))


def upload_refusal(request) -> tuple[str, list[str]]:
    """The sentence that tells a logged-in person without a verified address what to do, and the
    addresses still waiting for verification."""
    waiting = accounts.unverified_addresses(user=request.user)
    url = request.build_absolute_uri(reverse("account_email"))
    if waiting:
        return VERIFY_TO_UPLOAD.format(address=waiting[0], url=url), waiting
    return ADD_EMAIL_TO_UPLOAD.format(url=url), waiting


def verified_email_required(*, json: bool = False):
    """Uploading needs a verified email address (`accounts.may_upload`). Pages answer 403 with a page
    that says why and can send the link again; JSON endpoints answer 403 {"error", "verify_url"}.
    Put it inside the login check (a logged-out person is sent to log in first)."""

    def decorate(view):
        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            if not request.user.is_authenticated or accounts.may_upload(user=request.user):
                return view(request, *args, **kwargs)
            message, waiting = upload_refusal(request)
            if json:  # the one JSON error shape (prompts.views.api.json_error), with the way out
                return JsonResponse({"error": message, "verify_url": reverse("account_email")}, status=403)
            return render(request, "account/verify_to_upload.html", {"waiting": waiting}, status=403)

        return wrapper

    return decorate
