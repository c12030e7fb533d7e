"""Riding out a database blip: a PostgreSQL restart, a Heroku failover's first seconds, a dropped connection.

Django raises OperationalError or InterfaceError for all of them, and the connection it held is
useless afterwards. `retry_database_errors` closes that connection, waits (0.5, 1, 2, 4, 8 s: about
15 s in all, well inside a task's Django-Q timeout) and calls again. Only what is safe to run twice
may be wrapped (every task is), and never inside a transaction: the retry must start a new one.
"""

from __future__ import annotations

import functools
import logging
import time

from django.db import InterfaceError, OperationalError, connection

logger = logging.getLogger(__name__)

DELAYS = (0.5, 1.0, 2.0, 4.0, 8.0)
DATABASE_ERRORS = (OperationalError, InterfaceError)


def retry_database_errors(function=None, *, delays=DELAYS):
    """Decorator: call again after a database error, with backoff; the last error is raised."""

    def decorate(function):
        @functools.wraps(function)
        def call(*args, **kwargs):
            for attempt, delay in enumerate((*delays, None), start=1):
                try:
                    return function(*args, **kwargs)
                except DATABASE_ERRORS as exc:
                    if delay is None or connection.in_atomic_block:
                        raise
                    logger.warning(
                        "database error in %s (attempt %s), trying again in %.1f s: %s",
                        function.__name__,
                        attempt,
                        delay,
                        str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__,
                    )
                    _drop_connection()
                    time.sleep(delay)
            raise AssertionError("unreachable")

        return call

    return decorate(function) if function is not None else decorate


def _drop_connection() -> None:
    """Forget the broken connection: the next query opens a new one (once the database is back)."""
    try:
        connection.close()
    except DATABASE_ERRORS:
        pass
