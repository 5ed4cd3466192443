#!/usr/bin/env bash
# Installs what is needed, then runs the whole suite: lint, types, the web client's unit tests,
# and pytest (unit, integration against SQLite/PostgreSQL and the in-process/Redis buses, and the
# browser tests in Chromium). With CI=true the PostgreSQL and Redis tests fail if those servers
# are absent; without it they are skipped with the reason shown.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh --test

echo "== ruff"
.venv/bin/ruff check src tests bench
.venv/bin/ruff format --check src tests bench
echo "== mypy --strict"
.venv/bin/mypy
# The WebRTC client of the tests and benchmarks (not part of the package, typed the same way).
.venv/bin/mypy tests/webrtc_client.py
echo "== web client unit tests"
(cd web && npm test --silent)
echo "== pytest"
exec .venv/bin/pytest "$@"
