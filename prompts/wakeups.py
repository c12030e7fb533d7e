"""Wake-ups from the database, so nobody waits for the next poll: PostgreSQL LISTEN/NOTIFY.

Two channels:
- `TASKS`: a task was queued (`ORMWithWakeups.enqueue`). The worker's pusher waits on it instead of
  sleeping `Q_CLUSTER["poll"]` between empty queue reads (`ORMWithWakeups.dequeue`).
- `PROMPT_DONE`: a prompt finished processing (payload: its processing UUID). A waiting status request
  (the processing page's long poll, `selectors.wait_for_status` / `StatusWait`) answers at once.

NOTIFY is transactional: sent inside a transaction it is delivered at the commit, so a woken reader
always sees the committed row. Polling stays as the fallback: on SQLite, with
CRITICAL_PATH_SEQUENTIAL=1, and whenever the listening connection is down (it reconnects), waiters
re-read on their old rhythm. Only this module talks LISTEN/NOTIFY; its errors never reach a caller.
"""

from __future__ import annotations

import asyncio
import logging
import os
import select
import threading
import time
from contextlib import contextmanager

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.utils import load_backend
from django.utils import timezone
from django_q.brokers.orm import ORM
from django_q.conf import Conf

logger = logging.getLogger(__name__)

TASKS = "pf_tasks"
PROMPT_DONE = "pf_prompt_done"
RECONNECT_SECONDS = 2.0


def enabled() -> bool:
    return _vendor() == "postgresql" and not settings.CRITICAL_PATH_SEQUENTIAL


def _vendor() -> str:
    """The default database's vendor, read from its backend's class: `connection.vendor` would make a
    connection object for the caller's context, one per request in an async view (a thousand waiting
    long polls held a thousand of them)."""
    return load_backend(connections.settings[DEFAULT_DB_ALIAS]["ENGINE"]).DatabaseWrapper.vendor


def notify(channel: str, payload: str = "") -> None:
    """NOTIFY `channel` (at the commit of the current transaction, or now); a no-op where not enabled."""
    if not enabled():
        return
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_notify(%s, %s)", [channel, payload])
    except Exception as exc:  # a lost wake-up costs one poll period, never the caller's work
        logger.warning("NOTIFY %s failed: %s", channel, exc)


class Listener:
    """A connection of its own that LISTENs on `channels`; `wait()` returns the payloads that came.

    Used by one thread only (Django's connection objects are per thread).
    """

    def __init__(self, channels: tuple[str, ...]) -> None:
        self.channels = channels
        self._wrapper = None
        self._failed_at = 0.0

    @property
    def connected(self) -> bool:
        return self._wrapper is not None

    def connect(self) -> bool:
        if self._wrapper is not None:
            return True
        if time.monotonic() - self._failed_at < RECONNECT_SECONDS:
            return False
        try:
            wrapper = connections.create_connection("default")
            wrapper.ensure_connection()
            wrapper.connection.autocommit = True
            with wrapper.connection.cursor() as cursor:
                for channel in self.channels:
                    cursor.execute(f'LISTEN "{channel}"')
        except Exception as exc:
            logger.warning("LISTEN %s failed (polling until it works): %s", ",".join(self.channels), exc)
            self._failed_at = time.monotonic()
            return False
        self._wrapper = wrapper
        return True

    def wait(self, timeout: float) -> list[tuple[str, str]]:
        """Block up to `timeout` s for notifications; [] after the timeout (or when not connected)."""
        if not self.connect():
            time.sleep(timeout)
            return []
        raw = self._wrapper.connection
        try:
            if not raw.notifies:
                ready, _, _ = select.select([raw], [], [], timeout)
                if ready:
                    raw.poll()
            else:
                raw.poll()
            got = [(n.channel, n.payload) for n in raw.notifies]
            raw.notifies.clear()
            return got
        except Exception as exc:
            logger.warning("the LISTEN connection broke (reconnecting): %s", exc)
            self.close()
            self._failed_at = time.monotonic()
            return []

    def close(self) -> None:
        """Close the connection, from any thread (a test's teardown closes a worker thread's listener)."""
        if self._wrapper is not None:
            try:
                self._wrapper.connection.close()  # psycopg2's own close: Django's checks the calling thread
            except Exception:  # already broken
                pass
            self._wrapper = None


# --- the processing page's wait ----------------------------------------------------------------


