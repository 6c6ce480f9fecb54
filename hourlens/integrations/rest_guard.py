"""Safety of the REST API: loopback binding, bearer tokens, request limits, JSON errors.

- :func:`check_bind`: a non-loopback host is refused unless an API token is set.
- :class:`Guard` (ASGI middleware): ``Authorization: Bearer <token>`` (or the web player's
  session cookie, see :func:`session_cookie`) when a token is set, a cap on the query
  string and on the request body (declared or streamed).
- :func:`install_error_handlers`: every error is ``{"error": {"code", "message"}}``.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
import os
from typing import Any

from ..errors import HourlensError, NotIndexedError, UnknownToolError

log = logging.getLogger("hourlens.rest")

ENV_TOKEN = "HOURLENS_API_TOKEN"
MAX_BODY_BYTES = 1 << 20
"""Largest request body: every body the schema allows fits (20 history turns of long
non-ASCII text included)."""
MAX_QUERY_BYTES = 16 * 1024
"""Longest query string: every query the schema allows fits, percent-encoded."""
OPEN_PATHS = frozenset(
    {"/docs", "/docs/oauth2-redirect", "/openapi.json", "/", "/login", "/logout", "/session"}
)
"""Served without a token: the API description and the web player's shell and login hold
no library data."""
OPEN_PREFIXES = ("/static/",)
"""Path prefixes served without a token (the web player's scripts and styles)."""
COOKIE_NAME = "hourlens_session"


def session_cookie(token: str) -> str:
    """The web player's session cookie value for ``token`` (an HMAC, not the token itself)."""
    return hmac.new(token.encode(), b"hourlens-web-session", hashlib.sha256).hexdigest()


def _cookie(headers: dict[bytes, bytes], name: str) -> bytes:
    for part in headers.get(b"cookie", b"").split(b";"):
        key, _, value = part.strip().partition(b"=")
        if key == name.encode():
            return value.strip()
    return b""


def _same_origin(headers: dict[bytes, bytes]) -> bool:
    """Whether a browser request comes from the server's own pages (or a typed address).

    The session cookie is SameSite=Strict, yet another port of the same host is the same
    *site*: ``Sec-Fetch-Site`` and ``Origin`` keep such pages from using the cookie.
    """
    site = headers.get(b"sec-fetch-site")
    if site is not None and site not in (b"same-origin", b"none"):
        return False
    origin = headers.get(b"origin")
    return origin is None or origin.partition(b"://")[2] == headers.get(b"host", b"")


_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    414: "uri_too_long",
    415: "unsupported_media_type",
    422: "invalid_request",
    500: "internal_error",
    503: "unavailable",
}


def error_body(status: int, message: str, code: str | None = None) -> dict[str, Any]:
    """The JSON body of an error response."""
    return {"error": {"code": code or _STATUS_CODES.get(status, "error"), "message": message}}


def token_from_env() -> str | None:
    """``HOURLENS_API_TOKEN`` (None when unset or blank)."""
    token = os.environ.get(ENV_TOKEN, "").strip()
    return token or None


