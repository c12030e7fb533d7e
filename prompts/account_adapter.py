"""How django-allauth fits PromptFinder: our username rules, our wording, and asking for an email.

- Usernames are NFKC-normalised (as Django's own forms do) and refused when they look like an
  existing user's (`prompts.services.accounts.check_username_is_distinct`), at sign-up and for a
  username a social log-in proposes.
- A log-in by an account that has no email address (made before sign-up asked for one) lands on
  the email page with a note saying why; uploading stays closed until an address is verified
  (`prompts.views.accounts.verified_email_required`), so skipping the page gains nothing.
"""

from urllib.parse import urlencode

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core import context as allauth_context
from django import forms
from django.contrib import messages
from django.contrib.auth.models import AbstractUser
from django.contrib.sites.requests import RequestSite
from django.http import HttpResponseRedirect
from django.urls import reverse

from prompts.services import accounts
from prompts.services.errors import DomainError

ADD_AN_EMAIL = (
    "Please add your email address: you need a verified address to upload, and it is how you can "
    "reset a forgotten password."
)


class AccountAdapter(DefaultAccountAdapter):
    error_messages = {
        **DefaultAccountAdapter.error_messages,
        # The wording the site's log-in form always had (people and tests know it).
        "username_password_mismatch": "Please enter a correct username and password. Note that both fields may be "
        "case-sensitive.",
        "email_password_mismatch": "Please enter a correct email address and password.",
    }

    def clean_username(self, username: str, shallow: bool = False) -> str:
        username = AbstractUser.normalize_username(username)
        username = super().clean_username(username, shallow=shallow)
        try:
            accounts.check_username_is_distinct(username=username)
        except DomainError as exc:
            raise forms.ValidationError(exc.message, code="looks_like_another") from None
        return username

    def send_mail(self, template_prefix: str, email: str, context: dict) -> None:
        # Without django.contrib.sites allauth names the site by its host ("Hello from www.example.com").
        site = RequestSite(allauth_context.request)
        site.name = "PromptFinder"
        super().send_mail(template_prefix, email, {"current_site": site, **context})

    def post_login(self, request, user, *, redirect_url=None, **kwargs):
        response = super().post_login(request, user, redirect_url=redirect_url, **kwargs)
        if isinstance(response, HttpResponseRedirect) and not accounts.has_email(user=user):
            messages.info(request, ADD_AN_EMAIL)
            query = urlencode({"next": response.url})
            return HttpResponseRedirect(f"{reverse('account_email')}?{query}")
        return response
