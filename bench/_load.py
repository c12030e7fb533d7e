"""Closed-loop HTTP load from its own process: `python -m bench._load < spec.json > result.json`.

Each of `concurrency` clients holds one keep-alive connection and sends the next GET as soon as
the previous answer is read (no think time), cycling through `paths`. One asyncio loop drives
them all: a Python thread per client would spend the CPU this two-core machine needs for the
server on fighting over the GIL, and its own queueing would show up as server latency.

spec: {"host", "port", "headers": {...}, "phases": [{"label", "paths", "concurrency", "seconds",
"warmup", "hard_stop", "keepalive", "stream"}]}. Phases run in order; a phase's warmup (new connections, the
first queries of each gunicorn thread) is not recorded; hard_stop drops requests still in flight
at the end (a long poll) instead of waiting for them; keepalive false opens a new connection per
request, which whichever gunicorn worker is quickest accepts, as it would a new visitor's; stream true
makes each client a page on its event stream (text/event-stream, chunked): one GET read as long as
it lasts, the streams opened and their status events counted ("streams_opened", "events"), a new GET
when the server ends it.
Answer: one entry per phase with the latencies of the answered requests (ms), the measured
seconds, the errors (any non-200 answer, reset, or timeout) and every answer counted
(answered_total, warmup included).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections import Counter

REQUEST_TIMEOUT = 30.0


class Client:
    def __init__(self, host: str, port: int, headers: dict[str, str], keepalive: bool = True) -> None:
        self.host, self.port = host, port
        connection = "keep-alive" if keepalive else "close"
        lines = [f"Host: {host}:{port}", f"Connection: {connection}", *(f"{k}: {v}" for k, v in headers.items())]
        self.head = "\r\n".join(lines) + "\r\n\r\n"
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def get(self, path: str) -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        self.writer.write(f"GET {path} HTTP/1.1\r\n{self.head}".encode())
        head = (await self.reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        status = int(head[0].split(" ", 2)[1])
        fields = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in head[1:] if line)}
        if "content-length" in fields:
            await self.reader.readexactly(int(fields["content-length"]))
        elif fields.get("transfer-encoding", "").lower() == "chunked":
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                await self.reader.readexactly(size + 2)
                if size == 0:
                    break
        else:  # body ends when the server closes
            await self.reader.read()
            fields["connection"] = "close"
        if fields.get("connection", "").lower() == "close":
            self.close()
        return status

    async def follow(self, path: str, counts: list[int]) -> int:
        """GET an event stream (chunked) and read it until the server ends it; counts: [streams opened,
        status events received]."""
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        self.writer.write(f"GET {path} HTTP/1.1\r\n{self.head}".encode())
        head = (await self.reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        status = int(head[0].split(" ", 2)[1])
        counts[0] += 1
        while True:
            size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
            chunk = await self.reader.readexactly(size + 2)
            counts[1] += chunk.count(b"event: status")
            if size == 0:
                break
        self.close()
        return status

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def one_client(
    client: Client,
    paths: list[str],
    offset: int,
    record_from: float,
    stop_at: float,
    latencies: list[float],
    errors: Counter,
    answered: list[int],
    at: list[float],
    stream: list[int] | None = None,
) -> None:
    index = offset
    while True:
        started = time.perf_counter()
        if started >= stop_at:
            break
        path = paths[index % len(paths)]
        index += 1
        try:
            if stream is not None:  # a page on its event stream: one request for as long as it lasts
                status = await client.follow(path, stream)
            else:
                status = await asyncio.wait_for(client.get(path), REQUEST_TIMEOUT)
        except (TimeoutError, OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as exc:
            client.close()
            if started >= record_from:
                errors[type(exc).__name__] += 1
            continue
        answered[0] += 1
        if started < record_from:
            continue
        if status == 200:
            latencies.append((time.perf_counter() - started) * 1000)
            at.append(started - record_from)
        else:
            errors[f"HTTP {status}"] += 1
    client.close()


async def run_phase(spec: dict, phase: dict) -> dict:
    latencies: list[float] = []
    at: list[float] = []  # when each of them started, in seconds from the start of the measurement
    errors: Counter = Counter()
    answered = [0]  # every answer, warmup included: the caller divides CPU time by it
    streams = [0, 0] if phase.get("stream") else None  # event streams opened, status events received
    clients = [
        Client(spec["host"], spec["port"], spec.get("headers", {}), phase.get("keepalive", True))
        for _ in range(phase["concurrency"])
    ]
    record_from = time.perf_counter() + phase.get("warmup", 0.0)
    stop_at = record_from + phase["seconds"]
    running = asyncio.gather(
        *(
            one_client(c, phase["paths"], i, record_from, stop_at, latencies, errors, answered, at, streams)
            for i, c in enumerate(clients)
        )
    )
    if phase.get("hard_stop"):
        # Long requests (a long poll) still in flight at the end are dropped, not waited for.
        try:
            await asyncio.wait_for(running, max(0.0, stop_at - time.perf_counter()))
        except TimeoutError:
            pass
        for client in clients:
            client.close()
    else:
        await running
    # Otherwise requests started before stop_at and answered after it are counted, and the
    # window is measured up to the last answer.
    measured = max(time.perf_counter() - record_from, 1e-9)
    return {
        "label": phase["label"],
        "concurrency": phase["concurrency"],
        "seconds": measured,
        "latencies_ms": latencies,
        "started_at_s": at,
        "errors": dict(errors),
        "answered_total": answered[0],
        "streams_opened": streams[0] if streams is not None else None,
        "events": streams[1] if streams is not None else None,
    }


async def main(spec: dict) -> list[dict]:
    return [await run_phase(spec, phase) for phase in spec["phases"]]


if __name__ == "__main__":
    json.dump(asyncio.run(main(json.load(sys.stdin))), sys.stdout)
