"""The whole site on loopback for benchmarks: a fresh PostgreSQL database, gunicorn, qcluster, fake AI."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
DB_NAME = "promptfinder_bench"
PASSWORD = "bench-password-123"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def site_env(media_root: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "PROMPTFINDER_TESTING", "SQLITE_PATH"}}
    env.update({
        "DJANGO_SETTINGS_MODULE": "prompts_manager.settings",
        "DATABASE_URL": f"{PG}/{DB_NAME}",
        "SECRET_KEY": "bench-secret-key-" + "x" * 40,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "0",
        "PROMPTFINDER_TESTING": "1",  # plain HTTP cookies on loopback; otherwise production settings
        "MEDIA_ROOT": media_root,
        "UPLOAD_HOURLY_PRESIGN_LIMIT": "100000",
        "UPLOAD_WEEKLY_LIMIT": "100000",
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    })
    env.update(extra or {})
    return env


def fresh_database() -> None:
    import psycopg2

    if "django" in sys.modules:
        from django.conf import settings

        if settings.configured:
            from django.db import connections

            connections.close_all()  # our own connections would keep the old database alive

    conn = psycopg2.connect(f"{PG}/postgres")
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        cur.execute(f"CREATE DATABASE {DB_NAME}")
    conn.close()


def manage(env: dict[str, str], *args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)


def start(cmd: list[str], env: dict[str, str], log_name: str) -> subprocess.Popen:
    log = open(Path(tempfile.gettempdir()) / f"promptfinder-bench-{log_name}.log", "ab")
    return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def start_gunicorn(env: dict[str, str], *, workers: int = 2, threads: int = 4) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = start([sys.executable, "-m", "gunicorn", "prompts_manager.wsgi", "--bind", f"127.0.0.1:{port}",
                  "--workers", str(workers), "--threads", str(threads), "--timeout", "60"], env, "gunicorn")
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            requests.get(f"{url}/robots.txt", timeout=1)
            return proc, url
        except requests.RequestException:
            time.sleep(0.2)
    stop(proc)
    raise RuntimeError("gunicorn did not start; see the log in the temp directory")


def start_qcluster(env: dict[str, str], *, workers: int = 2) -> subprocess.Popen:
    return start([sys.executable, "manage.py", "qcluster"], {**env, "Q_WORKERS": str(workers)}, "qcluster")


@contextmanager
def prepared_site(extra_env: dict[str, str] | None = None):
    """A migrated bench database, Django set up in this process against it, and a user to log in as."""
    media = tempfile.mkdtemp(prefix="promptfinder-bench-media-")
    env = site_env(media, extra_env)
    fresh_database()
    manage(env, "migrate", "--noinput")
    manage(env, "createcachetable")
    os.environ.update(env)
    import django

    django.setup()
    from django.contrib.auth import get_user_model

    from django_q.models import Schedule

    Schedule.objects.all().delete()  # only the benchmark's own tasks run
    get_user_model().objects.create_user(username="bench", password=PASSWORD)
    yield env


def logged_in_session(url: str) -> requests.Session:
    session = requests.Session()
    session.get(f"{url}/accounts/login/")
    response = session.post(f"{url}/accounts/login/", data={
        "username": "bench", "password": PASSWORD, "csrfmiddlewaretoken": session.cookies["csrftoken"],
    }, headers={"Referer": f"{url}/accounts/login/"}, allow_redirects=False)
    assert response.status_code == 302, response.text[:300]
    return session
