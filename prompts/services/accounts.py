"""Accounts: throttling password guessing, and refusing usernames that impersonate others.

Log-in throttle: every attempt to authenticate with a password (the site's log-in form, the
admin's, any other caller of `django.contrib.auth.authenticate`) is counted in a sliding window
(`prompts.services.ratelimit`), per username and per client address.

- Per username, the attempt is claimed *before* the password is checked, so simultaneous guesses
  at one account cannot all pass a check made before any of them was counted; a correct password
  resets the count, so only wrong ones stay.
- Per address, only failures are counted, after the check: the address limit is against spraying
  many usernames, and counting attempts up front would refuse an office (or a load test) whose
  people log in at the same moment. N simultaneous guesses from one address can therefore pass
  the address limit by up to N.

The username is counted in the form Django authenticates it in (NFKC, as its log-in form
normalises it) and case-folded: `𝐜arol1`, `ｃａｒｏｌ１` and `Carol1` all spend carol1's tries. A
log-in by email address spends the tries of the account that owns the address, so alternating
the username and the email does not double them.

Email: an account may upload once it has a verified address (`may_upload`); browsing, liking,
commenting and collecting need none.

Look-alike usernames: a new name whose Unicode skeleton (UTS #39: what it looks like, with
confusable characters mapped to one prototype) equals an existing user's is refused, so `dеmo`
with a Cyrillic е cannot pose as `demo`.
"""

from __future__ import annotations

import functools
import unicodedata
from dataclasses import dataclass

from allauth.account.models import EmailAddress
from confusable_homoglyphs import confusables
from django.contrib.auth import get_user_model

from prompts.models import UsernameSkeleton
from prompts.services import ratelimit
from prompts.services.errors import InvalidInput

MAX_FAILURES = 5  # per username
MAX_ADDRESS_FAILURES = 20  # per client address (an office or a phone network shares one)
WINDOW_SECONDS = 15 * 60
LOCKED_MESSAGE = "Too many failed log-in attempts. Please wait {wait} and try again, or reset your password."


def login_name(username: str) -> str:
    """The name a throttle counts: NFKC like Django's log-in form, then case-folded."""
    return unicodedata.normalize("NFKC", username).strip().casefold()


@dataclass(frozen=True)
class LoginAttempt:
    """One attempt: `allowed` False means the password must not even be checked."""

    allowed: bool
    retry_after: int
    address: str = ""

    @property
    def message(self) -> str:
        return LOCKED_MESSAGE.format(wait=ratelimit.wait_in_words(self.retry_after))


def _by_address(address: str) -> dict:
    return {
        "scope": "login-addr",
        "key": address,
        "limit": MAX_ADDRESS_FAILURES,
        "window": WINDOW_SECONDS,
    }


def _account_name(identifier: str) -> str:
    """The username a log-in identifier stands for: an email address -> its account's username."""
    if "@" not in identifier:
        return identifier
    address = identifier.strip()
    owner = EmailAddress.objects.filter(email__iexact=address).values_list("user__username", flat=True).first()
    if owner is None:
        owner = get_user_model().objects.filter(email__iexact=address).values_list("username", flat=True).first()
    return identifier if owner is None else owner


def begin_login_attempt(*, username: str, address: str) -> LoginAttempt:
    """Refuse the attempt while the address or the username is locked; else count it for the username.

    `username` is what the person typed: a username or an email address."""
    if address:
        by_address = ratelimit.peek(**_by_address(address))
        if not by_address.allowed:
            return LoginAttempt(allowed=False, retry_after=by_address.retry_after, address=address)
    by_name = ratelimit.hit(
        scope="login-user",
        key=login_name(_account_name(username)),
        limit=MAX_FAILURES,
        window=WINDOW_SECONDS,
    )
    return LoginAttempt(allowed=by_name.allowed, retry_after=by_name.retry_after, address=address)


def login_failed(*, attempt: LoginAttempt | None) -> None:
    """A wrong password (or unknown user): count it against the address too."""
    if attempt is not None and attempt.allowed and attempt.address:
        ratelimit.hit(**_by_address(attempt.address))


def login_succeeded(*, username: str) -> None:
    """A correct password: forget the username's failures."""
    ratelimit.reset(scope="login-user", key=login_name(username), limit=MAX_FAILURES)


LOOKS_LIKE_MESSAGE = "This username looks too much like the existing username “{existing}”. Please choose another."


@functools.cache
def _prototypes() -> dict[str, str]:
    """Each confusable character -> the prototype it looks like, from the Unicode confusables data
    that confusable_homoglyphs ships (the library itself only answers "is this string mixed-script
    and confusable?", not "do these two strings look alike?").

    Its table lists both directions of each source -> prototype line of confusables.txt. A source
    appears in exactly one line, so it has exactly one entry, its prototype; a prototype lists all
    its sources. A pair whose two sides both have one entry (a prototype with a single source)
    cannot be told apart, so both map to the smaller one: they get equal skeletons either way,
    which is all a comparison needs.
    """
    data = confusables.confusables_data
    table = {}
    for char, homoglyphs in data.items():
        if len(char) != 1 or len(homoglyphs) != 1:
            continue  # a prototype (many sources): it stands for itself
        other = homoglyphs[0]["c"]
        back = data.get(other, [])
        if len(other) == 1 and len(back) == 1 and back[0]["c"] == char:
            table[char] = min(char, other)
        else:
            table[char] = other
    return table


def username_skeleton(username: str) -> str:
    """What a username looks like: NFKC, then confusables mapped to their prototypes and case folded
    (NFD around the mapping, as UTS #39 does), repeated until it no longer changes (prototypes of
    several characters are themselves made of mappable ones)."""
    table = _prototypes()
    text = unicodedata.normalize("NFD", unicodedata.normalize("NFKC", username))
    for _ in range(4):
        mapped = unicodedata.normalize("NFD", "".join(table.get(char, char) for char in text).casefold())
        if mapped == text:
            break
        text = mapped
    return text


def check_username_is_distinct(*, username: str, exclude_user_id: int | None = None) -> None:
    """Raise InvalidInput when the name looks like an existing user's."""
    match = (
        UsernameSkeleton.objects.filter(skeleton=username_skeleton(username))
        .exclude(user_id=exclude_user_id)
        .select_related("user")
        .first()
    )
    if match is not None:
        raise InvalidInput(LOOKS_LIKE_MESSAGE.format(existing=match.user.get_username()))


def remember_username_skeleton(*, user) -> None:
    UsernameSkeleton.objects.update_or_create(user=user, defaults={"skeleton": username_skeleton(user.get_username())})


def has_email(*, user) -> bool:
    """Whether the account has any email address (accounts made before sign-up asked for one may not)."""
    return bool(user.email) or EmailAddress.objects.filter(user=user).exists()


def may_upload(*, user) -> bool:
    """Uploading needs a verified email address: a reachable person behind every upload."""
    return EmailAddress.objects.filter(user=user, verified=True).exists()


def unverified_addresses(*, user) -> list[str]:
    waiting = EmailAddress.objects.filter(user=user, verified=False).order_by("-primary", "id")
    return list(waiting.values_list("email", flat=True))
