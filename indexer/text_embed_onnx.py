"""Sentence-transformers models through ONNX Runtime: the query path without torch.

A model whose pipeline is Transformer → mean Pooling (→ Normalize), like the packaged
all-MiniLM-L6-v2, is exported once to the models cache
(``<cache>/onnx/text-<key>/``: ``model.onnx``, ``tokenizer.json`` and ``meta.json``,
written atomically) and from then on runs with ONNX Runtime and the Rust ``tokenizers``
package — loading it imports neither torch nor sentence-transformers, which is most of a
cold ``hourlens search``. The vectors equal the sentence-transformers ones to 1e-5
(a slow test checks it). Any failure returns ``None`` and the caller keeps PyTorch.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..config import models_cache_dir

log = logging.getLogger("hourlens.indexer.text_embed")

EXPORT_VERSION = 1
"""Bumped when the exported graph or its sidecar files change (new cache key)."""
_WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin", "tokenizer.json")


def export_key(model_dir: str | Path) -> str | None:
    """Cache key of a local sentence-transformers folder, or None when it cannot run here.

    The key names the folder and the size and time of its weight and tokenizer files, so
    changed weights get a new export. Only folders whose modules are a Transformer, a
    mean-token Pooling and optionally a Normalize qualify.
    """
    root = Path(model_dir)
    try:
        modules = json.loads((root / "modules.json").read_text())
        kinds = [m["type"].rsplit(".", 1)[-1] for m in modules]
        if kinds not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]):
            return None
        pool_dir = root / modules[1].get("path", "1_Pooling")
        pool = json.loads((pool_dir / "config.json").read_text())
        modes = [k for k, v in pool.items() if k.startswith("pooling_mode") and v]
        if modes != ["pooling_mode_mean_tokens"] or not (root / "tokenizer.json").is_file():
            return None
        parts = [str(root.resolve()), str(EXPORT_VERSION)]
        for name in _WEIGHT_FILES:
            p = root / name
            if p.is_file():
                st = p.stat()
                parts.append(f"{name}:{st.st_size}:{int(st.st_mtime)}")
    except (OSError, ValueError, KeyError, IndexError, TypeError):
        return None
    return hashlib.blake2b("|".join(parts).encode(), digest_size=8).hexdigest()


def export_dir(key: str) -> Path:
    """Folder of the export named ``key`` (may not exist yet)."""
    return models_cache_dir() / "onnx" / f"text-{key}"


class OnnxSentenceModel:
    """A sentence-transformers-compatible ``encode`` over an exported model.

    Args:
        folder: An export folder (``model.onnx``, ``tokenizer.json``, ``meta.json``).
        threads: ONNX Runtime intra-op threads (None: every core).

    Raises:
        Exception: Missing files or an unloadable model (the loader falls back to torch).
    """

    runtime = "onnxruntime"

    def __init__(self, folder: Path, threads: int | None = None) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        meta = json.loads((folder / "meta.json").read_text())
        self.max_length = int(meta["max_length"])
        self.dim = int(meta["dim"])
        self._inputs = list(meta["inputs"])
        tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
        tok.enable_truncation(max_length=self.max_length)
        tok.no_padding()
        self._tok = tok
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = max(1, threads or os.cpu_count() or 1)
        opts.inter_op_num_threads = 1
        # no busy-waiting between calls: a query embeds a few words, and spinning threads
        # would hold the cores the rest of a search (FAISS, numpy, SQLite) needs
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session = ort.InferenceSession(
            str(folder / "model.onnx"), opts, providers=["CPUExecutionProvider"]
        )

    def get_sentence_embedding_dimension(self) -> int:
        """Embedding size."""
        return self.dim

    def encode(self, texts: Sequence[str], *, batch_size: int = 64, **_: Any) -> np.ndarray:
        """Mean-pooled token embeddings (not normalised), one row per text.

        Texts are batched by length (padding only to the longest of a batch), as
        sentence-transformers does, with fewer long texts in a batch
        (:func:`length_batches`); the rows come back in input order.
        """
        encs = self._tok.encode_batch([str(t) for t in texts])
        order = sorted(range(len(encs)), key=lambda i: -len(encs[i].ids))
        out = np.zeros((len(encs), self.dim), np.float32)
        for idx in length_batches([len(encs[i].ids) for i in order], order, batch_size):
            n = max(len(encs[i].ids) for i in idx)
            ids = np.zeros((len(idx), n), np.int64)
            mask = np.zeros((len(idx), n), np.int64)
            types = np.zeros((len(idx), n), np.int64)
            for r, i in enumerate(idx):
                e = encs[i]
                ids[r, : len(e.ids)] = e.ids
                mask[r, : len(e.ids)] = e.attention_mask
                types[r, : len(e.ids)] = e.type_ids
            feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
            (hidden,) = self._session.run(
                ["last_hidden_state"], {k: feeds[k] for k in self._inputs}
            )
            m = mask[:, :, None].astype(np.float32)
            out[idx] = (hidden * m).sum(axis=1) / np.maximum(m.sum(axis=1), 1e-9)
        return out


ATTENTION_BUDGET = 64 * 64 * 64
"""A batch of texts holds at most this many ``tokens x tokens`` attention cells per text,
summed (64 texts of 64 tokens; 4 of 256). The attention buffers grow with the batch and
the square of its longest text: 64 OCR screens of 256 tokens held ~0.4 GB more memory."""


def length_batches(
    lengths: Sequence[int], items: Sequence[int], batch_size: int
) -> list[list[int]]:
    """Split ``items`` (sorted longest first, ``lengths`` alike) into batches of at most
    ``batch_size`` whose ``count x longest²`` stays within :data:`ATTENTION_BUDGET`."""
    out: list[list[int]] = []
    cur: list[int] = []
    longest = 0
    for n, item in zip(lengths, items, strict=True):
        first = max(longest, n) if cur else n
        if cur and (
            len(cur) >= max(1, batch_size) or (len(cur) + 1) * first * first > ATTENTION_BUDGET
        ):
            out.append(cur)
            cur, first = [], n
        cur.append(item)
        longest = first
    if cur:
        out.append(cur)
    return out


def load_exported(model_dir: str | Path, threads: int | None = None) -> OnnxSentenceModel | None:
    """The cached export of ``model_dir`` (no torch import), or None if there is none."""
    key = export_key(model_dir)
    if key is None:
        return None
    folder = export_dir(key)
    if not (folder / "meta.json").is_file():
        return None
    try:
        import onnxruntime  # noqa: F401
        import tokenizers  # noqa: F401
    except ImportError:
        return None
    try:
        return OnnxSentenceModel(folder, threads)
    except Exception as exc:  # noqa: BLE001 - a broken export: re-export or use torch
        log.info("cached ONNX text model %s unusable (%s)", folder, exc)
        return None


def export(st_model: Any, model_dir: str | Path, threads: int | None = None) -> Any:
    """Export a loaded ``SentenceTransformer`` of ``model_dir`` and load the export.

    Returns:
        An :class:`OnnxSentenceModel`, or None (unsupported pipeline, no onnxruntime, an
        export error): the caller keeps the torch model.
    """
    key = export_key(model_dir)
    if key is None:
        return None
    try:
        import onnxruntime  # noqa: F401
        import tokenizers  # noqa: F401
    except ImportError:
        return None
    folder = export_dir(key)
    try:
        if not (folder / "meta.json").is_file():
            _write_export(st_model, Path(model_dir), folder)
        return OnnxSentenceModel(folder, threads)
    except Exception as exc:  # noqa: BLE001 - any failure keeps PyTorch
        log.info("ONNX export of the text embedder failed (%s): it runs in PyTorch", exc)
        return None


def _write_export(st_model: Any, model_dir: Path, folder: Path) -> None:
    import torch

    transformer = st_model[0]
    hf = transformer.auto_model.eval().cpu()
    names = ["input_ids", "attention_mask", "token_type_ids"]
    if "token_type_ids" not in transformer.tokenizer.model_input_names:
        names = names[:2]
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=folder.name + ".", dir=folder.parent))
    tmp.chmod(0o755)
    try:
        dummy = tuple(torch.ones(2, 8, dtype=torch.long) for _ in names)

        class _Hidden(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.hf = hf

            def forward(self, *args: torch.Tensor) -> torch.Tensor:
                return self.hf(**dict(zip(names, args, strict=True))).last_hidden_state

        axes = {n: {0: "batch", 1: "seq"} for n in names}
        axes["last_hidden_state"] = {0: "batch", 1: "seq"}
        with torch.inference_mode(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the legacy exporter's deprecation notices
            torch.onnx.export(
                _Hidden().eval(),
                dummy,
                str(tmp / "model.onnx"),
                input_names=names,
                output_names=["last_hidden_state"],
                dynamic_axes=axes,
                opset_version=17,
                dynamo=False,
            )
        shutil.copyfile(model_dir / "tokenizer.json", tmp / "tokenizer.json")
        meta = {
            "max_length": int(st_model.max_seq_length),
            "dim": int(_dimension(st_model)),
            "inputs": names,
            "source": str(model_dir),
        }
        (tmp / "meta.json").write_text(json.dumps(meta))
        try:
            os.replace(tmp, folder)
        except OSError:  # another process exported it first
            if not (folder / "meta.json").is_file():
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _dimension(st_model: Any) -> int:
    get = getattr(st_model, "get_embedding_dimension", None) or (
        st_model.get_sentence_embedding_dimension
    )
    return int(get())
