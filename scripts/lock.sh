#!/usr/bin/env bash
# Writes the locks that scripts/install.sh installs from: requirements-dev.lock (the runtime
# dependencies and the dev extra of pyproject.toml) and requirements.lock (the runtime ones),
# every package pinned with its hashes, the build backend (setuptools, wheel) included.
# Versions already locked are kept; the arguments go to pip-compile for the dev lock:
#   scripts/lock.sh                  # after editing the dependencies in pyproject.toml
#   scripts/lock.sh -P aiortc        # upgrade one package (-P aiortc==1.16.1 for one version)
# The runtime lock is resolved with the dev lock as its starting pins, so the packages in both
# have the same versions.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x .venv/bin/pip-compile ]; then
  echo "lock: no .venv/bin/pip-compile; run scripts/install.sh --test first" >&2
  exit 1
fi

# Resolve against the default index alone: a local pip.conf or PIP_* variables (mirrors,
# find-links, constraints) must not shape what every other machine installs.
unset PIP_INDEX_URL PIP_EXTRA_INDEX_URL PIP_FIND_LINKS PIP_CONSTRAINT
export PIP_CONFIG_FILE=/dev/null
export CUSTOM_COMPILE_COMMAND="scripts/lock.sh"
compile=(.venv/bin/pip-compile --quiet --all-build-deps --allow-unsafe --generate-hashes
  --strip-extras --no-emit-index-url --no-emit-find-links)

echo "lock: requirements-dev.lock"
"${compile[@]}" --extra dev -o requirements-dev.lock "$@" pyproject.toml
echo "lock: requirements.lock"
cp requirements-dev.lock requirements.lock
"${compile[@]}" -o requirements.lock pyproject.toml
