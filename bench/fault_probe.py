"""Fault and fuzz probe of the installed tool (issue 14): hostile or careless input to the
CLI, REST, MCP and LangChain surfaces; prints tried / held per area.

A case *holds* when nothing hangs (timeouts), no traceback is printed or raised, no 5xx
is answered, and the answer is the right kind of refusal (see each area's rule below).
It runs against whatever ``hourlens`` this interpreter imports, so the same script gives
the figures before and after a change::

    python bench/fault_probe.py [--json OUT.json] [--schemathesis-examples 12]

Generated media only (``tests/media.py``); nothing outside a temporary folder is touched.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import logging
import os
import socket
import subprocess
import sys
import tempfile
import time
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


def make_media(root: Path) -> dict[str, Path]:
    import av
    from media import (
        make_audio_only,
        make_corrupt_middle,
        make_garbage_payload,
        make_jpeg,
        make_scene_video,
        make_text_file,
        make_truncated_mp4,
        make_zero_byte,
    )

    m: dict[str, Path] = {}
    m["good"] = root / "good.mp4"
    make_scene_video(
        m["good"],
        [(5.0, "hopper"), (5.0, "bars"), (5.0, "china"), (5.0, "checker")],
        fps=5,
        size=(160, 120),
    )
    fast = root / "faststart.mp4"
    with (
        av.open(str(m["good"])) as inp,
        av.open(str(fast), "w", options={"movflags": "faststart"}) as out,
    ):
        streams = {s.index: out.add_stream_from_template(s) for s in inp.streams}
        for pkt in inp.demux():
            if pkt.dts is not None:
                pkt.stream = streams[pkt.stream.index]
                out.mux(pkt)
    data = fast.read_bytes()
    for pct in (25, 50, 75):
        m[f"faststart_cut_{pct}"] = root / f"fast{pct}.mp4"
        m[f"faststart_cut_{pct}"].write_bytes(data[: len(data) * pct // 100])
    m["moov_lost_50"] = make_truncated_mp4(m["good"], root / "cut.mp4", 0.5)
    m["corrupt_middle"] = make_corrupt_middle(m["good"], root / "corrupt.mp4")
    m["garbage_payload"] = make_garbage_payload(m["good"], root / "garbage.mp4")
    m["text"] = make_text_file(root / "notes.mp4")
    m["zero"] = make_zero_byte(root / "zero.mp4")
    m["jpeg"] = make_jpeg(root / "still.mp4")
    m["audio_only"] = make_audio_only(root / "voice.mp4")
    m["random"] = root / "random.mp4"
    m["random"].write_bytes(os.urandom(50_000))
    m["html"] = make_text_file(root / "page.mp4", "<html><body>not a video</body></html>\n")
    return m


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


def rest_probe(t: Tally, lib_dir: Path, roots: Path) -> None:
    import httpx
    from agent_fixtures import toy_models
    from live_server import LiveServer

    from hourlens import Library
    from hourlens.integrations.rest import create_app
    from hourlens.integrations.rest_guard import check_bind

    def no5xx(res: Any, ok: tuple[int, ...] = (400, 404, 422)) -> bool | str:
        return True if res.status_code in ok else f"{res.status_code} {res.text[:120]}"

    with (
        Library(lib_dir, llm="none", models=toy_models()) as lib,
        LiveServer(create_app(lib, index_roots=[roots])) as srv,
        httpx.Client(base_url=srv.url, timeout=30) as c,
    ):
        for url in (
            "/videos/~nosuchuser",
            "/videos/~nosuchuser/transcript",
            "/search?q=cat&video=~nosuchuser",
        ):
            t.case("~nosuchuser", f"REST {url}", lambda u=url: no5xx(c.get(u)))
        t.case(
            "~nosuchuser",
            "REST POST /ask",
            lambda: no5xx(c.post("/ask", json={"question": "q?", "video": "~nosuchuser"})),
        )
        for ref in HUGE:
            for url in (
                f"/videos/{ref}",
                f"/videos/{ref}/transcript",
                f"/search?q=cat&video={ref}",
            ):
                t.case("numeric ids (REST)", url, lambda u=url: no5xx(c.get(u)))
        for name in ("0.jpg%0a", "%D9%A0.jpg", "%EF%BC%90.jpg", "0.jpg%00", "+0.jpg", "0.JPG"):
            url = httpx.URL(srv.url, raw_path=f"/videos/1/keyframes/{name}".encode())
            t.case(
                "keyframe names",
                name,
                lambda u=url: no5xx(c.send(c.build_request("GET", u)), (404, 422)),
            )
        t.case(
            "keyframe names",
            "0.jpg (control)",
            lambda: c.get("/videos/1/keyframes/0.jpg").status_code == 200,
        )
        for raw in (
            b"/videos/1/keyframes/..%2F..%2Flibrary.db",
            b"/videos/..%2F..%2Fetc%2Fpasswd",
            b"/videos/1/keyframes/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
            b"/../../etc/passwd",
            b"/videos/%2Fetc%2Fpasswd/transcript",
            b"/static/..%2F..%2Fpyproject.toml",
        ):
            url = httpx.URL(srv.url, raw_path=raw)
            t.case(
                "path traversal (REST)",
                raw.decode(),
                lambda u=url: (
                    lambda r: (
                        r.status_code in (400, 404, 422)
                        and b"root:" not in r.content
                        or f"{r.status_code}"
                    )
                )(c.send(c.build_request("GET", u))),
            )
        for p in ("/etc", "/", str(roots.parent), "relative/x.mp4", str(roots) + "/../x"):
            t.case(
                "out-of-root POST /index",
                p,
                lambda q=p: no5xx(c.post("/index", json={"paths": [q]}), (403, 422)),
            )
        t.case(
            "transcript range",
            "start > end",
            lambda: no5xx(c.get("/videos/1/transcript", params={"start": 20, "end": 10})),
        )
        t.case(
            "transcript range",
            "history with an empty question",
            lambda: (
                c.post(
                    "/ask",
                    json={
                        "question": "and then?",
                        "video": "1",
                        "history": [{"question": "", "answer": "", "citations": []}],
                    },
                ).status_code
                == 200
                or "rejected"
            ),
        )

    def refused() -> bool | str:
        try:
            check_bind("0.0.0.0", None)
        except Exception as exc:  # noqa: BLE001
            return "refusing" in str(exc) or str(exc)
        return "served on 0.0.0.0 without a token"

    t.case("bind and bearer", "0.0.0.0 without token", refused)
    with (
        Library(lib_dir, llm="none", models=toy_models()) as lib,
        LiveServer(create_app(lib, token="s3cret")) as srv,
        httpx.Client(base_url=srv.url, timeout=30) as c,
    ):
        for hdr in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic s3cret"}):
            t.case(
                "bind and bearer",
                f"token {hdr or 'none'}",
                lambda h=hdr: c.get("/videos", headers=h).status_code == 401,
            )
        t.case(
            "bind and bearer",
            "right token",
            lambda: c.get("/videos", headers={"Authorization": "Bearer s3cret"}).status_code == 200,
        )


def schemathesis_probe(
    t: Tally, lib_dir: Path, roots: Path, examples: int, python: str = sys.executable
) -> None:
    from agent_fixtures import toy_models
    from live_server import LiveServer

    from hourlens import Library
    from hourlens.integrations.rest import create_app

    config = HERE.parent / "tests" / "schemathesis.toml"
    with (
        Library(lib_dir, llm="none", models=toy_models()) as lib,
        LiveServer(create_app(lib, index_roots=[roots])) as srv,
        tempfile.TemporaryDirectory() as cwd,
    ):
        args = [python, "-m", "schemathesis.cli"]
        if config.exists():
            args += ["--config-file", str(config)]
        args += [
            "run",
            f"{srv.url}/openapi.json",
            "--checks",
            "all",
            "--max-examples",
            str(examples),
            "--seed",
            "20260101",
            "--suppress-health-check",
            "all",
            "--no-color",
        ]
        out = subprocess.run(args, capture_output=True, text=True, cwd=cwd, timeout=600)
    text = out.stdout + out.stderr
    generated = failures = 0
    for ln in text.splitlines():
        words = ln.split()
        if len(words) > 1 and words[0].isdigit() and words[1].rstrip(",") == "generated":
            generated = int(words[0])  # "489 generated, 1 found 1 unique failure" or
            if "found" in words:  # "489 generated, 489 passed"
                failures = int(words[words.index("found") + 1])
    if not generated:
        raise RuntimeError(f"schemathesis did not run: {text[-300:]!r}")
    area = t.areas.setdefault("OpenAPI (schemathesis cases)", {"tried": 0, "held": 0, "failed": []})
    area["tried"] += generated
    area["held"] += generated - failures
    if failures:
        codes = sorted({ln.strip() for ln in text.splitlines() if ln.strip().startswith("❌ ST")})
        area["failed"].extend(codes)


async def _mcp(lib_dir: Path) -> dict[str, Any]:
    from agent_fixtures import toy_models
    from mcp import Client

    from hourlens import Library
    from hourlens.integrations.mcp_server import build_mcp_server

    calls = {
        "unknown video": ("get_video_transcript", {"video": "nope.mp4"}),
        "placeholder video": ("search_video_memory", {"query": "cat", "video": "video_id"}),
        "~nosuchuser": ("ask_video", {"question": "What?", "video": "~nosuchuser"}),
        "empty query": ("search_video_memory", {"query": ""}),
        "blank query": ("search_video_memory", {"query": "   "}),
        "k = 0": ("search_video_memory", {"query": "cat", "k": 0}),
        "k = 10**9": ("search_video_memory", {"query": "cat", "k": 10**9}),
        "start > end": ("get_video_transcript", {"video": "1", "start": 20, "end": 10}),
    }
    calls.update({f"id {r}": ("get_video_transcript", {"video": r}) for r in HUGE})
    out: dict[str, Any] = {}
    with Library(lib_dir, llm="none", models=toy_models()) as lib:
        async with Client(build_mcp_server(lib)) as client:
            for key, (tool, args) in calls.items():
                out[key] = await client.call_tool(tool, args)
            for r in HUGE:
                try:
                    await client.read_resource(f"hourlens://videos/{r}")
                    out[f"resource {r}"] = "served"
                except Exception as exc:  # noqa: BLE001 - an MCP error is the right answer
                    out[f"resource {r}"] = exc
    return out


def mcp_probe(t: Tally, lib_dir: Path) -> None:
    buf = io.StringIO()
    handler = logging.StreamHandler(buf)
    logging.getLogger().addHandler(handler)
    try:
        out = asyncio.run(asyncio.wait_for(_mcp(lib_dir), timeout=300))
    finally:
        logging.getLogger().removeHandler(handler)
    for key, res in out.items():
        if key.startswith("resource"):
            ok = key.endswith(("١", "１")) and res == "served"
            t.case("MCP errors", key, lambda r=res, o=ok: not o and r != "served" or f"{r}")
            continue

        def judge(r: Any = res, k: str = key) -> bool | str:
            if not r.is_error:
                return "no error"
            text = r.content[0].text
            if (
                text.strip().startswith("Error executing tool")
                and ":" not in text.split("tool", 1)[1]
            ):
                return f"no reason: {text!r}"
            return True

        t.case("MCP errors", key, judge)
    t.case("MCP errors", "no traceback logged", lambda: "Traceback" not in buf.getvalue())


def agent_probe(t: Tally, lib_dir: Path) -> None:
    from agent_fixtures import toy_models

    from hourlens import Library
    from hourlens.integrations import as_langchain_tools

    with Library(lib_dir, llm="none", models=toy_models()) as lib:
        tools = {x.name: x for x in as_langchain_tools(lib)}
        for tool, args in (
            ("search_video_memory", {"query": "rocket", "video": "video_id"}),
            ("ask_video", {"question": "What is said?", "video": "video_id"}),
            ("ask_video", {"question": "What is said?", "video": "1234567890"}),
            ("get_video_transcript", {"video": "video_id"}),
        ):
            text = tools[tool].invoke(args)
            t.case(
                "agent tool errors",
                f"{tool} {args['video']}",
                lambda x=text: (
                    ("lecture.mp4" in x and "second.mp4" in x and " 1" in x)
                    or f"does not name the valid videos: {x[:120]!r}"
                ),
            )
        schema = json.dumps([x.args for x in tools.values()])
        t.case(
            "agent tool errors",
            "schemas free of a 'video_id' placeholder",
            lambda: "video_id" not in schema or "placeholder in schema",
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


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--json", type=Path, default=None, help="Also write the tally as JSON.")
    p.add_argument("--schemathesis-examples", type=int, default=12)
    p.add_argument(
        "--st-python",
        default=sys.executable,
        help="Python with schemathesis installed (default: this one).",
    )
    p.add_argument("--skip", nargs="*", default=[], help="Areas to skip: cli rest mcp st")
    args = p.parse_args()
    logging.getLogger("hourlens").setLevel(logging.CRITICAL)
    t = Tally()
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="hourlens-probe-") as tmp:
        root = Path(tmp)
        from live_server import build_library

        m = make_media(root)
        lib_dir = build_library(root / "synthetic")
        roots = root / "roots"
        roots.mkdir()
        if "cli" not in args.skip:
            probe_nonregular(t, root)
            probe_inputs(t, root, m)
            probe_ids_cli(t, probe_home(t, root, m))
            probe_truncated(t, root, m)
            small_probe(t, root, m)
        if "rest" not in args.skip:
            rest_probe(t, lib_dir, roots)
        if "mcp" not in args.skip:
            with contextlib.redirect_stderr(io.StringIO()):
                mcp_probe(t, lib_dir)
            agent_probe(t, lib_dir)
        if "st" not in args.skip:
            schemathesis_probe(t, lib_dir, roots, args.schemathesis_examples, args.st_python)
    print(t.report())
    print(f"({time.perf_counter() - t0:.0f} s)")
    if args.json:
        args.json.write_text(json.dumps(t.areas, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
