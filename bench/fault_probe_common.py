"""Shared pieces of the fault probe (``bench/fault_probe.py``): the quick-index
environment, the out-of-range ids, the tally of tried / held cases and the CLI runners.

Importing this module sets the quick-index environment (``QUICK``) before hourlens is
imported, and puts ``tests/`` on ``sys.path`` (the generated media and fixtures).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

QUICK = {
    "HOURLENS_ASR": "none",
    "HOURLENS_OCR": "false",
    "HOURLENS_TEXT_EMBEDDER": "none",
    "HOURLENS_ENCODER": "efficientnet_lite0",
    "HF_HUB_OFFLINE": "1",
}
os.environ.update(QUICK)
HUGE = [
    "9223372036854775807",
    "9223372036854775808",
    "99999999999999999999",
    "-1",
    "-9223372036854775809",
    "١",
    "１",
]


class Tally:
    """tried / held per area, with the cases that did not hold."""

    def __init__(self) -> None:
        self.areas: dict[str, dict[str, Any]] = {}

    def case(self, area: str, name: str, fn: Callable[[], bool | str]) -> None:
        a = self.areas.setdefault(area, {"tried": 0, "held": 0, "failed": []})
        a["tried"] += 1
        try:
            ok = fn()
        except Exception as exc:  # noqa: BLE001 - a crash of the case is a failure
            ok = f"{type(exc).__name__}: {str(exc)[:160]}"
        if ok is True:
            a["held"] += 1
        else:
            a["failed"].append(f"{name}: {ok if isinstance(ok, str) else 'wrong answer'}")

    def report(self) -> str:
        lines = [f"{'area':<34} tried  held"]
        for area, a in self.areas.items():
            lines.append(f"{area:<34} {a['tried']:>5} {a['held']:>5}")
            lines.extend(f"    not held: {f}" for f in a["failed"][:8])
        return "\n".join(lines)


def cli(lib: Path, *args: str) -> tuple[int, str, BaseException | None]:
    """The CLI in-process; returns (exit code, output, uncaught exception)."""
    from click.testing import CliRunner

    from hourlens.cli import cli as group

    res = CliRunner().invoke(group, ["--library", str(lib), *args], catch_exceptions=True)
    exc = res.exception if not isinstance(res.exception, SystemExit) else None
    return res.exit_code, res.output, exc


def cli_child(lib: Path, *args: str, timeout: float = 90) -> tuple[int, str] | str:
    """The CLI in a child process (for what could hang); "hang" when it times out."""
    code = "from hourlens.cli import main; main()"
    try:
        out = subprocess.run(
            [sys.executable, "-c", code, "--library", str(lib), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**os.environ, **QUICK},
            check=False,
        )
    except subprocess.TimeoutExpired:
        return "hang"
    return out.returncode, out.stdout + out.stderr


def clean(code: int, out: str, exc: BaseException | None) -> bool | str:
    if exc is not None:
        return f"raised {type(exc).__name__}: {str(exc)[:120]}"
    if "Traceback" in out:
        return "traceback printed"
    return True if code != 0 else "exit 0"
