#!/usr/bin/env bash
# Run the whole test suite. Uses DATABASE_URL when set (PostgreSQL), SQLite otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/venv.sh requirements-dev.txt
bash scripts/ensure-chromium.sh
exec .venv/bin/python -m pytest -n "${PYTEST_WORKERS:-2}" "$@"
