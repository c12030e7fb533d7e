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
# BENCH_DB: another name, so two benchmarks can run at once without dropping each other's database.
DB_NAME = os.environ.get("BENCH_DB", "promptfinder_bench")
PASSWORD = "bench-password-123"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def site_env(media_root: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "PROMPTFINDER_TESTING", "SQLITE_PATH"}}
    env.update(
        {
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
        }
    )
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


def procfile_web_options() -> dict[str, int]:
    """workers and threads of the Procfile's web process (its gunicorn.conf.py), so a benchmark serves as
    production does."""
    import runpy

    config = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    return {name: int(config[name]) for name in ("workers", "threads")}


def start_gunicorn(env: dict[str, str], *, workers: int = 2, threads: int = 4) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = start(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "prompts_manager.wsgi",
            "--worker-class",
            "gthread",  # gunicorn's threaded WSGI worker (gunicorn.conf.py, read from here, names the ASGI one)
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--threads",
            str(threads),
            "--timeout",
            "60",
        ],
        env,
        "gunicorn",
    )
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


def start_asgi(env: dict[str, str], *, workers: int = 2) -> tuple[subprocess.Popen, str]:
    """The Procfile's web process: gunicorn with uvicorn's ASGI worker (prompts_manager.asgi), configured by
    gunicorn.conf.py."""
    port = free_port()
    proc = start(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "prompts_manager.asgi:application",
            "-c",
            "gunicorn.conf.py",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--timeout",
            "60",
        ],
        env,
        "gunicorn-asgi",
    )
    return proc, _wait_until_up(proc, f"http://127.0.0.1:{port}")


def _wait_until_up(proc: subprocess.Popen, url: str) -> str:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            requests.get(f"{url}/robots.txt", timeout=1)
            return url
        except requests.RequestException:
            time.sleep(0.2)
    stop(proc)
    raise RuntimeError("the web server did not start; see the log in the temp directory")


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
    from django_q.models import Schedule

    Schedule.objects.all().delete()  # only the benchmark's own tasks run
    make_uploader("bench")
    yield env


def make_uploader(username: str):
    """A user who may upload: uploading needs a verified email address."""
    from allauth.account.models import EmailAddress
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_user(username=username, password=PASSWORD, email=f"{username}@example.com")
    EmailAddress.objects.create(user=user, email=user.email, primary=True, verified=True)
    return user


def other_cpu_share(seconds: float = 2.0) -> float | None:
    """Share of the machine's CPUs that other processes use right now (measured while idle).

    A load test keeps every CPU busy with its own server, so the busy-machine check has to be
    taken before (and after) it, not while it runs.
    """
    from bench.common import OtherLoad

    with OtherLoad() as load:
        time.sleep(seconds)
    return load.share


def cpu_seconds(pid: int, *, reaped_children: bool = False) -> float:
    """user + system CPU seconds of a live process (plus those of its children it has waited for)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    ticks = int(fields[11]) + int(fields[12]) + ((int(fields[13]) + int(fields[14])) if reaped_children else 0)
    return ticks / os.sysconf("SC_CLK_TCK")


def process_tree(pid: int) -> list[int]:
    """pid and all its live descendants (gunicorn's workers; qcluster's sentinel, pusher, workers, monitor)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            parents.setdefault(parent, []).append(int(entry.name))
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(parents.get(current, []))
    return tree


def database_backends() -> list[int]:
    """PostgreSQL backend pids connected to the bench database, other than this process's own."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", [DB_NAME])
        return [row[0] for row in cursor.fetchall()]


def logged_in_session(url: str) -> requests.Session:
    session = requests.Session()
    session.get(f"{url}/accounts/login/")
    response = session.post(
        f"{url}/accounts/login/",
        data={
            "username": "bench",
            "password": PASSWORD,
            "csrfmiddlewaretoken": session.cookies["csrftoken"],
        },
        headers={"Referer": f"{url}/accounts/login/"},
        allow_redirects=False,
    )
    assert response.status_code == 302, response.text[:300]
    return session


def synthetic_photo(seed: int, *, size: tuple[int, int] = (800, 600), shapes: int = 12) -> bytes:
    """A JPEG of random ellipses on a random background: a different, decodable photo per seed."""
    import io
    import random

    from PIL import Image, ImageDraw

    width, height = size
    rng = random.Random(seed)
    img = Image.new("RGB", size, tuple(rng.randrange(256) for _ in range(3)))
    draw = ImageDraw.Draw(img)
    for _ in range(shapes):
        x, y = rng.randrange(width), rng.randrange(height)
        reach = width // 4
        draw.ellipse(
            (x, y, x + rng.randrange(20, reach), y + rng.randrange(20, reach)),
            fill=tuple(rng.randrange(256) for _ in range(3)),
        )
    buffer = io.BytesIO()
    img.save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()
