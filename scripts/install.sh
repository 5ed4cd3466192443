#!/usr/bin/env bash
# Installs what Parley needs on a fresh Debian machine: system packages, the Python environment
# at .venv, and the built web client. Safe to run again: it skips what is already there.
#   scripts/install.sh           # to run the server
#   scripts/install.sh --test    # also what the tests need (Chromium, espeak-ng, sox)
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0
[ "${1:-}" = "--test" ] && want_test=1

apt_packages=()
command -v python3 >/dev/null || apt_packages+=(python3 python3-venv)
command -v node >/dev/null || apt_packages+=(nodejs)
command -v npm >/dev/null || apt_packages+=(npm)
if [ "$want_test" = 1 ]; then
  command -v chromium >/dev/null || apt_packages+=(chromium)
  # Speech for the audio tests and benchmarks is generated, never downloaded.
  command -v espeak-ng >/dev/null || apt_packages+=(espeak-ng)
  command -v sox >/dev/null || apt_packages+=(sox)
  # Emoji glyphs for the reaction bar in the browser tests' screenshots.
  [ -e /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf ] || apt_packages+=(fonts-noto-color-emoji)
  # ffprobe reads our HLS in the tests; nginx serves it in the deployment test and the HLS
  # serving benchmark, with wrk as its load.
  command -v ffprobe >/dev/null || apt_packages+=(ffmpeg)
  command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || apt_packages+=(nginx)
  command -v wrk >/dev/null || apt_packages+=(wrk)
fi
if [ ${#apt_packages[@]} -gt 0 ]; then
  echo "install: apt-get install ${apt_packages[*]}"
  sudo_cmd=""
  [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends \
    "${apt_packages[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
  echo "install: creating .venv"
  python3 -m venv .venv
fi
echo "install: Python packages"
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".[dev]"

echo "install: web client"
(cd web && npm ci --no-audit --no-fund --loglevel=error && npm run --silent build >/dev/null)
echo "install: done"
