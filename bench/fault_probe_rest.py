"""Fault probe of the REST API: ``~user`` and out-of-range ids, keyframe names, path
traversal, out-of-root index requests, transcript ranges, bind and bearer token; and the
OpenAPI description fuzzed by schemathesis."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from fault_probe_common import HERE, HUGE, Tally


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
