"""The rate-limit primitive against the real cache backends the site runs on: the database cache
(the default) and Redis (when one answers on REDIS_URL or 127.0.0.1:6379). The clock is moved with
time-machine, which the database cache reads too; Redis keeps its own clock, so its window is
checked with a real two-second wait."""

import os
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import close_old_connections
from django.test import override_settings

from prompts.services import ratelimit
from prompts.services.errors import RateLimited

REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"


def redis_answers() -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.5).ping())
    except (redis.RedisError, OSError):
        return False


def database_cache():
    return {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "promptfinder_cache",
            "TIMEOUT": 1800,
        }
    }


def redis_cache():
    # A prefix of our own: other test runs may share this Redis.
    return {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "TIMEOUT": 1800,
            "KEY_PREFIX": f"pf-test-{uuid.uuid4().hex}",
            "OPTIONS": {"CLIENT_CLASS": "django_redis.client.DefaultClient"},
        }
    }


@pytest.fixture(params=["database", "redis"])
def backend(request, transactional_db):
    if request.param == "redis" and not redis_answers():
        pytest.skip(f"no Redis answers at {REDIS_URL}")
    caches = database_cache() if request.param == "database" else redis_cache()
    with override_settings(CACHES=caches):
        from django.core.cache import cache

        cache.clear() if request.param == "database" else None
        yield request.param
        if request.param == "redis":
            cache.delete_pattern("*")


def key() -> str:
    return uuid.uuid4().hex


def test_allows_up_to_the_limit_then_says_how_long_to_wait(backend):
    k = key()
    answers = [ratelimit.hit(scope="test", key=k, limit=3, window=600) for _ in range(3)]
    assert [a.allowed for a in answers] == [True, True, True]
    assert [a.remaining for a in answers] == [2, 1, 0]
    denied = ratelimit.hit(scope="test", key=k, limit=3, window=600)
    assert not denied.allowed and denied.remaining == 0
    assert 598 <= denied.retry_after <= 600
    assert ratelimit.peek(scope="test", key=k, limit=3, window=600).allowed is False
    assert ratelimit.hit(scope="test", key=key(), limit=3, window=600).allowed  # another key is not affected


def test_the_window_slides_on_the_database_cache(db):
    """An event leaves the count exactly one window after it happened, and a later event does not
    extend the earlier ones (with cache.incr on the database cache, each one did)."""
    # Redis keeps its own clock: it is checked in real time in the next test.
    with override_settings(CACHES=database_cache()):
        check_window_with_a_moved_clock()


def check_window_with_a_moved_clock():
    k = key()
    start = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False) as clock:
        ratelimit.hit(scope="test", key=k, limit=2, window=900)
        clock.shift(timedelta(minutes=10))
        ratelimit.hit(scope="test", key=k, limit=2, window=900)
        denied = ratelimit.hit(scope="test", key=k, limit=2, window=900)
        assert not denied.allowed and denied.retry_after == 5 * 60  # the first event leaves at 12:15
        clock.shift(timedelta(minutes=5, seconds=1))
        again = ratelimit.peek(scope="test", key=k, limit=2, window=900)
        assert again.allowed and again.remaining == 1
        assert ratelimit.hit(scope="test", key=k, limit=2, window=900).allowed
        assert (
            ratelimit.peek(scope="test", key=k, limit=2, window=900).retry_after == 10 * 60 - 1
        )  # the 12:10 event leaves at 12:25
        clock.shift(timedelta(minutes=16))
        assert ratelimit.peek(scope="test", key=k, limit=2, window=900).remaining == 2


def test_the_window_slides_in_real_time(backend):
    k = key()
    assert ratelimit.hit(scope="test", key=k, limit=1, window=2).allowed
    denied = ratelimit.hit(scope="test", key=k, limit=1, window=2)
    assert not denied.allowed and denied.retry_after in (1, 2)
    time.sleep(2.2)
    assert ratelimit.hit(scope="test", key=k, limit=1, window=2).allowed