def is_loopback(host: str) -> bool:
    """Whether ``host`` only accepts connections from this machine."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, token: str | None) -> None:
    """Refuse to serve on a non-loopback ``host`` without a token.

    Raises:
        HourlensError: ``host`` is reachable from other machines and ``token`` is unset.
    """
    if not is_loopback(host) and not token:
        raise HourlensError(
            f"refusing to serve on {host}: it is reachable from other machines; set "
            f"{ENV_TOKEN} to require 'Authorization: Bearer <token>', or bind to 127.0.0.1"
        )


class Guard:
    """ASGI middleware: bearer auth, query-string and body size limits.

    Args:
        app: The wrapped ASGI app.
        token: Required bearer token (None: no auth).
        max_body: Largest accepted request body in bytes.
        max_query: Longest accepted query string in bytes.
    """

    def __init__(
        self,
        app: Any,
        *,
        token: str | None = None,
        max_body: int = MAX_BODY_BYTES,
        max_query: int = MAX_QUERY_BYTES,
    ) -> None:
        self.app = app
        self.token = token
        self.max_body = max_body
        self.max_query = max_query

    async def _reply(
        self, send: Any, status: int, message: str, headers: list[tuple[bytes, bytes]] | None = None
    ) -> None:
        body = json.dumps(error_body(status, message)).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    *(headers or []),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    def _authorized(self, headers: dict[bytes, bytes]) -> bool:
        if not self.token:
            return True
        scheme, _, value = headers.get(b"authorization", b"").partition(b" ")
        if scheme.lower() == b"bearer" and hmac.compare_digest(value.strip(), self.token.encode()):
            return True
        cookie = _cookie(headers, COOKIE_NAME)
        valid = bool(cookie) and hmac.compare_digest(cookie, session_cookie(self.token).encode())
        return valid and _same_origin(headers)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        if len(scope.get("query_string", b"")) > self.max_query:
            await self._reply(send, 414, f"the query string is longer than {self.max_query} bytes")
            return
        path = scope.get("path", "")
        is_open = path in OPEN_PATHS or path.startswith(OPEN_PREFIXES)
        if not is_open and not self._authorized(headers):
            await self._reply(
                send,
                401,
                "missing or wrong 'Authorization: Bearer' token",
                [(b"www-authenticate", b"Bearer")],
            )
            return
        try:
            declared = int(headers.get(b"content-length", b"0") or 0)
        except ValueError:
            await self._reply(send, 400, "bad Content-Length header")
            return
        if declared > self.max_body:
            await self._reply(send, 413, f"the request body is larger than {self.max_body} bytes")
            return
        from starlette.exceptions import HTTPException

        seen = 0

        async def limited_receive() -> Any:
            # raised where the app reads the body: its error handlers turn it into JSON
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body:
                    raise HTTPException(
                        413, f"the request body is larger than {self.max_body} bytes"
                    )
            return message

        await self.app(scope, limited_receive, send)


def install_error_handlers(app: Any) -> None:
    """Make every error of ``app`` (a FastAPI app) a ``{"error": {...}}`` JSON response."""
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse
    from starlette.exceptions import HTTPException

    from .jobs import PathNotAllowedError

    def reply(
        status: int, message: str, code: str | None = None, headers: dict[str, str] | None = None
    ) -> JSONResponse:
        return JSONResponse(error_body(status, message, code), status_code=status, headers=headers)

    @app.exception_handler(HTTPException)
    async def http_error(request: Any, exc: HTTPException) -> JSONResponse:
        return reply(exc.status_code, str(exc.detail), headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Any, exc: RequestValidationError) -> JSONResponse:
        parts = []
        for err in exc.errors()[:5]:
            loc = ".".join(str(x) for x in err.get("loc", ()) if x != "body")
            parts.append(f"{loc}: {err.get('msg', 'invalid')}" if loc else err.get("msg", ""))
        return reply(422, "; ".join(parts) or "invalid request")

    @app.exception_handler(NotIndexedError)
    async def not_indexed(request: Any, exc: NotIndexedError) -> JSONResponse:
        return reply(404, str(exc), "not_indexed")

    @app.exception_handler(UnknownToolError)
    async def unknown_tool(request: Any, exc: UnknownToolError) -> JSONResponse:
        return reply(404, str(exc), "unknown_tool")

    @app.exception_handler(PathNotAllowedError)
    async def not_allowed(request: Any, exc: PathNotAllowedError) -> JSONResponse:
        return reply(403, str(exc), "path_not_allowed")

    @app.exception_handler(HourlensError)
    async def user_error(request: Any, exc: HourlensError) -> JSONResponse:
        return reply(400, str(exc))

    @app.exception_handler(ValueError)
    async def bad_value(request: Any, exc: ValueError) -> JSONResponse:
        return reply(400, str(exc))

    @app.exception_handler(Exception)
    async def crash(request: Any, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return reply(500, "internal error (see the server log)")
