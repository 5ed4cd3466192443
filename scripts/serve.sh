#!/usr/bin/env bash
# Installs what is needed, then runs Parley on its embedded defaults (SQLite file and media folder
# under ./data, in-process bus) at http://127.0.0.1:8000.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh
exec .venv/bin/parley serve "$@"
