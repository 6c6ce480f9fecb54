"""The web player's routes: the page, its assets, login, video streaming, on-screen text
and a streaming ``POST /ask/stream`` (Server-Sent Events of the agent's steps).

The page itself (``/``, ``/static/*``) and ``/login`` carry no library data and are served
without a token; everything else goes through the REST guard, which accepts the session
cookie set by ``/login`` besides the bearer header.
"""

# No ``from __future__ import annotations`` here: FastAPI must see the request model
# (imported inside build_router, as rest.py imports this package) as a real class.
import asyncio
import hmac
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...config import from_env
from ...errors import HourlensError, NotIndexedError
from ..payloads import answer_json, parse_history
from ..rest_guard import COOKIE_NAME, error_body, session_cookie
from ..rest_models import error_responses
from .stream import RangeNotSatisfiable, stream_response, video_file

if TYPE_CHECKING:
    from ...library import Library

log = logging.getLogger("hourlens.web")

STATIC_DIR = Path(__file__).resolve().parent / "static"
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "media-src 'self'; connect-src 'self'; font-src 'self'; manifest-src 'self'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
"""No inline scripts or styles, nothing from another origin."""
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-cache",
}
_ASSET_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}


@dataclass(frozen=True, kw_only=True)
class WebConfig:
    """Web player settings (env ``HOURLENS_WEB_<FIELD>``)."""

    session_hours: float = 24.0 * 30
    """Lifetime of the login cookie."""
    login_delay: float = 0.5
    """Seconds a wrong token waits before its 401 (slows guessing)."""


def _error_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
            }
        },
    }


def _err(description: str) -> dict[str, Any]:
    content = {"application/json": {"schema": _error_schema()}}
    return {"description": description, "content": content}


_VIDEO_CONTENT = {
    t: {"schema": {"type": "string", "format": "binary"}}
    for t in ("video/mp4", "video/webm", "video/quicktime", "video/x-matroska",
              "application/octet-stream")
}  # fmt: skip


_SSE_EVENT = {
    "type": "object",
    "description": "One Server-Sent Event; `data` is JSON.",
    "required": ["event", "data"],
    "properties": {
        "event": {"type": "string", "enum": ["step", "answer", "error"]},
        "data": {"type": "string", "contentMediaType": "application/json"},
        "id": {"type": "string"},
        "retry": {"type": "integer"},
    },
}


_LOGIN_STATE = {
    "type": "object",
    "required": ["auth_required", "logged_in"],
    "properties": {"auth_required": {"type": "boolean"}, "logged_in": {"type": "boolean"}},
}


def assets() -> dict[str, Path]:
    """The packaged static files by URL path below ``/static/`` (a fixed allow-list)."""
    return {
        p.relative_to(STATIC_DIR).as_posix(): p
        for p in sorted(STATIC_DIR.rglob("*"))
        if p.is_file() and p.suffix in _ASSET_TYPES and p.name != "index.html"
    }


def _event(name: str, data: Any) -> str:
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def _error_event(exc: BaseException) -> dict[str, Any]:
    if isinstance(exc, NotIndexedError):
        return error_body(404, str(exc), "not_indexed")
    if isinstance(exc, HourlensError | ValueError):
        return error_body(400, str(exc))
    log.error("ask failed", exc_info=exc)
    return error_body(500, "internal error (see the server log)")


