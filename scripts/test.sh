#!/usr/bin/env bash
# Run ruff, then the whole test suite. Uses DATABASE_URL when set (PostgreSQL), SQLite otherwise.
# Tests marked `serial` restart the shared PostgreSQL server, so on PostgreSQL they run first, alone;
# on SQLite there is no server to restart and they are skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/venv.sh requirements-dev.txt
bash scripts/ensure-chromium.sh
# Lint and layout first (pyproject.toml): a finding fails the run before any test starts.
.venv/bin/ruff check .
.venv/bin/ruff format --check .
if [ -n "${DATABASE_URL:-}" ]; then
  .venv/bin/python -m pytest -p no:xdist -m serial "$@" || [ $? -eq 5 ]  # 5: none selected by a narrowed run
fi
exec .venv/bin/python -m pytest -n "${PYTEST_WORKERS:-2}" -m "not serial" "$@"
