"""Human formatting of times (MM:SS, spans, subtitle stamps) — core, used by every layer."""

from __future__ import annotations


def fmt_time(seconds: float) -> str:
    """``MM:SS`` (or ``H:MM:SS`` past an hour)."""
    s = int(round(max(seconds, 0.0)))
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m:02d}:{sec:02d}"


def fmt_span(start: float, end: float) -> str:
    """``[MM:SS–MM:SS]``."""
    return f"[{fmt_time(start)}–{fmt_time(end)}]"


def fmt_duration(seconds: float) -> str:
    """Same as :func:`fmt_time`; for durations."""
    return fmt_time(seconds)


def _stamp(seconds: float, sep: str) -> str:
    ms = int(round(max(seconds, 0.0) * 1000))
    h, rem = divmod(ms, 3_600_000)
    m, rem = divmod(rem, 60_000)
    s, ms = divmod(rem, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def transcript_as(lines: list, fmt: str) -> str:
    """Render transcript lines (objects with start, end, text) as txt, srt, vtt or json."""
    import json

    if fmt == "json":
        return json.dumps(
            [
                {"start": round(ln.start, 3), "end": round(ln.end, 3), "text": ln.text}
                for ln in lines
            ],
            ensure_ascii=False,
        )
    if fmt == "srt":
        return "\n".join(
            f"{i}\n{_stamp(ln.start, ',')} --> {_stamp(ln.end, ',')}\n{ln.text}\n"
            for i, ln in enumerate(lines, 1)
        ).rstrip("\n")
    if fmt == "vtt":
        body = "\n".join(
            f"{_stamp(ln.start, '.')} --> {_stamp(ln.end, '.')}\n{ln.text}\n" for ln in lines
        )
        return ("WEBVTT\n\n" + body).rstrip("\n")
    return "\n".join(f"[{fmt_time(ln.start)}] {ln.text}" for ln in lines)
