"""The web player served by ``hourlens serve`` at ``/``: library, video page, search and an
ask/chat panel, as plain ES modules and CSS shipped in the package (no CDN, no Node).

Routes (see :mod:`.routes`): ``/`` and ``/static/*`` (the page); ``POST /login``,
``POST /logout`` and ``GET /session`` (the session cookie); ``GET /videos/{video}/stream``
(HTTP Range); ``GET /videos/{video}/ocr``; ``POST /ask/stream`` (Server-Sent Events).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .routes import CONTENT_SECURITY_POLICY, STATIC_DIR, WebConfig, build_router
from .stream import ByteRange, RangeNotSatisfiable, parse_range

if TYPE_CHECKING:
    from ...library import Library

__all__ = [
    "CONTENT_SECURITY_POLICY",
    "STATIC_DIR",
    "ByteRange",
    "RangeNotSatisfiable",
    "WebConfig",
    "build_router",
    "install_web",
    "parse_range",
]


def install_web(app: Any, library: Library, *, token: str | None = None) -> None:
    """Add the web player's routes to ``app`` (the REST API's FastAPI app)."""
    app.include_router(build_router(library, token=token))