def test_simultaneous_hits_never_pass_the_limit(backend):
    """Twelve threads at once against a limit of 5: exactly 5 are allowed (each claims a slot with an
    atomic add, not a read-then-write)."""
    k = key()
    barrier = threading.Barrier(12)
    answers = []

    def one():
        barrier.wait()
        try:
            answers.append(ratelimit.hit(scope="test", key=k, limit=5, window=600).allowed)
        finally:
            close_old_connections()

    threads = [threading.Thread(target=one) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers) == [False] * 7 + [True] * 5


def test_reset_and_undo(backend):
    k = key()
    first = ratelimit.hit(scope="test", key=k, limit=2, window=600)
    ratelimit.hit(scope="test", key=k, limit=2, window=600)
    ratelimit.undo(first)
    assert ratelimit.peek(scope="test", key=k, limit=2, window=600).remaining == 1
    ratelimit.reset(scope="test", key=k, limit=2)
    assert ratelimit.peek(scope="test", key=k, limit=2, window=600).remaining == 2


def test_keys_of_any_text_and_bad_scopes(backend):
    odd = "ü" * 5000 + "\x00\ud800"
    assert ratelimit.hit(scope="test", key=odd, limit=1, window=60).allowed
    assert not ratelimit.hit(scope="test", key=odd, limit=1, window=60).allowed
    with pytest.raises(ValueError):
        ratelimit.hit(scope="Not A Scope!", key="x", limit=1, window=60)


def test_a_denied_decision_raises_the_one_rate_limit_error():
    denied = ratelimit.Decision(allowed=False, limit=3, remaining=0, retry_after=125)
    with pytest.raises(RateLimited) as caught:
        denied.raise_if_denied("Slow down: try again in {wait}.")
    assert caught.value.message == "Slow down: try again in 3 minutes."
    assert caught.value.status == 429 and caught.value.headers == {"Retry-After": "125"}
    ratelimit.Decision(allowed=True, limit=3, remaining=2, retry_after=0).raise_if_denied("never raised")


def test_limits_counted_from_rows_answer_in_the_same_shape():
    now = datetime(2030, 1, 8, tzinfo=UTC)
    times = [
        now - timedelta(days=6),
        now - timedelta(days=2),
        now - timedelta(hours=1),
        now - timedelta(days=8),
    ]
    decision = ratelimit.from_timestamps(times, limit=3, window=7 * 86400, now=now)
    assert not decision.allowed and decision.retry_after == 86400  # the 6-day-old one leaves in a day
    assert ratelimit.from_timestamps(times, limit=4, window=7 * 86400, now=now).remaining == 1


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (1, "1 second"),
        (59.2, "60 seconds"),
        (91, "2 minutes"),
        (14 * 60 + 1, "15 minutes"),
        (5400, "90 minutes"),
        (5401, "2 hours"),
        (40 * 3600, "2 days"),
    ],
)
def test_waits_are_written_for_people_and_rounded_up(seconds, words):
    assert ratelimit.wait_in_words(seconds) == words


def test_the_upload_limits_count_rows_and_answer_in_the_same_shape(alice, settings):
    """The weekly limit counts real uploads (rows), and refuses like every other limit: 429, a
    Retry-After that ends when the oldest counted upload leaves the week, and the wait in words."""
    from prompts.models import Upload
    from prompts.services import uploads

    settings.UPLOAD_WEEKLY_LIMIT = 2
    start = datetime(2030, 6, 1, 12, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False) as clock:
        for hours_ago in (0, 1):
            upload = uploads.presign_upload(
                user=alice, filename="a.jpg", content_type="image/jpeg", file_size=999
            ).upload
            Upload.objects.filter(id=upload.id).update(
                state=Upload.State.UPLOADED,
                created_at=start - timedelta(days=5, hours=hours_ago),
            )
        clock.shift(timedelta(minutes=1))
        with pytest.raises(RateLimited) as caught:
            uploads.presign_upload(user=alice, filename="b.jpg", content_type="image/jpeg", file_size=999)
    # The older one (5 days 1 hour ago) leaves the week in 1 day 22 h 59 min.
    assert caught.value.status == 429
    assert caught.value.headers == {"Retry-After": str((2 * 86400) - 3600 - 60)}
    assert caught.value.message.endswith("or try again in 2 days.")
