"""JSON shapes shared by every "hourlens as a tool" surface (LangChain tools, MCP, REST).

They follow what the CLI prints with ``--json`` so scripts, agents and HTTP clients see
the same fields: :func:`answer_json` is ``hourlens ask --json``, :func:`hit_json` is one
item of ``hourlens search --json`` plus the matched ``text``, :func:`video_detail` is
``hourlens show --json`` plus chapters and keyframes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..types import Answer, Citation, Hit, TranscriptLine

if TYPE_CHECKING:
    from ..library import Library

MAX_HISTORY_TURNS = 20
_CITATION_KINDS = ("visual", "speech", "ocr", "caption")


def hit_json(hit: Hit) -> dict[str, Any]:
    """One search hit: ``{video, start, end, score, kind, text}``."""
    return {
        "video": hit.video,
        "start": round(hit.start, 3),
        "end": round(hit.end, 3),
        "score": round(hit.score, 6),
        "kind": hit.kind,
        "text": hit.text,
    }


def answer_json(ans: Answer) -> dict[str, Any]:
    """An answer exactly as ``hourlens ask --json`` prints it (:meth:`Answer.to_dict`)."""
    return ans.to_dict()


def transcript_json(lines: Iterable[TranscriptLine]) -> list[dict[str, Any]]:
    """Transcript lines: ``[{start, end, text}]``."""
    return [{"start": round(ln.start, 3), "end": round(ln.end, 3), "text": ln.text} for ln in lines]


def video_detail(library: Library, ref: str | int) -> dict[str, Any]:
    """``hourlens show --json`` of one video plus its ``chapters`` and ``keyframes``.

    Keyframes are listed by number (``n``, time order) and time, never by file path.

    Raises:
        NotIndexedError: Unknown video.
    """
    info = library.describe(ref)
    store = library.store
    vid = int(info["id"])
    if "chapters" not in info:
        info["chapters"] = [
            {
                "index": c.index,
                "start": round(c.start, 3),
                "end": round(c.end, 3),
                "title": c.title,
                "summary": c.summary,
            }
            for c in store.chapters(vid)
        ]
    info["keyframes"] = [
        {"n": n, "t": round(k.t, 3), "segment_id": k.segment_id}
        for n, k in enumerate(store.keyframes(vid))
    ]
    return info


def parse_history(items: Sequence[Mapping[str, Any]] | None) -> list[Any]:
    """Earlier turns given as JSON, ``[{question, answer, citations?}]``, as agent turns.

    Raises:
        ValueError: Too many turns, or a turn without ``question``/``answer`` strings.
    """
    from ..agent import Turn

    if not items:
        return []
    if len(items) > MAX_HISTORY_TURNS:
        raise ValueError(f"history has more than {MAX_HISTORY_TURNS} turns")
    turns = []
    for i, item in enumerate(items):
        q, a = item.get("question"), item.get("answer")
        if not isinstance(q, str) or not isinstance(a, str):
            raise ValueError(f"history[{i}] needs 'question' and 'answer' strings")
        cites = []
        try:
            for c in item.get("citations") or []:
                kind = c.get("kind")
                cites.append(
                    Citation(
                        video=str(c["video"]),
                        start=float(c["start"]),
                        end=float(c["end"]),
                        kind=kind if kind in _CITATION_KINDS else "visual",
                    )
                )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ValueError(f"history[{i}].citations need video, start and end") from exc
        turns.append(Turn(question=q, answer=a, citations=tuple(cites)))
    return turns


def video_summary(v: Any) -> dict[str, Any]:
    """A short line about a video for tool listings: ``{id, path, duration, status}``."""
    return {"id": v.id, "path": v.path, "duration": round(v.duration or 0.0, 3), "status": v.status}
