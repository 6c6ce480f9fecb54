"""The package installs as one importable ``hourlens`` with the requested subpackages."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SUBPACKAGES = [
    "agent",
    "indexer",
    "indexer.encoders",
    "memory_store",
    "tools",
    "prompts",
    "cli",
    "integrations",
    "integrations.web",
    "models",
]


def test_editable_install_maps_top_level_folders():
    import hourlens

    for sub in SUBPACKAGES:
        mod = __import__(f"hourlens.{sub}", fromlist=["_"])
        assert mod.__file__ is not None
    assert Path(__import__("hourlens.indexer", fromlist=["_"]).__file__).parent == ROOT / "indexer"
    assert set(hourlens.__all__) >= {"Library", "Hit", "Answer", "IndexResult", "Segment"}


@pytest.mark.slow
def test_wheel_contains_only_hourlens_and_imports(tmp_path):
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
    )
    (wheel,) = tmp_path.glob("hourlens-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names}
    assert tops == {"hourlens", f"{wheel.name.split('-')[0]}-{wheel.name.split('-')[1]}.dist-info"}
    for sub in ["agent", "indexer", "indexer/encoders", "memory_store", "tools", "prompts"]:
        assert f"hourlens/{sub}/__init__.py" in names, sub
    assert any(n.startswith("hourlens/prompts/") and n.endswith(".txt") for n in names)
    # the web player's assets ship in the wheel: every file of the static folder
    static = ROOT / "hourlens" / "integrations" / "web" / "static"
    assets = {f"hourlens/integrations/web/{p.relative_to(static.parent).as_posix()}"
              for p in static.rglob("*") if p.is_file()}  # fmt: skip
    assert "hourlens/integrations/web/static/index.html" in assets
    assert "hourlens/integrations/web/static/js/main.js" in assets
    assert assets <= set(names), sorted(assets - set(names))
    # install the wheel's files alone into a folder and import every subpackage from there
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "-q",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
    )
    code = (
        "import hourlens, importlib; "
        f"mods = [importlib.import_module('hourlens.' + s) for s in {SUBPACKAGES!r}]; "
        "print(hourlens.__file__); print(all(m.__file__.startswith(sys.argv[1]) "
        "for m in mods))"
    )
    # -S: no site processing, so the editable install's path hook is not loaded; the
    # dependencies are still found through the venv's site-packages on PYTHONPATH
    import sysconfig

    deps = sysconfig.get_paths()["purelib"]
    out = subprocess.run(
        [sys.executable, "-S", "-c", "import sys; " + code, str(target)],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
        env={"PYTHONPATH": f"{target}:{deps}", "PATH": "/usr/bin:/bin"},
    )
    assert out.stdout.splitlines() == [str(target / "hourlens" / "__init__.py"), "True"]
