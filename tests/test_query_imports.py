"""The query path stays light: a cold ``search`` and a lookup ``ask`` never import torch.

torch (and sentence-transformers, timm) cost most of a cold CLI call. Indexing exports
the text embedder to ONNX and caches the encoder's label space, so the query path runs
on ONNX Runtime and one cached file. Agent code on the query path must import torch,
transformers, timm or sentence-transformers lazily, only where a question needs them
(a CLIP text tower, a VLM, the LLM conversion), never at module level.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner
from media import make_scene_video

from hourlens.cli import cli

HEAVY = ("torch", "sentence_transformers", "timm", "transformers", "open_clip")

PROBE = """
import json, sys
from hourlens.cli import main
sys.argv = ["hourlens", *sys.argv[1:]]
try:
    main()
except SystemExit as exc:
    code = exc.code
heavy = [m for m in %r if m in sys.modules]
print("PROBE " + json.dumps({"code": code, "heavy": heavy}), file=sys.stderr)
"""


def _probe(args: list[str]) -> tuple[dict, str]:
    out = subprocess.run(
        [sys.executable, "-c", PROBE % (HEAVY,), *args], capture_output=True, text=True, timeout=300
    )
    line = next(x for x in out.stderr.splitlines() if x.startswith("PROBE "))
    return json.loads(line[len("PROBE ") :]), out.stdout


@pytest.mark.slow
def test_cold_search_and_lookup_ask_do_not_import_torch(tmp_path, monkeypatch):
    monkeypatch.setenv("HOURLENS_ASR", "none")  # speech is not what this test is about
    video = tmp_path / "scenes.mp4"
    make_scene_video(video, [(5.0, "hopper"), (5.0, "china"), (5.0, "bars")], fps=5)
    lib = tmp_path / "lib"
    res = CliRunner().invoke(
        cli, ["--library", str(lib), "index", "--json", "--no-progress", str(video)]
    )
    assert res.exit_code == 0, res.output

    got, out = _probe(["--library", str(lib), "search", "a Chinese pagoda", "-k", "3", "--json"])
    assert got == {"code": 0, "heavy": []}
    assert json.loads(out)  # it did search: hits came back

    got, out = _probe(["--library", str(lib), "ask", "scenes.mp4", "What is said at about 00:07?"])
    assert got == {"code": 0, "heavy": []}
    assert out.strip()
