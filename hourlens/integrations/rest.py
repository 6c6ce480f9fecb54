"""The REST API (FastAPI): ``hourlens serve``; OpenAPI docs at ``/docs``.

Endpoints: ``GET /videos``, ``GET /videos/{video}`` (segments, chapters, keyframes),
``GET /videos/{video}/transcript``, ``GET /videos/{video}/keyframes/{n}.jpg``,
``GET /search?q=``, ``POST /ask`` (the JSON of ``hourlens ask --json``), ``POST /index``
(a background job), ``GET /jobs/{id}``, and the typed memory tools: ``GET /tools`` and
``POST /tools/{name}`` (:mod:`hourlens.integrations.rest_tools`). ``{video}`` is an id or a
unique file name.

Safety (see :mod:`hourlens.integrations.rest_guard`): loopback by default, a bearer token when
``HOURLENS_API_TOKEN`` is set, only library files are served, request sizes are capped
and indexing is confined to the configured roots. Errors are
``{"error": {"code", "message"}}``.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import MissingDependencyError
from .jobs import IndexJobs
from .payloads import answer_json, hit_json, parse_history, transcript_json, video_detail
from .rest_guard import MAX_BODY_BYTES, Guard, check_bind, install_error_handlers
from .rest_models import (
    KEYFRAME_PATTERN,
    MAX_QUERY_CHARS,
    MAX_REF_CHARS,
    NOT_BLANK,
    AskRequest,
    IndexRequest,
    error_responses,
)
from .rest_tools import install_tool_routes
from .web import install_web

if TYPE_CHECKING:
    from ..library import Library

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
_KEYFRAME_NAME = re.compile(KEYFRAME_PATTERN[1:-1])  # fullmatch: no trailing newline
VIDEO_REF = "An id, a file name or a path (see GET /videos)."


def _fastapi() -> Any:
    try:
        import fastapi
    except ImportError as exc:
        raise MissingDependencyError("fastapi", extra="serve", purpose="the REST API") from exc
    return fastapi


def _keyframe_file(library: Library, video: str, name: str) -> str:
    """The JPEG of keyframe ``n`` (``name`` = ``"<n>.jpg"``) if it is a library file.

    Raises:
        HTTPException: 404 for a malformed name, an unknown number or a path outside the
            library folder.
    """
    from fastapi import HTTPException

    m = _KEYFRAME_NAME.fullmatch(name)
    v = library.video(video)
    frames = library.store.keyframes(v.id)
    n = int(name[: -len(".jpg")]) if m is not None else -1
    if not 0 <= n < len(frames):
        raise HTTPException(404, f"no keyframe {name!r} for video {v.id}")
    root = os.path.realpath(library.store.root)
    real = os.path.realpath(frames[n].path)
    if not real.startswith(root + os.sep) or not os.path.isfile(real):
        raise HTTPException(404, f"no keyframe {name!r} for video {v.id}")
    return real


def create_app(
    library: Library,
    *,
    token: str | None = None,
    index_roots: Iterable[str | Path] = (),
    max_body: int = MAX_BODY_BYTES,
) -> Any:
    """The FastAPI app serving ``library``.

    Args:
        library: An open library (its ``llm``/``models`` answer ``POST /ask``).
        token: Bearer token every request must carry (None: no auth).
        index_roots: Folders ``POST /index`` may index under (empty: indexing disabled).
        max_body: Largest accepted request body in bytes.

    Returns:
        A FastAPI application (``app.state.jobs`` holds the :class:`IndexJobs`).

    Raises:
        MissingDependencyError: fastapi is not installed.
    """
    fastapi = _fastapi()
    from fastapi import Path as Path_
    from fastapi import Query
    from fastapi.responses import FileResponse

    jobs = IndexJobs(library, index_roots)

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        yield
        jobs.close()

    app = fastapi.FastAPI(
        title="hourlens",
        version=_version(),
        lifespan=lifespan,
        description="Search and ask about indexed hour-long videos; answers cite time ranges.",
    )
    app.state.library, app.state.jobs = library, jobs
    app.add_middleware(Guard, token=token, max_body=max_body)
    install_error_handlers(app)
    install_web(app, library, token=token)

    video_path = Path_(..., min_length=1, max_length=MAX_REF_CHARS, description=VIDEO_REF)

    @app.get("/videos", summary="List the videos of the library", responses=error_responses())
    def list_videos(
        status: str | None = Query(None, pattern="^(indexing|indexed|partial|failed)$"),
    ) -> list[dict[str, Any]]:
        """Every video, like ``hourlens list --json`` (``partial``: a truncated file,
        indexed as far as it decodes and searchable; ``error`` says why)."""
        return [v.to_dict() for v in library.videos(status)]

    @app.get(
        "/videos/{video}",
        summary="One video: segments, chapters, tags, keyframes",
        responses=error_responses(400, 404),
    )
    def get_video(video: str = video_path) -> dict[str, Any]:
        """``hourlens show --json`` plus ``chapters`` and ``keyframes`` (``n``, ``t``)."""
        return video_detail(library, video)

    @app.get(
        "/videos/{video}/transcript",
        summary="What is said, optionally in a range",
        responses=error_responses(400, 404),
    )
    def get_transcript(
        video: str = video_path,
        start: float | None = Query(None, ge=0, description="From (seconds); at most end."),
        end: float | None = Query(
            None, ge=0, description="Up to (seconds); at least start (else 400)."
        ),
    ) -> list[dict[str, Any]]:
        """Transcript lines ``{start, end, text}`` overlapping ``[start, end]`` seconds
        (``start`` must not be after ``end``: 400)."""
        return transcript_json(library.transcript(video, start, end))

    @app.get(
        "/videos/{video}/keyframes/{name}",
        summary="Keyframe thumbnail n (JPEG)",
        response_class=FileResponse,
        responses={
            200: {"content": {"image/jpeg": {}}, "description": "The JPEG"},
            **error_responses(400, 404),
        },
    )
    def get_keyframe(
        video: str = video_path,
        name: str = Path_(..., pattern=KEYFRAME_PATTERN, description="<n>.jpg, n from 0"),
    ) -> Any:
        """The ``n``-th keyframe (time order, from 0) as ``/videos/{video}/keyframes/{n}.jpg``."""
        return FileResponse(_keyframe_file(library, video, name), media_type="image/jpeg")

    @app.get(
        "/search",
        summary="Find moments matching a description or phrase",
        responses=error_responses(400, 404),
    )
    def search(
        q: str = Query(..., min_length=1, max_length=MAX_QUERY_CHARS, pattern=NOT_BLANK),
        k: int = Query(10, ge=1, le=100),
        video: str | None = Query(None, min_length=1, max_length=MAX_REF_CHARS),
    ) -> list[dict[str, Any]]:
        """Hits ``{video, start, end, score, kind, text}``, best first."""
        return [hit_json(h) for h in library.search(q, k=k, video=video)]

    @app.post(
        "/ask",
        summary="Answer a question, citing time ranges",
        responses=error_responses(400, 404, 413),
    )
    def ask(body: AskRequest) -> dict[str, Any]:
        """The JSON of ``hourlens ask --json``: ``{answer, confidence, citations, steps}``."""
        history = parse_history([t.model_dump() for t in body.history])
        return answer_json(library.ask(body.question, video=body.video, history=history))

    @app.post(
        "/index",
        status_code=202,
        summary="Start indexing files or folders",
        responses=error_responses(400, 403, 413),
    )
    def index(body: IndexRequest) -> dict[str, Any]:
        """Queue a background job; poll ``GET /jobs/{id}`` for its progress."""
        return jobs.submit(body.paths, force=body.force).to_dict()

    install_tool_routes(app, library)

    @app.get("/jobs", summary="Indexing jobs, oldest first", responses=error_responses())
    def list_jobs() -> list[dict[str, Any]]:
        """Every kept job with its status and progress."""
        return [j.to_dict() for j in jobs.all()]

    @app.get(
        "/jobs/{job_id}",
        summary="Progress and results of an indexing job",
        responses=error_responses(404),
    )
    def get_job(job_id: str = Path_(..., min_length=1, max_length=64)) -> dict[str, Any]:
        """``{id, status, progress: {files, done, current, frames, ...}, results}``."""
        job = jobs.get(job_id)
        if job is None:
            raise fastapi.HTTPException(404, f"no job {job_id!r}")
        return job.to_dict()

    return app


def _version() -> str:
    from hourlens import __version__

    return __version__


def serve(
    library: Library,
    *,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    token: str | None = None,
    index_roots: Iterable[str | Path] = (),
    log_level: str = "info",
) -> None:
    """Run the REST API with uvicorn until interrupted.

    Raises:
        HourlensError: A non-loopback ``host`` without ``token``.
        MissingDependencyError: fastapi or uvicorn is not installed.
    """
    check_bind(host, token)
    app = create_app(library, token=token, index_roots=index_roots)
    try:
        import uvicorn
    except ImportError as exc:
        raise MissingDependencyError("uvicorn", extra="serve", purpose="the REST API") from exc
    uvicorn.run(app, host=host, port=port, log_level=log_level)
