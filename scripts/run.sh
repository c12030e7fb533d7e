#!/usr/bin/env bash
# Install everything and start the whole site: web server and Django-Q worker, on SQLite and
# local media unless the environment says otherwise. Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/venv.sh requirements.txt
export DEBUG=${DEBUG:-1}
export DJANGO_SETTINGS_MODULE=prompts_manager.settings
PORT=${PORT:-8000}
PY=.venv/bin/python
$PY manage.py migrate --noinput
$PY manage.py createcachetable
$PY manage.py seed_demo
$PY manage.py worker &
WORKER=$!
trap 'kill $WORKER 2>/dev/null; wait $WORKER 2>/dev/null' EXIT INT TERM
echo
echo "  PromptFinder is running: open http://127.0.0.1:${PORT}/"
echo "  Demo account: demo / promptfinder-demo   (worker pid $WORKER)"
echo
$PY manage.py runserver "127.0.0.1:${PORT}" --noreload
