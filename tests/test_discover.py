"""File discovery (recursion, extension filter, hidden files, missing paths, de-duplication)
and change detection (fingerprint, content hash)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from hourlens.indexer.discover import (
    VIDEO_EXTENSIONS,
    content_hash,
    discover_videos,
    file_fingerprint,
)


def _touch(path: Path, data: bytes = b"x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "videos"
    for rel in [
        "b.mp4",
        "a.MKV",
        "notes.txt",
        "cover.jpg",
        "sub/c.webm",
        "sub/deeper/d.ts",
        "sub/readme.md",
        ".hidden.mp4",
        ".cache/e.mp4",
        "sub/f.3gp",
        "g.mp4.part",
    ]:
        _touch(root / rel)
    return root


def test_folder_recursive_filtered_sorted(tree: Path):
    videos, missing = discover_videos([tree])
    assert missing == []
    rel = [p.relative_to(tree.resolve()).as_posix() for p in videos]
    assert rel == ["a.MKV", "b.mp4", "sub/c.webm", "sub/deeper/d.ts", "sub/f.3gp"]
    assert all(p.is_absolute() for p in videos)


def test_named_files_taken_whatever_the_extension(tree: Path):
    videos, missing = discover_videos([tree / "notes.txt", tree / ".hidden.mp4"])
    assert [p.name for p in videos] == ["notes.txt", ".hidden.mp4"]
    assert missing == []


def test_missing_paths_reported(tree: Path, tmp_path: Path):
    gone = tmp_path / "gone.mp4"
    videos, missing = discover_videos([gone, tree / "b.mp4", str(tmp_path / "nodir")])
    assert [p.name for p in videos] == ["b.mp4"]
    assert missing == [
        (str(gone), "no such file or directory"),
        (str(tmp_path / "nodir"), "no such file or directory"),
    ]


def test_deduplicated_and_resolved(tree: Path, monkeypatch: pytest.MonkeyPatch):
    link = tree / "sub" / "link.mp4"
    os.symlink(tree / "b.mp4", link)
    monkeypatch.chdir(tree)
    videos, _ = discover_videos(["b.mp4", tree, Path("sub") / ".." / "b.mp4", "sub"])
    names = [p.relative_to(tree.resolve()).as_posix() for p in videos]
    assert names == ["b.mp4", "a.MKV", "sub/c.webm", "sub/deeper/d.ts", "sub/f.3gp"]
    assert len(set(videos)) == len(videos)


def test_extension_set():
    assert {".mp4", ".mkv", ".mov", ".avi", ".webm", ".ts", ".3gp", ".ogv"} <= VIDEO_EXTENSIONS
    assert all(e.startswith(".") and e == e.lower() for e in VIDEO_EXTENSIONS)


def test_fingerprint_and_content_hash(tmp_path: Path):
    f = _touch(tmp_path / "v.mp4", bytes(range(256)) * 5000)  # 1.28 MB: several chunks
    size, mtime = file_fingerprint(f)
    assert size == 1_280_000 and mtime == pytest.approx(f.stat().st_mtime)
    h1 = content_hash(f)
    assert h1.startswith("blake2b:") and len(h1) == len("blake2b:") + 128
    assert content_hash(f) == h1 == content_hash(f, chunk=4096)  # stable, chunk-independent
    data = bytearray(f.read_bytes())
    data[777_777] ^= 1
    f.write_bytes(bytes(data))
    assert content_hash(f) != h1
    assert file_fingerprint(f)[0] == size  # same size: only the hash tells
    copy = _touch(tmp_path / "copy.bin", bytes(data))
    assert content_hash(copy) == content_hash(f)


def test_both_engines_plan_from_one_place(tmp_path):
    """``plan_paths`` (serial and Ray engines): the plan event counts audio files met in
    folders, and an argument that cannot be indexed becomes a failed result."""
    from hourlens.indexer.pipeline import plan_paths

    root = tmp_path / "in"
    _touch(root / "talk.mp4")
    _touch(root / "voice.wav")
    events: list = []
    files, unusable = plan_paths([root, tmp_path / "gone.mp4"], lambda e, i: events.append((e, i)))
    assert files == [(root / "talk.mp4").resolve()]
    assert events == [("plan", {"files": 2, "audio_only": 1})]
    assert [(r.status, r.video) for r in unusable] == [("failed", str(tmp_path / "gone.mp4"))]
    assert "no such file" in (unusable[0].error or "")
