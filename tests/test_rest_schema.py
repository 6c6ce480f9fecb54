"""The REST API keeps to its OpenAPI description: schemathesis (every check, bounded
examples and time) against a real uvicorn on 127.0.0.1 serving the whole app.

Fails on any 5xx, any status the description does not list, a schema-valid request the
server rejects, a schema-violating one it accepts, or a response that does not match
its declared schema.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("fastapi")  # the "serve" extra
pytest.importorskip("uvicorn")
pytest.importorskip("schemathesis")  # the "dev" extra

from agent_fixtures import toy_models  # noqa: E402
from live_server import LiveServer, build_library  # noqa: E402

from hourlens import Library  # noqa: E402
from hourlens.integrations.rest import create_app  # noqa: E402

HERE = Path(__file__).parent
MAX_EXAMPLES = 12
"""Examples per operation and phase: enough to hit every declared status and the
boundaries of every limit (the coverage phase adds those on top), small enough to run
in well under a minute on two shared cores."""
SEED = 20260101


def test_rest_app_matches_its_openapi_description(tmp_path):
    lib_dir = build_library(tmp_path)
    roots = tmp_path / "videos"
    roots.mkdir()
    (roots / "broken.mp4").write_bytes(b"not a video")
    with (
        Library(lib_dir, llm="none", models=toy_models()) as lib,
        LiveServer(create_app(lib, index_roots=[roots])) as srv,
    ):
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "schemathesis.cli",
                "--config-file",
                str(HERE / "schemathesis.toml"),
                "run",
                f"{srv.url}/openapi.json",
                "--checks",
                "all",
                "--max-examples",
                str(MAX_EXAMPLES),
                "--seed",
                str(SEED),
                "--request-timeout",
                "20",
                "--suppress-health-check",
                "all",
                "--no-color",
            ],
            capture_output=True,
            text=True,
            cwd=tmp_path,  # its report cache (.schemathesis/) stays out of the checkout
            timeout=240,
            check=False,
        )
    report = out.stdout + out.stderr
    lines = [ln[:300] for ln in report.splitlines() if "Invalid HTTP request" not in ln]
    assert out.returncode == 0, "\n".join(lines[-120:])
    assert "Selected: " in report and "Tested: " in report
