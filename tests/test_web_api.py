"""The web player's HTTP side on a real uvicorn: page and assets, CSP, Range streaming,
login cookie, on-screen text and the streaming ask endpoint."""

from __future__ import annotations

import json
import re

import pytest

pytest.importorskip("fastapi")  # the "serve" extra
pytest.importorskip("uvicorn")

import httpx  # noqa: E402
from agent_fixtures import toy_models  # noqa: E402
from live_server import LiveServer  # noqa: E402
from web_media import SLIDE, build_talk_library  # noqa: E402

from hourlens import Library  # noqa: E402
from hourlens.integrations.rest import create_app  # noqa: E402
from hourlens.integrations.rest_guard import COOKIE_NAME, session_cookie  # noqa: E402
from hourlens.integrations.web import STATIC_DIR, RangeNotSatisfiable, parse_range  # noqa: E402

TOKEN = "web-s3cret"


@pytest.fixture(scope="module")
def talk(tmp_path_factory):
    return build_talk_library(tmp_path_factory.mktemp("webapi"))


@pytest.fixture(scope="module")
def lib(talk):
    with Library(talk[0], llm="none", models=toy_models()) as library:
        yield library


@pytest.fixture(scope="module")
def api(lib):
    with LiveServer(create_app(lib)) as srv, httpx.Client(base_url=srv.url, timeout=30) as c:
        yield c


@pytest.fixture(scope="module")
def auth_api(lib):
    with (
        LiveServer(create_app(lib, token=TOKEN)) as srv,
        httpx.Client(base_url=srv.url, timeout=30) as c,
    ):
        yield c


def raw_get(client, raw_path: bytes):
    url = httpx.URL(str(client.base_url), raw_path=raw_path)
    return client.send(client.build_request("GET", url))


# -- range parsing -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header, expected",
    [
        (None, None),
        ("", None),
        ("bytes=0-99", (0, 99)),
        ("bytes=100-", (100, 999)),
        ("bytes=-50", (950, 999)),
        ("bytes=-5000", (0, 999)),
        ("bytes=990-5000", (990, 999)),
        ("bytes = 5 - 9", (5, 9)),
        ("items=0-5", None),
        ("bytes=0-1,5-9", None),
    ],
)
def test_parse_range(header, expected):
    r = parse_range(header, 1000)
    assert (r if r is None else (r.first, r.last)) == expected
    if r is not None:
        assert r.content_range() == f"bytes {r.first}-{r.last}/1000"


@pytest.mark.parametrize("header", ["bytes=1000-", "bytes=5-2", "bytes=-0", "bytes=x-1", "bytes=-"])
def test_parse_range_refuses(header):
    with pytest.raises(RangeNotSatisfiable):
        parse_range(header, 1000)


# -- page and assets -------------------------------------------------------------------------


def test_page_has_csp_and_no_inline_code(api):
    res = api.get("/")
    assert res.status_code == 200 and res.headers["content-type"].startswith("text/html")
    csp = res.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "style-src 'self'" in csp
    assert "unsafe-inline" not in csp and "http" not in csp
    html = res.text
    # every script is an external same-origin file; no inline handlers or styles
    opening = re.findall(r"<script[^>]*>", html)
    assert len(re.findall(r"<script[^>]*>\s*</script>", html)) == len(opening) >= 1
    assert all('src="/static/' in s for s in opening)
    assert not re.search(r"\son[a-z]+=", html) and "style=" not in html and "<style" not in html
    for hook in ('id="search"', 'id="ask"', 'id="answer"'):
        assert hook in html
    assert api.get("/").headers["x-frame-options"] == "DENY"


def test_assets_served_from_the_package(api):
    names = sorted(p.relative_to(STATIC_DIR).as_posix() for p in STATIC_DIR.rglob("*.js"))
    assert "js/main.js" in names and "js/api.js" in names
    for name in names:
        res = api.get(f"/static/{name}")
        assert res.status_code == 200 and res.headers["content-type"].startswith("text/javascript")
        assert "innerHTML" not in res.text  # text goes in as text nodes only
        assert "http://" not in res.text and "https://" not in res.text  # no CDN
        assert res.headers["content-security-policy"]
    for name in re.findall(r"from '\./([\w]+\.js)'", api.get("/static/js/main.js").text):
        assert f"js/{name}" in names
    assert api.get("/static/app.css").headers["content-type"].startswith("text/css")
    for bad in ("nope.js", "index.html", "../routes.py", "js/../../routes.py"):
        assert api.get(f"/static/{bad}").status_code == 404
    assert raw_get(api, b"/static/../../stream.py").status_code == 404
    assert raw_get(api, b"/static/%2e%2e/routes.py").status_code == 404


