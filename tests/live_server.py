"""Test helpers for the tool surfaces: a synthetic library and a real uvicorn server.

``LiveServer`` runs an ASGI app with uvicorn on 127.0.0.1 on a random free port, in a
thread, for the duration of a ``with`` block.
"""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path
from typing import Any

from agent_fixtures import write_lecture

from hourlens.memory_store import Store


def build_library(root: Path) -> Path:
    """Two synthetic videos (``lecture.mp4``, ``other/second.mp4``) in ``root/lib``."""
    with Store(root / "lib") as st:
        write_lecture(st, root / "lecture.mp4")
        write_lecture(st, root / "other" / "second.mp4", seed=1)
    return root / "lib"


class LiveServer:
    """uvicorn serving ``app`` on ``127.0.0.1:<random port>`` in a background thread."""

    def __init__(self, app: Any) -> None:
        import uvicorn

        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self.port = self._sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
        self._thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self._sock]}, daemon=True
        )

    def __enter__(self) -> LiveServer:
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self._thread.join(10)
        self._sock.close()


def free_port() -> int:
    """A TCP port that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
