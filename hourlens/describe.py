"""The whole memory tree of one video, as ``hourlens show --json`` prints it.

video (summary) → chapters (title, summary) → segments (caption, tags, pixel facets,
on-screen text, transcript excerpt, memory count).
"""

from __future__ import annotations

from typing import Any

from .memory_store import Store


def _within(items: list[Any], start: float, end: float) -> list[Any]:
    return [it for it in items if it.start < end and it.end > start]


def segment_facets(store: Store, video_id: int) -> dict[int, dict[str, float]]:
    """Per segment id, the mean pixel facets of its feature memories (crops left out),
    rounded to two decimals; segments without visual rows are absent."""
    rows = store.visual_rows(video_id)
    sums: dict[int, dict[str, float]] = {}
    counts: dict[int, int] = {}
    for seg, src, facets in zip(rows.segment_ids, rows.sources, rows.facets, strict=True):
        if src != "memory" or not facets:
            continue
        acc = sums.setdefault(int(seg), {})
        for name, value in facets.items():
            acc[name] = acc.get(name, 0.0) + float(value)
        counts[int(seg)] = counts.get(int(seg), 0) + 1
    return {
        seg: {name: round(total / counts[seg], 2) for name, total in sorted(acc.items())}
        for seg, acc in sums.items()
    }


def describe_video(store: Store, ref: str | int, *, excerpt_chars: int = 240) -> dict[str, Any]:
    """Everything the library knows about one video, as a JSON-ready tree.

    Args:
        store: An open store.
        ref: Video id, path or unique file name.
        excerpt_chars: Transcript excerpt length per segment.

    Returns:
        The video record plus ``summary``, ``tags``, ``memories``, ``chapters`` (each with
        its ``segments``) and a flat ``segments`` list; each segment's ``facets`` are the
        mean pixel facets of its memories (``{"blue": 0.81, "sky": 0.62, ...}``, empty
        for a library indexed before facets).

    Raises:
        NotIndexedError: Unknown video.
    """
    v = store.resolve_video(ref)
    memories = store.memories(video_id=v.id, kind="feature")
    per_seg: dict[int, int] = {}
    for m in memories:
        per_seg[m.segment_id] = per_seg.get(m.segment_id, 0) + 1
    tags = [t for t in store.tags(v.id) if t.memory_id is None]
    seg_tags: dict[int, list[dict[str, Any]]] = {}
    weight: dict[str, float] = {}
    for t in tags:
        seg_tags.setdefault(t.segment_id, []).append({"label": t.label, "score": round(t.score, 4)})
        weight[t.label] = weight.get(t.label, 0.0) + t.score * (t.end - t.start)
    lines = store.transcript(v.id)
    ocr = store.ocr_items(v.id)
    facets = segment_facets(store, v.id)
    seg_caps = {c.segment_id: c.text for c in store.captions(v.id, level="segment")}
    video_caps = store.captions(v.id, level="video")
    segments = []
    for s in store.segments(v.id):
        said = " ".join(ln.text for ln in _within(lines, s.start, s.end))
        segments.append(
            {
                "index": s.index,
                "start": round(s.start, 3),
                "end": round(s.end, 3),
                "n_frames": s.n_frames,
                "memories": per_seg.get(s.id, 0),
                "depth": round(s.depth, 4),
                "alpha": round(s.alpha, 3),
                "tags": seg_tags.get(s.id, [])[:5],
                "facets": facets.get(s.id, {}),
                "caption": seg_caps.get(s.id),
                "ocr": [o.text for o in _within(ocr, s.start, s.end)],
                "transcript": said[:excerpt_chars] + ("…" if len(said) > excerpt_chars else ""),
            }
        )
    chapters = []
    for c in store.chapters(v.id):
        chapters.append(
            {
                "index": c.index,
                "start": round(c.start, 3),
                "end": round(c.end, 3),
                "title": c.title,
                "summary": c.summary,
                "segments": [s["index"] for s in segments if c.start <= s["start"] < c.end],
            }
        )
    top = sorted(weight.items(), key=lambda p: -p[1])[:10]
    return {
        **v.to_dict(),
        "summary": video_caps[0].text if video_caps else None,
        "memories": len(memories),
        "transcript_lines": len(lines),
        "ocr_items": len(ocr),
        "tags": [{"label": lab, "seconds": round(sec, 1)} for lab, sec in top],
        "chapters": chapters,
        "segments": segments,
    }