# -- streaming ---------------------------------------------------------------------------


def test_stream_whole_file_and_ranges(api, talk):
    data = talk[1].read_bytes()
    size = len(data)
    whole = api.get("/videos/1/stream")
    assert whole.status_code == 200 and whole.content == data
    assert whole.headers["accept-ranges"] == "bytes"
    assert whole.headers["content-type"] == "video/mp4"
    assert int(whole.headers["content-length"]) == size
    for header, first, last in [
        ("bytes=0-99", 0, 99),
        ("bytes=1000-", 1000, size - 1),
        ("bytes=-500", size - 500, size - 1),
        (f"bytes={size - 10}-{size + 100}", size - 10, size - 1),
        ("bytes=123456-654321", 123456, 654321),
    ]:
        res = api.get("/videos/talk.mp4/stream", headers={"Range": header})
        assert res.status_code == 206, (header, res.text[:200])
        assert res.headers["content-range"] == f"bytes {first}-{last}/{size}"
        assert int(res.headers["content-length"]) == last - first + 1
        assert res.content == data[first : last + 1]


def test_stream_bad_ranges_are_416(api, talk):
    size = talk[1].stat().st_size
    for header in (f"bytes={size}-", "bytes=9-3", "bytes=abc", "bytes=-0"):
        res = api.get("/videos/1/stream", headers={"Range": header})
        assert res.status_code == 416, header
        assert res.headers["content-range"] == f"bytes */{size}"
        assert res.json()["error"]["code"] == "range_not_satisfiable"
    # another unit, or several ranges: the whole file (a server may ignore Range)
    assert api.get("/videos/1/stream", headers={"Range": "lines=1-2"}).status_code == 200
    assert api.get("/videos/1/stream", headers={"Range": "bytes=0-1,4-5"}).status_code == 200


def test_stream_serves_only_library_videos(api, tmp_path):
    outside = tmp_path / "secret.mp4"
    outside.write_bytes(b"secret")
    for path in (
        f"/videos/{outside}/stream",
        "/videos/999/stream",
        "/videos/secret.mp4/stream",
        "/videos/..%2F..%2Fetc%2Fpasswd/stream",
        f"/videos/{str(outside).replace('/', '%2F')}/stream",
    ):
        res = api.get(path)
        assert res.status_code == 404, path
        assert res.text != "secret"
    for raw in (b"/videos/../../../etc/passwd/stream", b"/videos/1/../../etc/passwd"):
        assert raw_get(api, raw).status_code == 404


def test_stream_of_a_gone_source_file_is_404_while_keyframes_remain(tmp_path):
    lib_dir, video, _ = build_talk_library(tmp_path)
    video.unlink()
    with (
        Library(lib_dir, llm="none", models=toy_models()) as lib,
        LiveServer(create_app(lib)) as srv,
        httpx.Client(base_url=srv.url) as c,
    ):
        res = c.get("/videos/1/stream")
        assert res.status_code == 404 and "gone" in res.json()["error"]["message"]
        assert c.get("/videos/1/keyframes/0.jpg").content[:2] == b"\xff\xd8"


# -- data endpoints ----------------------------------------------------------------------------


def test_ocr_items(api):
    assert api.get("/videos/1/ocr").json() == [{"start": 10.0, "end": 20.0, "text": SLIDE}]
    assert api.get("/videos/999/ocr").status_code == 404


def _events(text: str) -> list[tuple[str, dict]]:
    out = []
    for block in text.split("\n\n"):
        fields = dict(
            line.split(": ", 1) for line in block.splitlines() if not line.startswith(":")
        )
        if "event" in fields:
            out.append((fields["event"], json.loads(fields["data"])))
    return out


