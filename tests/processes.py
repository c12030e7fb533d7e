"""Start and stop real processes (qcluster, servers) that share the test database."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


def test_database_env() -> dict[str, str]:
    """Environment that points a child process at the database this test run is using."""
    env = {k: v for k, v in os.environ.items()}
    env["DJANGO_SETTINGS_MODULE"] = "prompts_manager.test_settings"
    env["PROMPTFINDER_TESTING"] = "1"
    name = connection.settings_dict["NAME"]
    if connection.vendor == "sqlite":
        env["SQLITE_PATH"] = str(name)
        env.pop("DATABASE_URL", None)
    else:
        s = connection.settings_dict
        env["DATABASE_URL"] = f"postgres://{s['USER']}:{s['PASSWORD']}@{s['HOST']}:{s['PORT'] or 5432}/{name}"
    return env


def start_qcluster(*, extra_env: dict[str, str] | None = None, workers: int = 1) -> subprocess.Popen:
    env = test_database_env()
    env["Q_WORKERS"] = str(workers)
    env["Q_POLL"] = "0.1"
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra_env or {})
    log = open(ROOT / f".qcluster-{os.getpid()}.log", "ab")
    return subprocess.Popen(
        [sys.executable, "manage.py", "worker"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def stop_process(proc: subprocess.Popen, *, sig=signal.SIGTERM, timeout: float = 15) -> None:
    """Signal the main process (qcluster stops its own workers on SIGTERM), then make sure the group is gone."""
    if proc.poll() is None:
        try:
            os.kill(proc.pid, sig)
            proc.wait(timeout=timeout)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # leftovers of a cluster that did not stop cleanly
    except ProcessLookupError:
        pass
    if proc.poll() is None:
        proc.wait(timeout=5)


def wait_until(predicate, *, timeout: float = 20, interval: float = 0.05, message: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message}")


def procfile_web_command(port: int, *extra: str) -> list[str]:
    """The Procfile's web command, bound to a loopback port (without the control socket, shared per user)."""
    line = next(line for line in (ROOT / "Procfile").read_text().splitlines() if line.startswith("web:"))
    words = line.split(":", 1)[1].split()
    assert words[0] == "gunicorn"
    return [sys.executable, "-m", *words, "--bind", f"127.0.0.1:{port}", "--no-control-socket", *extra]


def start_procfile_web(port: int, env: dict, log, *extra: str) -> subprocess.Popen:
    """The Procfile's web process on `port`, its output to `log`, in a session of its own (stop_process)."""
    return subprocess.Popen(
        procfile_web_command(port, *extra),
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def free_port() -> int:
    """A loopback port nobody listens on (for a server a test starts)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
