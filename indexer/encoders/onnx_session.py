"""ONNX Runtime sessions of exported image models (no torch needed to run them)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

CHUNK_PER_THREAD = 8
"""Images per ONNX Runtime call and intra-op thread. Its memory arena grows with the
largest batch it has run (~25 MB per image for EfficientNet-Lite0 at 224); on one thread,
8 images per call were also ~10% faster per image than 32 (cache effects)."""


class OnnxImageModel:
    """A loaded ONNX Runtime session with the ``(pooled, logits)`` outputs.

    Args:
        session: An ``onnxruntime.InferenceSession``.
        chunk: Most images per session call (larger batches are split).
    """

    def __init__(self, session: Any, chunk: int = CHUNK_PER_THREAD) -> None:
        self.session = session
        self.chunk = max(1, chunk)
        self._wide: dict[int, OnnxImageModel] = {}

    def wide(self, threads: int) -> OnnxImageModel:
        """The same model on a session with ``threads`` intra-op threads that sleep when
        idle (made on first use, then kept). It runs :data:`CHUNK_PER_THREAD` images a
        call: its memory arena comes on top of the first session's."""
        if threads not in self._wide:
            path = Path(self.session._model_path)
            session = load_session(path, threads, spinning=False)
            self._wide[threads] = OnnxImageModel(session, chunk=CHUNK_PER_THREAD)
        return self._wide[threads]

    def __call__(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Run a float32 NCHW batch."""
        x = np.ascontiguousarray(x, np.float32)
        outs = [
            self.session.run(None, {"x": x[i : i + self.chunk]})
            for i in range(0, len(x), self.chunk)
        ]
        if len(outs) == 1:
            return outs[0][0], outs[0][1]
        return np.concatenate([o[0] for o in outs]), np.concatenate([o[1] for o in outs])


def load_session(path: Path, threads: int, *, spinning: bool = True) -> Any:
    """An ONNX Runtime CPU session of the model at ``path`` with ``threads`` intra-op
    threads (one inter-op thread); ``spinning=False``: idle threads sleep."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = max(1, threads)
    opts.inter_op_num_threads = 1
    if not spinning:
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
