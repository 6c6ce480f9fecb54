"""Shared fixtures: generated test media and a throwaway library folder."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # `from media import ...` in tests

from media import make_scene_video, tone  # noqa: E402

SCENES = [
    (7.5, "hopper"),
    (7.5, "bars"),
    (7.5, "china"),
    (7.5, "checker"),
    (7.5, "static"),
    (7.5, "flower"),
    (7.5, "noise"),
    (7.5, "circles"),
]
"""The ``scene_video`` fixture: 60 s, 8 scenes, cuts every 7.5 s."""


@pytest.fixture(scope="session")
def scene_video(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[float]]:
    """A 60 s, 10 fps, 320x240 mp4 of 8 visually distinct scenes with a 440 Hz AAC tone.

    Returns:
        ``(path, cut_times)``; the cuts are at 7.5, 15, ..., 52.5 s.
    """
    path = tmp_path_factory.mktemp("media") / "scenes.mp4"
    cuts = make_scene_video(path, SCENES, fps=10, size=(320, 240), audio=tone(60.0))
    return path, cuts


@pytest.fixture
def tmp_library(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty library folder, also set as ``HOURLENS_HOME`` for the test."""
    lib = tmp_path / "library"
    lib.mkdir()
    monkeypatch.setenv("HOURLENS_HOME", str(lib))
    return lib


@pytest.fixture(scope="module")
def local_ray():
    """A local Ray of 2 CPUs for one test module (a Ray already running is reused)."""
    ray = pytest.importorskip("ray", reason="the ray extra is not installed")
    started = not ray.is_initialized()
    if started:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    if started:
        ray.shutdown()