def test_ask_stream_sends_steps_then_the_answer(api):
    body = {"question": "When is the coffee mentioned?", "video": "1"}
    with api.stream("POST", "/ask/stream", json=body) as res:
        assert res.status_code == 200
        assert res.headers["content-type"].startswith("text/event-stream")
        events = _events(res.read().decode())
    names = [n for n, _ in events]
    assert names[-1] == "answer" and names.count("answer") == 1
    assert "step" in names and names.index("step") < names.index("answer")
    answer = events[-1][1]
    plain = api.post("/ask", json=body).json()
    assert answer["answer"] == plain["answer"] and answer["citations"] == plain["citations"]
    (cite,) = answer["citations"]
    assert cite["start"] == pytest.approx(22.0, abs=1) and cite["kind"] == "speech"
    steps = [d for n, d in events if n == "step"]
    assert [s["node"] for s in steps] == [s["node"] for s in answer["steps"]]
    # a follow-up with history is accepted
    follow = {**body, "question": "and after that?", "history": [{**body, **answer}]}
    with api.stream("POST", "/ask/stream", json=follow) as res:
        assert _events(res.read().decode())[-1][0] == "answer"


def test_ask_stream_errors(api):
    res = api.post("/ask/stream", json={"question": "hi", "video": "nope.mp4"})
    assert res.status_code == 404 and res.json()["error"]["code"] == "not_indexed"
    assert api.post("/ask/stream", json={"question": ""}).status_code == 422
    bad = {"question": "x", "history": [{"question": "q", "answer": "a", "citations": [{}]}]}
    assert api.post("/ask/stream", json=bad).status_code == 422  # citations need video, start, end
    # a blank question fails the declared schema (not only spaces) before any stream starts
    res = api.post("/ask/stream", json={"question": "   "})
    assert res.status_code == 422 and res.json()["error"]["code"] == "invalid_request"


def test_openapi_declares_the_web_endpoints(api):
    paths = api.get("/openapi.json").json()["paths"]
    stream = paths["/videos/{video}/stream"]["get"]
    assert {"200", "206", "404", "416"} <= set(stream["responses"])
    assert any(p["name"] == "range" and p["in"] == "header" for p in stream["parameters"])
    assert "text/event-stream" in paths["/ask/stream"]["post"]["responses"]["200"]["content"]
    assert {"/login", "/logout", "/videos/{video}/ocr"} <= set(paths)
    assert set(paths["/login"]) == {"post"} and set(paths["/session"]) == {"get"}
    assert "/" not in paths and not any(p.startswith("/static") for p in paths)


# -- token and cookie ----------------------------------------------------------------------------


def test_token_login_sets_an_httponly_strict_cookie(auth_api):
    assert auth_api.get("/").status_code == 200  # the shell and its assets need no token
    assert auth_api.get("/static/js/main.js").status_code == 200
    assert auth_api.get("/videos").status_code == 401
    assert auth_api.get("/videos/1/stream").status_code == 401
    assert auth_api.get("/session").json() == {"auth_required": True, "logged_in": False}
    assert auth_api.post("/login", json={"token": "wrong"}).status_code == 401
    res = auth_api.post("/login", json={"token": TOKEN})
    assert res.status_code == 204
    cookie = res.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE_NAME}={session_cookie(TOKEN)};")
    assert TOKEN not in cookie
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
    jar = {COOKIE_NAME: session_cookie(TOKEN)}
    base = str(auth_api.base_url)
    with httpx.Client(base_url=base, cookies=jar) as c:
        assert c.get("/videos").status_code == 200
        assert c.get("/videos/1/stream", headers={"Range": "bytes=0-9"}).status_code == 206
        # another origin (even another port of this host) cannot use the cookie
        for cross in (
            {"Origin": "http://127.0.0.1:1"},
            {"Origin": "http://evil.example"},
            {"Sec-Fetch-Site": "same-site"},
            {"Sec-Fetch-Site": "cross-site"},
        ):
            assert c.get("/videos", headers=cross).status_code == 401, cross
            res = c.post("/ask", json={"question": "hi"}, headers=cross)
            assert res.status_code == 401, cross
        own = {"Origin": base, "Sec-Fetch-Site": "same-origin"}
        assert c.get("/videos", headers=own).status_code == 200
        assert c.get("/session").json() == {"auth_required": True, "logged_in": True}
    with httpx.Client(base_url=base, cookies={COOKIE_NAME: "forged"}) as c:
        assert c.get("/videos").status_code == 401
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    assert auth_api.get("/videos", headers=bearer).status_code == 200
    logout = auth_api.post("/logout")
    assert logout.status_code == 204 and f'{COOKIE_NAME}=""' in logout.headers["set-cookie"]


def test_login_without_a_server_token_is_a_no_op(api):
    res = api.post("/login", json={"token": "anything"})
    assert res.status_code == 204 and "set-cookie" not in res.headers
    assert api.get("/session").json() == {"auth_required": False, "logged_in": True}
