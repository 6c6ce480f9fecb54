"""The REST API on a real uvicorn (127.0.0.1, random port), driven by httpx."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

pytest.importorskip("fastapi")  # the "serve" extra
pytest.importorskip("uvicorn")

import httpx  # noqa: E402
from agent_fixtures import toy_models  # noqa: E402
from click.testing import CliRunner  # noqa: E402
from live_server import LiveServer, build_library, free_port  # noqa: E402

from hourlens import Library  # noqa: E402
from hourlens.cli import cli  # noqa: E402
from hourlens.cli.serve import register  # noqa: E402
from hourlens.integrations.rest import create_app  # noqa: E402
from hourlens.integrations.rest_guard import (  # noqa: E402
    MAX_BODY_BYTES,
    MAX_QUERY_BYTES,
    is_loopback,
)

if "serve" not in cli.commands:  # until the lead wires register(cli) into hourlens.cli
    register(cli)

TOKEN = "s3cret-token"


@pytest.fixture(scope="module")
def lib_dir(tmp_path_factory):
    return build_library(tmp_path_factory.mktemp("restlib"))


@pytest.fixture(scope="module")
def roots(tmp_path_factory):
    root = tmp_path_factory.mktemp("videos")
    (root / "broken.mp4").write_bytes(b"not a video")
    return root


@pytest.fixture(scope="module")
def api(lib_dir, roots):
    with (
        Library(lib_dir, llm="none", models=toy_models()) as lib,
        LiveServer(create_app(lib, index_roots=[roots])) as srv,
        httpx.Client(base_url=srv.url, timeout=20) as client,
    ):
        yield client


@pytest.fixture(scope="module")
def auth_api(lib_dir):
    with (
        Library(lib_dir, llm="none", models=toy_models()) as lib,
        LiveServer(create_app(lib, token=TOKEN)) as srv,
        httpx.Client(base_url=srv.url, timeout=20) as client,
    ):
        yield client


def error_of(res, status, code=None):
    assert res.status_code == status, res.text
    assert res.headers["content-type"].startswith("application/json")
    err = res.json()["error"]
    assert set(err) == {"code", "message"} and err["message"]
    if code:
        assert err["code"] == code
    return err


def raw_get(client, raw_path: bytes):
    """GET with the path sent as is (httpx would normalise ``..``)."""
    url = httpx.URL(str(client.base_url), raw_path=raw_path)
    return client.send(client.build_request("GET", url))


def test_videos_list_and_detail(api):
    videos = api.get("/videos").json()
    assert [v["path"].rsplit("/", 1)[-1] for v in videos] == ["lecture.mp4", "second.mp4"]
    assert {"id", "path", "duration", "status", "encoder"} <= set(videos[0])
    detail = api.get(f"/videos/{videos[0]['id']}").json()
    assert len(detail["segments"]) == 10 and len(detail["keyframes"]) == 10
    assert [c["title"] for c in detail["chapters"]] == ["Introduction", "Closing"]
    assert api.get("/videos/lecture.mp4").json()["id"] == detail["id"]
    assert api.get("/videos", params={"status": "failed"}).json() == []


def test_unknown_ids_and_routes_are_clean_json_errors(api):
    error_of(api.get("/videos/999"), 404, "not_indexed")
    error_of(api.get("/videos/nope.mp4/transcript"), 404, "not_indexed")
    error_of(api.get("/videos/999/keyframes/0.jpg"), 404)
    error_of(api.get("/jobs/nope"), 404)
    error_of(api.get("/no/such/route"), 404, "not_found")
    error_of(api.delete("/videos"), 405)
    error_of(api.get("/videos", params={"status": "x"}), 422, "invalid_request")


def test_transcript(api):
    lines = api.get("/videos/lecture.mp4/transcript", params={"start": 80, "end": 110}).json()
    assert [ln["text"] for ln in lines] == [
        "Please hold while I try that extension.",
        "The coffee is ready in the kitchen.",
    ]
    assert len(api.get("/videos/1/transcript").json()) == 5
    error_of(api.get("/videos/1/transcript", params={"start": 100, "end": 50}), 400)
    error_of(api.get("/videos/1/transcript", params={"start": -1}), 422)


def test_keyframes_and_traversal(api):
    res = api.get("/videos/1/keyframes/0.jpg")
    assert res.status_code == 200 and res.headers["content-type"] == "image/jpeg"
    assert res.content[:2] == b"\xff\xd8"
    error_of(api.get("/videos/1/keyframes/10.jpg"), 404)
    # a name that is not exactly ASCII digits + ".jpg" fails the declared pattern: 422
    for name in ["0.png", "0.jpg%0a", "%D9%A0.jpg", "%EF%BC%90.jpg", "+0.jpg", "%200.jpg"]:
        res = raw_get(api, f"/videos/1/keyframes/{name}".encode())
        error_of(res, 422, "invalid_request")
    for raw in [
        b"/videos/1/keyframes/../../../../etc/passwd",
        b"/videos/1/keyframes/..%2F..%2F..%2Fetc%2Fpasswd",
        b"/videos/1/keyframes/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        b"/videos/1/keyframes/%2Fetc%2Fpasswd",
        b"/videos/1/keyframes//etc/passwd",
        b"/videos/1/keyframes/%2e%2e",
        b"/videos/%2Fetc%2Fpasswd",
        b"/videos/..%2F..%2Flibrary.db",
        b"/videos/1/keyframes/0.jpg%00.png",
        b"/../../etc/passwd",
        b"/%2e%2e/%2e%2e/etc/passwd",
    ]:
        res = raw_get(api, raw)
        assert res.status_code in (404, 422), (raw, res.status_code, res.text[:200])
        error_of(res, res.status_code)
        assert b"root:" not in res.content


def test_keyframe_rows_pointing_outside_the_library_are_not_served(tmp_path):
    lib_dir = build_library(tmp_path)
    secret = tmp_path / "secret.jpg"
    secret.write_bytes(b"\xff\xd8 not for you")
    with sqlite3.connect(lib_dir / "library.db") as db:
        db.execute("UPDATE keyframes SET path = ?", (os.path.relpath(secret, lib_dir),))
    with Library(lib_dir, llm="none") as lib, LiveServer(create_app(lib)) as srv:
        res = httpx.get(f"{srv.url}/videos/1/keyframes/0.jpg")
    error_of(res, 404)
    assert b"not for you" not in res.content


def test_search(api):
    hits = api.get("/search", params={"q": "cat", "k": 3}).json()
    assert 0 < len(hits) <= 3
    assert set(hits[0]) == {"video", "start", "end", "score", "kind", "text"}
    only = api.get("/search", params={"q": "rocket", "video": "second.mp4"}).json()
    assert only and all(h["video"].endswith("second.mp4") for h in only)
    error_of(api.get("/search"), 422, "invalid_request")
    error_of(api.get("/search", params={"q": "x" * 501}), 422)
    error_of(api.get("/search", params={"q": "cat", "k": 0}), 422)
    error_of(api.get("/search", params={"q": "cat", "video": "nope.mp4"}), 404)
    error_of(api.get("/search", params={"q": "a", "pad": "y" * (MAX_QUERY_BYTES + 1)}), 414)


def test_concurrent_requests(api):
    expected = api.get("/search", params={"q": "rocket", "k": 5}).json()
    paths = ["/search?q=rocket&k=5", "/videos", "/videos/1/transcript", "/videos/2"] * 6
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(api.get, paths))
    assert all(r.status_code == 200 for r in results)
    assert all(r.json() == expected for r in results[0::4])


def test_ask_matches_the_cli_json(api, lib_dir):
    body = {"question": "What is said at about 01:27?", "video": "lecture.mp4"}
    out = api.post("/ask", json=body).json()
    with Library(lib_dir, llm="none", models=toy_models()) as lib:
        expected = lib.ask(body["question"], video="lecture.mp4").to_dict()
    assert set(out) == {"answer", "confidence", "citations", "steps"}
    assert {k: out[k] for k in ("answer", "confidence", "citations")} == {
        k: expected[k] for k in ("answer", "confidence", "citations")
    }
    assert [s["node"] for s in out["steps"]] == [s["node"] for s in expected["steps"]]
    follow = api.post(
        "/ask",
        json={
            "question": "and what is said right after that?",
            "video": "lecture.mp4",
            "history": [{"question": body["question"], **out}],
        },
    )
    assert "The coffee is ready in the kitchen." in follow.json()["answer"]


def test_ask_errors(api):
    error_of(api.post("/ask", json={"question": "What?", "video": "nope.mp4"}), 404)
    error_of(api.post("/ask", json={"question": ""}), 422)
    error_of(api.post("/ask", json={"video": "lecture.mp4"}), 422)
    error_of(
        api.post("/ask", content=b"{not json", headers={"content-type": "application/json"}), 422
    )
    error_of(api.post("/ask", json={"question": "x", "history": [{"question": "q"}]}), 422)


def test_oversized_bodies_are_refused(api):
    big = {"question": "x" * (MAX_BODY_BYTES + 1)}
    error_of(api.post("/ask", json=big), 413, "payload_too_large")

    def chunks():  # no Content-Length: counted while streaming
        for _ in range(MAX_BODY_BYTES // 4096 + 2):
            yield b" " * 4096

    error_of(api.post("/ask", content=chunks(), headers={"content-type": "application/json"}), 413)


def test_index_jobs_and_roots(api, roots, tmp_path):
    error_of(api.post("/index", json={"paths": [str(tmp_path)]}), 403, "path_not_allowed")
    error_of(api.post("/index", json={"paths": ["relative/dir"]}), 403)
    error_of(api.post("/index", json={"paths": [f"{roots}/../../etc"]}), 403)
    link = roots / "escape"
    if not link.exists():
        link.symlink_to(tmp_path, target_is_directory=True)
    error_of(api.post("/index", json={"paths": [str(link)]}), 403)
    error_of(api.post("/index", json={"paths": []}), 422)
    res = api.post("/index", json={"paths": [str(roots / "broken.mp4")]})
    assert res.status_code == 202, res.text
    job = res.json()
    assert job["status"] in ("queued", "running", "done")
    deadline = time.monotonic() + 15
    while job["status"] in ("queued", "running") and time.monotonic() < deadline:
        time.sleep(0.1)
        job = api.get(f"/jobs/{job['id']}").json()
    assert job["status"] == "done", job
    assert job["progress"]["files"] == 1 and job["progress"]["done"] == 1
    (result,) = job["results"]
    assert result["status"] == "failed" and "broken.mp4" in result["error"]
    assert any(j["id"] == job["id"] for j in api.get("/jobs").json())


def test_openapi_docs(api):
    assert api.get("/docs").status_code == 200
    paths = api.get("/openapi.json").json()["paths"]
    for p in (
        "/videos",
        "/videos/{video}",
        "/search",
        "/ask",
        "/index",
        "/jobs/{job_id}",
        "/videos/{video}/transcript",
        "/videos/{video}/keyframes/{name}",
    ):
        assert p in paths


def test_auth_required_when_a_token_is_set(auth_api):
    err = error_of(auth_api.get("/videos"), 401, "unauthorized")
    assert "Bearer" in err["message"]
    assert auth_api.get("/videos").headers["www-authenticate"] == "Bearer"
    error_of(auth_api.get("/videos", headers={"Authorization": "Bearer wrong"}), 401)
    error_of(auth_api.get("/videos", headers={"Authorization": TOKEN}), 401)
    error_of(auth_api.post("/ask", json={"question": "x" * 100_000}), 401)  # auth first
    ok = {"Authorization": f"Bearer {TOKEN}"}
    videos = auth_api.get("/videos", params={"status": "indexed"}, headers=ok).json()
    assert len(videos) == 2
    assert auth_api.get("/search", params={"q": "cat"}, headers=ok).status_code == 200
    assert auth_api.get("/openapi.json").status_code == 200
    error_of(auth_api.post("/index", json={"paths": ["/tmp"]}, headers=ok), 403)


def test_non_loopback_host_needs_a_token(lib_dir, monkeypatch):
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5")
    monkeypatch.delenv("HOURLENS_API_TOKEN", raising=False)
    res = CliRunner().invoke(cli, ["--library", str(lib_dir), "serve", "--host", "0.0.0.0"])
    assert res.exit_code == 1 and "refusing to serve on 0.0.0.0" in res.stderr
    calls = []
    monkeypatch.setattr("hourlens.integrations.rest.serve", lambda lib, **kw: calls.append(kw))
    monkeypatch.setenv("HOURLENS_API_TOKEN", TOKEN)
    res = CliRunner().invoke(
        cli, ["--library", str(lib_dir), "serve", "--host", "0.0.0.0", "--index-root", str(lib_dir)]
    )
    assert res.exit_code == 0, res.output
    assert calls[0]["token"] == TOKEN and calls[0]["host"] == "0.0.0.0"
    assert calls[0]["index_roots"] == [str(lib_dir)]


def test_serve_command_end_to_end(lib_dir):
    port = free_port()
    code = (
        "from hourlens.cli import cli; from hourlens.cli.serve import register\n"
        "'serve' in cli.commands or register(cli)\ncli()"
    )
    env = {**os.environ, "HOURLENS_LLM": "none"}
    env.pop("HOURLENS_API_TOKEN", None)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            code,
            "--library",
            str(lib_dir),
            "serve",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                res = httpx.get(f"http://127.0.0.1:{port}/videos", timeout=5)
                break
            except httpx.TransportError:
                assert proc.poll() is None and time.monotonic() < deadline, (
                    proc.stderr.read().decode() if proc.poll() is not None else "timeout"
                )
                time.sleep(0.2)
        assert {1, 2} <= {v["id"] for v in res.json()}
        assert json.loads(httpx.get(f"http://127.0.0.1:{port}/videos/1/transcript").text)
    finally:
        proc.terminate()
        proc.wait(10)
