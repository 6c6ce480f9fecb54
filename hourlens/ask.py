"""The one way in for a question: every surface asks through :func:`ask_video`.

The CLI (``hourlens ask`` / ``hourlens chat``), the Python API (``Library.ask``) and the
tool surfaces (LangChain/LangGraph tools, MCP, REST) resolve the videos here and hand the
question to the agent (:func:`hourlens.agent.ask`), which checks it; the answer's JSON is
:meth:`hourlens.types.Answer.to_dict` everywhere.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from .errors import NotIndexedError
from .types import READY_STATUSES, Answer, Step, TranscriptLine, Video

if TYPE_CHECKING:
    from .memory_store import Store

History = Sequence[Any]
"""Earlier turns: :class:`hourlens.agent.Turn` items or ``(question, Answer)`` pairs."""


def _turns(history: History | None) -> list[Any]:
    from .agent.state import Turn

    out: list[Turn] = []
    for h in history or []:
        if isinstance(h, Turn):
            out.append(h)
        else:
            question, answer = h
            out.append(Turn.of(question, answer))
    return out


def resolve_videos(store: Store, video: str | int | Video | None) -> list[Video]:
    """The videos a question is about: one (by id, path or unique file name) or all indexed.

    Raises:
        NotIndexedError: The video is unknown or unfinished, or the library has no indexed
            video.
    """
    if video is None:
        videos = store.videos(READY_STATUSES)
        if not videos:
            raise NotIndexedError(
                "the library has no indexed videos: add some with `hourlens index`"
            )
        return list(videos)
    v = video if isinstance(video, Video) else store.resolve_video(video)
    if not v.ready:
        raise NotIndexedError(f"{v.path} is not indexed yet (status: {v.status})")
    return [v]


def ask_video(
    store: Store,
    question: str,
    *,
    video: str | int | Video | None = None,
    history: History | None = None,
    llm: Any = None,
    config: Any = None,
    models: Any = None,
    on_step: Callable[[Step], None] | None = None,
) -> Answer:
    """Answer a question about one indexed video (or all of them), citing time ranges.

    Args:
        store: An open library store.
        question: Free text ("What is said at about 12:34?", "When is a cat shown?",
            "Which comes first: A or B?"...).
        video: One video (id, path or unique file name); None asks across every indexed
            video.
        history: Earlier turns of a conversation, for follow-ups ("and right after that?").
        llm: An LLM with ``complete_json``; None loads the configured one
            (``HOURLENS_LLM``, default the packaged offline model).
        config: An :class:`hourlens.agent.AgentConfig` (default: from the environment).
        models: An :class:`hourlens.agent.Models` (default: the shared lazily loaded ones).
        on_step: Called with each agent step as it finishes (tracing).

    Returns:
        ``Answer(answer, confidence, citations, steps)``; citations lie inside the video.

    Raises:
        NotIndexedError: ``video`` is not in the library (or not finished indexing).
        ValueError: ``question`` is empty.
    """
    from .agent import ask

    videos = resolve_videos(store, video)
    return ask(
        store,
        question,
        videos=videos,
        history=_turns(history),
        llm=llm,
        config=config,
        models=models,
        on_step=on_step,
    )


def get_video_transcript(
    store: Store, video: str | int | Video, start: float | None = None, end: float | None = None
) -> list[TranscriptLine]:
    """The transcript lines of an indexed video overlapping ``[start, end]``.

    Args:
        store: An open library store.
        video: Id, path or unique file name.
        start: Seconds (default: the beginning).
        end: Seconds (default: the end).

    Returns:
        Lines in time order (empty when the video has no speech or was indexed without
        speech recognition).

    Raises:
        NotIndexedError: The video is not in the library.
        ValueError: ``end`` is before ``start``.
    """
    if start is not None and end is not None and end < start:
        raise ValueError(f"end ({end}) is before start ({start})")
    (v,) = resolve_videos(store, video)
    return list(store.transcript(v.id, start, end))