def build_router(library: "Library", *, token: str | None, config: WebConfig | None = None) -> Any:
    """The web player's FastAPI router over ``library``.

    Args:
        library: The open library the REST API serves.
        token: The API token (None: no login needed).
        config: Settings (default: from the environment).

    Returns:
        A ``fastapi.APIRouter``.
    """
    from fastapi import APIRouter, Body, Header, Request
    from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse

    from ..rest_models import AskRequest

    cfg = config or from_env(WebConfig, prefix="HOURLENS_WEB_")
    files = assets()
    router = APIRouter()

    @router.get("/", include_in_schema=False)
    def page() -> Any:
        return FileResponse(STATIC_DIR / "index.html", headers=PAGE_HEADERS)

    @router.get("/static/{name:path}", include_in_schema=False)
    def static(name: str) -> Any:
        path = files.get(name)
        if path is None:
            return JSONResponse(error_body(404, f"no asset {name!r}"), status_code=404)
        return FileResponse(path, media_type=_ASSET_TYPES[path.suffix], headers=PAGE_HEADERS)

    @router.post(
        "/login",
        status_code=204,
        response_model=None,
        summary="Web login: trade the API token for a session cookie",
        response_class=Response,
        responses={
            **error_responses(413),
            204: {"description": "Logged in (or no token needed)"},
            400: _err("Malformed body"),
            401: _err("Wrong token"),
        },
    )
    async def login(
        request: Request,
        token_given: str = Body(..., embed=True, alias="token", max_length=4096),
    ) -> Any:
        """Sets an HttpOnly, SameSite=Strict cookie that the API accepts like the bearer
        token (nothing is set when the server has no token)."""
        res = Response(status_code=204)
        if not token:
            return res
        if not hmac.compare_digest(token_given.strip().encode(), token.encode()):
            await asyncio.sleep(cfg.login_delay)
            return JSONResponse(error_body(401, "wrong token"), status_code=401)
        res.set_cookie(
            COOKIE_NAME,
            session_cookie(token),
            max_age=int(cfg.session_hours * 3600),
            path="/",
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
        return res

    @router.get(
        "/session",
        summary="Web login state: is a token needed, and does this browser have a session?",
        responses={
            200: {
                "description": "The login state",
                "content": {"application/json": {"schema": _LOGIN_STATE}},
            }
        },
    )
    def login_state(request: Request) -> dict[str, bool]:
        """``{auth_required, logged_in}`` (served without a token; it holds no data)."""
        if not token:
            return {"auth_required": False, "logged_in": True}
        cookie = request.cookies.get(COOKIE_NAME, "")
        valid = hmac.compare_digest(cookie.encode(), session_cookie(token).encode())
        return {"auth_required": True, "logged_in": valid and bool(cookie)}

    @router.post(
        "/logout",
        status_code=204,
        response_model=None,
        summary="Web logout: drop the session cookie",
        response_class=Response,
        responses={**error_responses(), 204: {"description": "Logged out"}},
    )
    def logout() -> Any:
        """Clears the session cookie."""
        res = Response(status_code=204)
        res.delete_cookie(COOKIE_NAME, path="/", httponly=True, samesite="strict")
        return res

    @router.get(
        "/videos/{video}/stream",
        summary="The video's source file, with HTTP Range requests",
        response_class=StreamingResponse,
        responses={
            **error_responses(400),
            200: {"description": "The whole file", "content": _VIDEO_CONTENT},
            206: {"description": "The requested byte range", "content": _VIDEO_CONTENT},
            404: _err("Unknown or unfinished video, or its source file is gone"),
            416: _err("Malformed or unsatisfiable byte range"),
        },
    )
    def stream(
        video: str,
        range_header: str | None = Header(None, alias="range", max_length=200),
    ) -> Any:
        """Only the source files of indexed videos, by id or unique file name."""
        path, media = video_file(library, video)
        try:
            return stream_response(path, media, range_header)
        except RangeNotSatisfiable as exc:
            import os

            return JSONResponse(
                error_body(416, str(exc), "range_not_satisfiable"),
                status_code=416,
                headers={"Content-Range": f"bytes */{os.path.getsize(path)}"},
            )

    @router.get(
        "/videos/{video}/ocr",
        summary="On-screen text items of a video",
        responses=error_responses(400, 404),
    )
    def ocr(video: str) -> list[dict[str, Any]]:
        """``[{start, end, text}]`` in time order: text read from the frames."""
        v = library.video(video)
        return [
            {"start": round(o.start, 3), "end": round(o.end, 3), "text": o.text}
            for o in library.store.ocr_items(v.id)
        ]

    @router.post(
        "/ask/stream",
        summary="Answer a question, streaming the agent's steps (Server-Sent Events)",
        response_class=StreamingResponse,
        responses={
            **error_responses(400, 413),
            200: {
                "description": "Events `step` ({node, detail, seconds}) as the agent works, "
                "then one `answer` (as POST /ask) or one `error` ({error: {code, message}}).",
                "content": {"text/event-stream": {"schema": _SSE_EVENT}},
            },
            400: _err("Bad history"),
            404: _err("Unknown video"),
        },
    )
    async def ask_stream(body: AskRequest) -> Any:
        """Like ``POST /ask``, with progress while the agent works."""
        if body.video is not None:
            library.video(body.video)  # unknown: a plain 404 before the stream starts
        history = parse_history([t.model_dump() for t in body.history])
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[str, Any] | None] = asyncio.Queue()

        def put(item: tuple[str, Any] | None) -> None:
            loop.call_soon_threadsafe(queue.put_nowait, item)

        def step(s: Any) -> None:
            put(("step", {"node": s.node, "detail": s.detail, "seconds": round(s.seconds, 3)}))

        def run() -> None:
            try:
                ans = library.ask(body.question, video=body.video, history=history, on_step=step)
                put(("answer", answer_json(ans)))
            except Exception as exc:  # reported to the page as an event
                put(("error", _error_event(exc)))
            finally:
                put(None)

        loop.run_in_executor(None, run)

        async def events() -> AsyncIterator[str]:
            yield ": started\n\n"
            while (item := await queue.get()) is not None:
                yield _event(*item)

        return StreamingResponse(
            events(),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    return router
