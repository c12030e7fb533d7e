"""The log-in throttle at the one place every password log-in passes: `authenticate()`.

`LoginThrottleBackend` comes first in AUTHENTICATION_BACKENDS and authenticates nobody: it claims
one attempt (`prompts.services.accounts.begin_login_attempt`) and, when the username or the
address has used up its tries, raises PermissionDenied, which makes Django stop before any other
backend checks the password. So the site's log-in form, the admin's and any future one are
throttled alike, without each having to remember to (allauth's log-in by username or email too:
it calls `authenticate()`). The attempt is left on the request for the
forms to word the refusal (`prompts.forms.LoginThrottleMessage`) and for the receivers below,
which count a failure against the address and clear the username's count on success.
"""

from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.core.exceptions import PermissionDenied
from django.dispatch import receiver

from prompts.clients import client_address
from prompts.services import accounts


class LoginThrottleBackend:
    def authenticate(self, request, username=None, password=None, email=None, **kwargs):
        # allauth passes what was typed as `username`, and also as `email` when it looks like one.
        identifier = username if username is not None else email
        if identifier is None or password is None:
            return
        attempt = accounts.begin_login_attempt(
            username=str(identifier),
            address=client_address(request) if request is not None else "",
        )
        if request is not None:
            request.login_attempt = attempt
        if not attempt.allowed:
            raise PermissionDenied(attempt.message)
        return  # the next backend checks the password

    # No get_user(): no session ever names this backend (and Client.force_login picks the first
    # backend that has one).


@receiver(user_logged_in, dispatch_uid="prompts-login-throttle-success")
def login_succeeded(sender, request, user, **kwargs):
    accounts.login_succeeded(username=user.get_username())


@receiver(user_login_failed, dispatch_uid="prompts-login-throttle-failure")
def login_failed(sender, credentials, request=None, **kwargs):
    accounts.login_failed(attempt=getattr(request, "login_attempt", None))
