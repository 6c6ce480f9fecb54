"""Human formatting of times."""

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