class PromptDoneHub:
    """One LISTEN connection per process for every waiting status request of that process.

    A waiter subscribes to its prompt's UUID and is woken (a threading.Event, or an asyncio future
    on its own loop) when PROMPT_DONE names it. `listening` says whether wake-ups are flowing; while
    they are not, waiters keep their short poll.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiters: dict[str, set] = {}
        self._thread: threading.Thread | None = None
        self._pid = None
        self._listener: Listener | None = None
        self._stopping = threading.Event()

    @property
    def listening(self) -> bool:
        return self._listener is not None and self._listener.connected

    def _ensure_thread(self) -> None:
        if self._thread is not None and self._pid == os.getpid() and self._thread.is_alive():
            return
        with self._lock:
            if self._thread is not None and self._pid == os.getpid() and self._thread.is_alive():
                return
            self._pid = os.getpid()
            self._listener = Listener((PROMPT_DONE,))
            ready = threading.Event()
            self._thread = threading.Thread(target=self._run, args=(ready,), name="prompt-done-listener", daemon=True)
            self._thread.start()
        ready.wait(5)  # the first LISTEN is in place (or failed) before anyone relies on it

    def _run(self, ready: threading.Event) -> None:
        listener = self._listener
        listener.connect()
        ready.set()
        try:
            while not self._stopping.is_set():
                was_connected = listener.connected
                got = listener.wait(1.0)
                if listener.connected and not was_connected:
                    self._wake_all()  # back after a break: whatever was notified meanwhile is re-read
                for _channel, payload in got:
                    self._wake(payload)
        finally:
            listener.close()

    def stop(self) -> None:
        """Close the LISTEN connection (tests, before their database is dropped); the next waiter reopens it."""
        thread = self._thread
        if thread is None:
            return
        self._stopping.set()
        thread.join(5)
        with self._lock:
            self._thread = None
            self._stopping = threading.Event()

    def _wake_all(self) -> None:
        with self._lock:
            waiters = [wake for keyed in self._waiters.values() for wake in keyed]
        for wake in waiters:
            wake()

    def _wake(self, key: str) -> None:
        with self._lock:
            waiters = list(self._waiters.get(key, ()))
        for wake in waiters:
            wake()

    @contextmanager
    def subscribe(self, key: str):
        """A threading.Event set when `key` is notified (subscribe before reading the row: no lost wake-up)."""
        event = threading.Event()
        with self._subscribed(key, event.set):
            yield event

    def subscribe_async(self, key: str) -> AsyncWake:
        """An `AsyncWake` of the running loop for `key` (subscribe before reading the row: no lost
        wake-up); the caller closes it."""
        if enabled():
            self._ensure_thread()
        return AsyncWake(self, key, asyncio.get_running_loop())

    def _add(self, key: str, wake) -> None:
        with self._lock:
            self._waiters.setdefault(key, set()).add(wake)

    def _discard(self, key: str, wake) -> None:
        with self._lock:
            waiters = self._waiters.get(key)
            if waiters is not None:
                waiters.discard(wake)
                if not waiters:
                    del self._waiters[key]

    @contextmanager
    def _subscribed(self, key: str, wake):
        if enabled():
            self._ensure_thread()
        self._add(key, wake)
        try:
            yield
        finally:
            self._discard(key, wake)


class AsyncWake:
    """A waiting coroutine's wake-up for one key: set from the listener's thread, awaited on its loop.

    `wait(timeout)` neither starts a task nor raises at the timeout (as `asyncio.wait_for` on an
    `asyncio.Event` does): a thousand waiting long polls each make a few objects, not a few dozen.
    """

    def __init__(self, hub: PromptDoneHub, key: str, loop: asyncio.AbstractEventLoop) -> None:
        self._hub, self._key, self._loop = hub, key, loop
        self._woken = loop.create_future()
        hub._add(key, self._notified)

    def _notified(self) -> None:  # any thread
        self._loop.call_soon_threadsafe(self._set)

    def _set(self) -> None:
        if not self._woken.done():
            self._woken.set_result(None)

    async def wait(self, timeout: float) -> bool:
        """Whether the key was notified (since the last `wait` that said so) within `timeout` seconds."""
        if not self._woken.done():
            await asyncio.wait((self._woken,), timeout=timeout)
        if not self._woken.done():
            return False
        self._woken = self._loop.create_future()
        return True

    def close(self) -> None:
        self._hub._discard(self._key, self._notified)


prompt_done = PromptDoneHub()


def prompt_finished(processing_uuid) -> None:
    """Tell waiting status requests that this prompt is complete (at the commit)."""
    notify(PROMPT_DONE, str(processing_uuid))


# --- the worker's queue ------------------------------------------------------------------------


class ORMWithWakeups(ORM):
    """Django-Q2's ORM broker, whose empty-queue wait ends as soon as a task is queued.

    `enqueue` NOTIFYs TASKS; `dequeue` waits on a LISTEN connection for up to Q_CLUSTER["poll"]
    where the ORM broker would sleep it. Everything else (leases, acknowledgements) is the ORM
    broker's own.
    """

    _listeners: dict[int, Listener] = {}

    def enqueue(self, task):
        package_id = super().enqueue(task)
        notify(TASKS, self.list_key or "")
        return package_id

    @classmethod
    def close_listeners(cls) -> None:
        for listener in cls._listeners.values():
            listener.close()
        cls._listeners.clear()

    def _listener(self) -> Listener | None:
        if not enabled():
            return None
        pid = os.getpid()
        if pid not in self._listeners:
            self._listeners[pid] = Listener((TASKS,))
        listener = self._listeners[pid]
        return listener if listener.connect() else None

    def dequeue(self):
        listener = self._listener()  # LISTEN before reading the queue: a task queued meanwhile still wakes us
        tasks = self.get_connection().filter(key=self.list_key, lock__lt=timezone.now())[0 : Conf.BULK]
        if tasks:
            task_list = []
            for task in tasks:
                if self.get_connection().filter(id=task.id, lock=task.lock).update(lock=self.timeout(task)):
                    task_list.append((task.pk, task.payload))
                # else another cluster took it first
            return task_list
        if listener is None:
            time.sleep(Conf.POLL)
        else:
            listener.wait(Conf.POLL)
        return None
