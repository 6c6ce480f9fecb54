#!/usr/bin/env python3
"""Time README command 1 (install + demo) on a fresh clone, as a new user runs it.

    python bench/first_answer.py DEST [--repo PATH] [--keep]

Clones ``--repo`` (default: this checkout's repository) into ``DEST``, takes the first
``sh`` block of README.md's "Quick start" (command 1) exactly as written and runs it with
``bash -c`` in the clone, with fresh caches: ``XDG_CACHE_HOME`` (pip's, uv's and the
models' default cache) and ``HOURLENS_CACHE`` under ``DEST/.fresh-cache``; nothing else of
the environment changes (the machine's pip configuration is what a user has). Every output
line is printed with the seconds since the start; the 1-minute load average is sampled
every 5 s. The last line is one JSON object: total seconds, return code, the first answer's
time (the first line of the search's output), load average (start, mean, max, end) and the
phase times (the lines the setup and the demo print). ``DEST`` is removed at the end
unless ``--keep``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path


def readme_command(readme: Path) -> str:
    """The first ``sh`` code block of README.md, joined into one command line."""
    text = readme.read_text(encoding="utf-8")
    m = re.search(r"```sh\n(.*?)```", text, flags=re.S)
    if not m:
        sys.exit(f"{readme}: no ```sh block")
    return m.group(1).replace("\\\n", " ").strip()


class LoadSampler(threading.Thread):
    """Samples the 1-minute load average every ``every`` seconds until stopped."""

    def __init__(self, every: float = 5.0) -> None:
        super().__init__(daemon=True)
        self.every = every
        self.samples: list[float] = [os.getloadavg()[0]]
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.wait(self.every):
            self.samples.append(os.getloadavg()[0])

    def stop(self) -> dict[str, float]:
        self._done.set()
        self.join()
        self.samples.append(os.getloadavg()[0])
        s = self.samples
        return {
            "start": round(s[0], 2),
            "mean": round(sum(s) / len(s), 2),
            "max": round(max(s), 2),
            "end": round(s[-1], 2),
        }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dest", type=Path)
    ap.add_argument("--repo", default=str(Path(__file__).resolve().parents[1]))
    ap.add_argument("--keep", action="store_true", help="keep DEST afterwards")
    args = ap.parse_args()
    dest: Path = args.dest.resolve()
    if dest.exists():
        sys.exit(f"{dest} exists")

    sampler = LoadSampler()
    sampler.start()
    t0 = time.perf_counter()
    subprocess.run(["git", "clone", "-q", args.repo, str(dest)], check=True)
    head = subprocess.run(
        ["git", "-C", str(dest), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    cmd = readme_command(dest / "README.md")
    print(f"[{time.perf_counter() - t0:7.1f}s] cloned {head}; running: {cmd}", flush=True)

    cache = dest / ".fresh-cache"
    env = dict(os.environ)
    env.pop("VIRTUAL_ENV", None)
    env["PATH"] = os.pathsep.join(
        p for p in env.get("PATH", "").split(os.pathsep) if "/.venv/" not in p
    )
    env["XDG_CACHE_HOME"] = str(cache)
    env["HOURLENS_CACHE"] = str(cache / "hourlens")
    env.pop("HOURLENS_HOME", None)

    phases: list[tuple[float, str]] = []
    proc = subprocess.Popen(
        ["bash", "-c", cmd],
        cwd=dest,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        bufsize=1,
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        sec = time.perf_counter() - t0
        line = line.rstrip("\n")
        # progress bars redraw with \r: keep the last state of the line
        line = line.split("\r")[-1]
        phases.append((sec, line))
        print(f"[{sec:7.1f}s] {line}", flush=True)
    rc = proc.wait()
    total = time.perf_counter() - t0
    load = sampler.stop()

    # a search hit: "[MM:SS–MM:SS]  0.1234  kind  video ..."
    hit = re.compile(r"^\[?\d[\d:]*[–-]\d[\d:]*\]?\s+-?\d+\.\d{4}\s")
    search_at = next((sec for sec, line in phases if hit.match(line)), None)
    result = {
        "head": head,
        "rc": rc,
        "total_s": round(total, 1),
        "first_hit_s": None if search_at is None else round(search_at, 1),
        "load": load,
        "lines": [[round(s, 1), ln[:120]] for s, ln in phases if ln.strip()][:80],
    }
    if not args.keep:
        shutil.rmtree(dest, ignore_errors=True)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
