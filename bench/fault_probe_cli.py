"""Fault probe of the CLI: bad, non-regular and truncated input files, ``~user`` paths,
out-of-range numeric ids and smaller items (names with newlines, audio-only files)."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

from fault_probe_common import HUGE, Tally, clean, cli, cli_child


def probe_inputs(t: Tally, root: Path, m: dict[str, Path]) -> None:
    lib = root / "lib-inputs"
    bad = [
        "moov_lost_50",
        "garbage_payload",
        "text",
        "zero",
        "jpeg",
        "audio_only",
        "random",
        "html",
    ]
    for name in bad:
        t.case(
            "bad input files",
            name,
            lambda n=name: clean(*cli(lib, "index", "--no-progress", "--json", str(m[n]))),
        )
    code, out, exc = cli(lib, "index", "--json", "--no-progress", str(m["zero"]), str(m["good"]))
    t.case(
        "bad input files",
        "bad file beside a good one",
        lambda: exc is None and '"status": "indexed"' in out or "good file not indexed",
    )


def probe_nonregular(t: Tally, root: Path) -> None:
    lib = root / "lib-nonreg"
    fifo = root / "fifo.mp4"
    os.mkfifo(fifo)
    folder = root / "with-fifo"
    folder.mkdir()
    os.mkfifo(folder / "inner.mp4")
    (root / "dir.mp4").mkdir()
    loop = root / "loop.mp4"
    loop.symlink_to(loop)
    sock_path = root / "sock.mp4"
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(sock_path))

    def named(path: Path, must: str | None = None) -> bool | str:
        res = cli_child(lib, "index", "--no-progress", str(path))
        if res == "hang":
            return "hung (killed after 90 s)"
        code, out = res
        if "Traceback" in out:
            return "traceback printed"
        if code == 0:
            return f"exit 0: {out.strip()[-120:]!r}"
        if must and must not in out:
            return f"no {must!r} in {out.strip()[-160:]!r}"
        return True

    t.case("non-regular files", "FIFO named", lambda: named(fifo, "not a regular file"))
    t.case("non-regular files", "FIFO in a folder", lambda: named(folder))
    t.case("non-regular files", "socket named", lambda: named(sock_path, "not a regular file"))
    t.case("non-regular files", "/dev/null named", lambda: named(Path("/dev/null")))
    t.case("non-regular files", "dir.mp4 named", lambda: named(root / "dir.mp4", "dir.mp4"))
    t.case("non-regular files", "symlink loop named", lambda: named(loop, "loop"))
    sock.close()


def probe_home(t: Tally, root: Path, m: dict[str, Path]) -> Path:
    lib = root / "lib-home"
    code, out, exc = cli(lib, "index", "--no-progress", "~nosuchuser/v.mp4", str(m["good"]))
    t.case(
        "~nosuchuser",
        "index beside a good file",
        lambda: (
            (
                exc is None
                and "Traceback" not in out
                and f"{m['good'].name}" in out
                and "indexed" in out
            )
            or f"{exc!r} {out[-160:]!r}"
        ),
    )
    for cmd in (["show"], ["transcript"], ["remove"], ["search", "x", "--video"]):
        t.case("~nosuchuser", " ".join(cmd), lambda c=cmd: clean(*cli(lib, *c, "~nosuchuser")))
    return lib


def probe_ids_cli(t: Tally, lib: Path) -> None:
    for ref in HUGE:
        code, out, exc = cli(lib, "show", ref)
        t.case("numeric ids (CLI)", f"show {ref}", lambda c=code, o=out, e=exc: clean(c, o, e))


def probe_truncated(t: Tally, root: Path, m: dict[str, Path]) -> None:
    lib = root / "lib-trunc"
    for name in ("faststart_cut_25", "faststart_cut_50", "faststart_cut_75", "moov_lost_50"):
        code, out, exc = cli(lib, "index", "--json", "--no-progress", str(m[name]))

        def judge(c: int = code, o: str = out, e: BaseException | None = exc) -> bool | str:
            if e is not None:
                return f"raised {e!r}"
            lines = [json.loads(x) for x in o.splitlines() if x.startswith("{")]
            if not lines:
                return "no JSON line"
            ln = lines[0]
            if ln["status"] == "indexed":
                return f"reported indexed, duration {ln['duration']} (of 20 s)"
            return True if c != 0 else "exit 0"

        t.case("truncated files", name, judge)
    code, out, exc = cli(lib, "index", "--json", "--no-progress", str(m["good"]))
    t.case(
        "truncated files",
        "intact file (control)",
        lambda: code == 0 and '"status": "indexed"' in out or out[-200:],
    )


def small_probe(t: Tally, root: Path, m: dict[str, Path]) -> None:
    from media import make_audio_only

    lib = root / "lib-small"
    odd = root / "two\nlines.mp4"
    odd.write_bytes(m["good"].read_bytes())
    cli(lib, "index", "--no-progress", str(odd), str(m["good"]))
    code, out, exc = cli(lib, "list")
    t.case(
        "smaller items",
        "newline in a name: list",
        lambda: exc is None and len(out.strip().splitlines()) == 2 or repr(out[-200:]),
    )
    folder = root / "with-audio"
    folder.mkdir()
    make_audio_only(folder / "talk.m4a")
    (folder / "v.mp4").write_bytes(m["good"].read_bytes())
    code, out, exc = cli(lib, "index", "--no-progress", str(folder))
    t.case(
        "smaller items",
        "audio-only file in a folder mentioned",
        lambda: "audio" in out.lower() or f"not mentioned: {out.strip()[-120:]!r}",
    )
