"""Accounts: throttling password guessing, and refusing usernames that impersonate others.

Log-in throttle: every attempt to authenticate with a password (the site's log-in form, the
admin's, any other caller of `django.contrib.auth.authenticate`) claims one event in two limits,
per username and per client address, in a sliding window (`prompts.services.ratelimit`). The
event is claimed *before* the password is checked, so simultaneous guesses cannot all pass a
check made before any of them was counted; a correct password resets the username's count and
gives its address event back, so only wrong passwords stay counted.

The username is counted in the form Django authenticates it in (NFKC, as its log-in form
normalises it) and case-folded: `𝐜arol1`, `ｃａｒｏｌ１` and `Carol1` all spend carol1's tries.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from prompts.services import ratelimit

MAX_FAILURES = 5  # per username
MAX_ADDRESS_FAILURES = (
    20  # per client address (an office or a phone network shares one)
)
WINDOW_SECONDS = 15 * 60
LOCKED_MESSAGE = "Too many failed log-in attempts. Please wait {wait} and try again, or reset your password."


def login_name(username: str) -> str:
    """The name a throttle counts: NFKC like Django's log-in form, then case-folded."""
    return unicodedata.normalize("NFKC", username).strip().casefold()


@dataclass(frozen=True)
class LoginAttempt:
    """One claimed attempt: `allowed` False means the password must not even be checked."""

    allowed: bool
    retry_after: int
    username_event: ratelimit.Decision | None = None
    address_event: ratelimit.Decision | None = None

    @property
    def message(self) -> str:
        return LOCKED_MESSAGE.format(wait=ratelimit.wait_in_words(self.retry_after))


def begin_login_attempt(*, username: str, address: str) -> LoginAttempt:
    """Count one attempt for the username and the address (when known), or refuse it."""
    by_name = ratelimit.hit(
        scope="login-user",
        key=login_name(username),
        limit=MAX_FAILURES,
        window=WINDOW_SECONDS,
    )
    if not by_name.allowed:
        return LoginAttempt(allowed=False, retry_after=by_name.retry_after)
    if not address:
        return LoginAttempt(allowed=True, retry_after=0, username_event=by_name)
    by_address = ratelimit.hit(
        scope="login-addr",
        key=address,
        limit=MAX_ADDRESS_FAILURES,
        window=WINDOW_SECONDS,
    )
    if not by_address.allowed:
        ratelimit.undo(
            by_name
        )  # refused before any password was tried: it costs the username nothing
        return LoginAttempt(allowed=False, retry_after=by_address.retry_after)
    return LoginAttempt(
        allowed=True, retry_after=0, username_event=by_name, address_event=by_address
    )


def login_succeeded(*, username: str, attempt: LoginAttempt | None) -> None:
    """A correct password: forget the username's failures and give the address its event back."""
    ratelimit.reset(scope="login-user", key=login_name(username), limit=MAX_FAILURES)
    if attempt is not None and attempt.address_event is not None:
        ratelimit.undo(attempt.address_event)
