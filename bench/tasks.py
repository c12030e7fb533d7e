"""Tiny tasks for the queue benchmark: each execution leaves one line in a file (O_APPEND is atomic)."""

import os


def mark(path: str, number: int) -> int:
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, f"{number}\n".encode())
    finally:
        os.close(fd)
    return number


def mark_with_process(path: str, number: int) -> int:
    """As `mark`, with the id of the worker process that ran it ("<number> <pid>")."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, f"{number} {os.getpid()}\n".encode())
    finally:
        os.close(fd)
    return number


def slow_mark(path: str, number: int, seconds: float) -> int:
    """Writes "start <n>", sleeps, writes "done <n>": a long task to stop a worker in the middle of."""
    import time

    for word in ("start", "done"):
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, f"{word} {number}\n".encode())
        finally:
            os.close(fd)
        if word == "start":
            time.sleep(seconds)
    return number
