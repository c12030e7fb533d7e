"""Small helpers shared by the benchmarks: timing, text tables, result files."""

from __future__ import annotations

import gc
import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def percentile(values: list[float], q: float) -> float:
    """The q-quantile (0..1) by linear interpolation between the closest ranks; NaN for no values."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = q * (len(ordered) - 1)
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass
class Timing:
    samples_ms: list[float]

    @property
    def p50(self) -> float:
        return statistics.median(self.samples_ms)

    @property
    def p95(self) -> float:
        return percentile(self.samples_ms, 0.95)  # with ~7 samples this is near the max

    @property
    def min(self) -> float:
        return min(self.samples_ms)

    def as_dict(self) -> dict:
        return {
            "p50_ms": round(self.p50, 2),
            "p95_ms": round(self.p95, 2),
            "min_ms": round(self.min, 2),
            "samples_ms": [round(s, 2) for s in self.samples_ms],
        }


def measure(fns: dict[str, Callable[[], object]], *, warmup: int = 1, repeats: int = 7) -> dict[str, Timing]:
    """Time each callable `repeats` times after `warmup` untimed calls.

    The callables take turns (a, b, a, b, ...) so that a slow spell of a shared machine hurts
    the baseline and the candidate alike instead of whichever happened to run during it.
    The garbage collector is run before, and kept off during, each timed call (as timeit does).
    """
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    samples: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            gc.collect()
            gc.disable()
            try:
                start = time.perf_counter()
                fn()
                samples[name].append((time.perf_counter() - start) * 1000)
            finally:
                gc.enable()
    return {name: Timing(values) for name, values in samples.items()}


@dataclass
class Table:
    title: str
    headers: list[str]
    rows: list[list[object]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, *cells: object) -> None:
        self.rows.append(list(cells))

    def render(self) -> str:
        cells = [[_text(c) for c in row] for row in [self.headers, *self.rows]]
        widths = [max(len(row[i]) for row in cells) for i in range(len(self.headers))]
        # A column is right-aligned when every cell that is not a placeholder reads as a number.
        numeric = [
            any(_is_number(row[i]) for row in cells[1:])
            and all(_is_number(row[i]) or row[i] in PLACEHOLDERS for row in cells[1:])
            for i in range(len(self.headers))
        ]

        def line(row: list[str]) -> str:
            return "  ".join(
                c.rjust(w) if num else c.ljust(w) for c, w, num in zip(row, widths, numeric, strict=False)
            ).rstrip()

        out = [self.title, line(cells[0]), "  ".join("-" * w for w in widths)]
        out += [line(row) for row in cells[1:]]
        out += [f"  note: {note}" for note in self.notes]
        return "\n".join(out)

    def as_dict(self) -> dict:
        return {"title": self.title, "headers": self.headers, "rows": self.rows, "notes": self.notes}


PLACEHOLDERS = {"—", "-", ""}


def _text(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4f}" if abs(value) < 1 else f"{value:.1f}"
    return str(value)


def _is_number(text: str) -> bool:
    try:
        float(text.rstrip("×%"))
    except ValueError:
        return False
    return True


class OtherLoad:
    """How much of the machine's CPU time other processes used while the block ran.

    Busy time of all CPUs (from /proc/stat) minus this process's own CPU time, as a share of
    wall time x CPUs. Unlike the load average it has no lag; None where /proc/stat is missing.
    """

    share: float | None = None

    def __enter__(self) -> OtherLoad:
        self._start = (_machine_busy_seconds(), _own_cpu_seconds(), time.perf_counter())
        return self

    def __exit__(self, *exc: object) -> None:
        busy, own, wall = _machine_busy_seconds(), _own_cpu_seconds(), time.perf_counter()
        if busy is None or self._start[0] is None:
            return
        others = (busy - self._start[0]) - (own - self._start[1])
        self.share = max(0.0, others / ((wall - self._start[2]) * (os.cpu_count() or 1)))


def _machine_busy_seconds() -> float | None:
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields) - idle) / os.sysconf("SC_CLK_TCK")


def _own_cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def machine() -> dict:
    from PIL import __version__ as pillow_version

    cpu_model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:  # not Linux
        cpu_model = platform.processor()
    return {
        "nproc": os.cpu_count(),
        "cpu_model": cpu_model,
        "python": platform.python_version(),
        "pillow": pillow_version,
        "platform": platform.platform(),
        "loadavg_1min": round(os.getloadavg()[0], 2),
    }


def write_results(name: str, tables: list[Table], **extra: object) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    document = {
        "benchmark": name,
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "tables": [table.as_dict() for table in tables],
        **extra,
    }
    path.write_text(json.dumps(document, indent=2, default=str) + "\n")
    return path


def print_header(name: str) -> None:
    info = machine()
    print(
        f"== bench {name} == {info['cpu_model']} x{info['nproc']}, Python {info['python']}, "
        f"Pillow {info['pillow']}, load average {info['loadavg_1min']}"
    )
