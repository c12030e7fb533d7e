"""Accounts: throttling password guessing on the login form.

Failures are counted per username and per client address in the shared cache (web processes
share it), for a sliding window; a success clears the username's count.
"""
import hashlib

from django.core.cache import cache

MAX_FAILURES = 5
WINDOW_SECONDS = 15 * 60
LOCKED_MESSAGE = "Too many failed log-in attempts. Please wait 15 minutes and try again, or reset your password."


def _keys(username: str, address: str) -> list[str]:
    digest = lambda value: hashlib.sha256(value.strip().lower().encode()).hexdigest()[:32]  # noqa: E731
    return [f"login-fail:user:{digest(username)}", f"login-fail:addr:{digest(address)}"]


def login_locked(*, username: str, address: str) -> bool:
    counts = cache.get_many(_keys(username, address))
    user_key, addr_key = _keys(username, address)
    return counts.get(user_key, 0) >= MAX_FAILURES or counts.get(addr_key, 0) >= MAX_FAILURES * 4


def record_login_failure(*, username: str, address: str) -> None:
    for key in _keys(username, address):
        if cache.add(key, 1, WINDOW_SECONDS):
            continue
        try:
            cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, WINDOW_SECONDS)


def record_login_success(*, username: str, address: str) -> None:
    cache.delete(_keys(username, address)[0])
