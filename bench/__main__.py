"""`python -m bench` runs every benchmark; `python -m bench variants` runs one.

A benchmark is any module of this package with a `run()` function, so adding one is adding a
file. A benchmark reports targets as PASS/MISS in its table; the exit status only says whether
it ran (0) or the command line was wrong (2).
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path

NOT_BENCHMARKS = {"common", "__main__"}


def available() -> dict[str, object]:
    package_dir = Path(__file__).resolve().parent
    found = {}
    for module in pkgutil.iter_modules([str(package_dir)]):
        if module.name in NOT_BENCHMARKS or module.name.startswith("_"):
            continue
        loaded = importlib.import_module(f"bench.{module.name}")
        if callable(getattr(loaded, "run", None)):
            found[module.name] = loaded
    return dict(sorted(found.items()))


def main(argv: list[str]) -> int:
    benchmarks = available()
    if any(arg in ("-h", "--help") for arg in argv):
        print(f"usage: python -m bench [{' | '.join(benchmarks)}] ...")
        return 0
    unknown = [name for name in argv if name not in benchmarks]
    if unknown:
        print(f"unknown benchmark: {', '.join(unknown)}; available: {', '.join(benchmarks)}", file=sys.stderr)
        return 2
    for name in argv or list(benchmarks):
        benchmarks[name].run()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
