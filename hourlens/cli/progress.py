"""tqdm progress bars for indexing: one overall bar and one per video, on stderr."""

from __future__ import annotations

import sys
from typing import Any

from tqdm import tqdm


class TqdmProgress:
    """Progress callback (``(event, info)``) that draws bars on stderr.

    Bars are hidden when stderr is not a terminal unless ``force`` is set.
    """

    def __init__(self, *, force: bool = False) -> None:
        self.disable = not (force or sys.stderr.isatty())
        self.overall: Any = None
        self.video: Any = None

    def __call__(self, event: str, info: dict[str, Any]) -> None:
        if event == "plan":
            self.overall = tqdm(
                total=info["files"],
                desc="videos",
                unit="video",
                position=0,
                disable=self.disable,
                file=sys.stderr,
            )
        elif event == "start":
            self._close_video()
            name = info["path"].rsplit("/", 1)[-1]
            self.video = tqdm(
                total=info["total"],
                desc=name[:32],
                unit="frame",
                position=1,
                leave=False,
                disable=self.disable,
                file=sys.stderr,
            )
        elif event == "frames" and self.video is not None:
            self.video.update(info["n"])
        elif event == "stage" and self.video is not None:
            self.video.set_postfix_str(info["name"])
        elif event == "done":
            self._close_video()
            if self.overall is not None:
                res = info["result"]
                self.overall.set_postfix_str(f"{res.status}: {res.video.rsplit('/', 1)[-1]}")
                self.overall.update(1)

    def _close_video(self) -> None:
        if self.video is not None:
            self.video.close()
            self.video = None

    def write(self, line: str) -> None:
        """Print a line without breaking the bars."""
        tqdm.write(line, file=sys.stderr)

    def close(self) -> None:
        """Close all bars."""
        self._close_video()
        if self.overall is not None:
            self.overall.close()
            self.overall = None
