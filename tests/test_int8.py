"""int8 copies of ONNX models: CPU test, settings, the cached quantized copy, calibration."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from hourlens.errors import HourlensError
from hourlens.indexer import int8
from hourlens.indexer.ocr_int8 import text_images

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

VNNI = "processor : 0\nflags\t\t: fpu sse2 avx2 avx512f avx512_vnni\nbogomips : 5187\n"
NO_VNNI = "processor : 0\nflags\t\t: fpu sse2 avx2 avx512f\n"


def test_int8_supported_reads_the_dot_product_flags(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(int8.platform, "machine", lambda: "x86_64")
    assert int8.int8_supported(VNNI)
    assert int8.int8_supported(NO_VNNI.replace("avx512f", "avx_vnni"))
    assert not int8.int8_supported(NO_VNNI)
    assert not int8.int8_supported("")
    monkeypatch.setattr(int8.platform, "machine", lambda: "aarch64")
    assert int8.int8_supported(NO_VNNI)


def test_use_int8_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    assert int8.use_int8("on") and int8.use_int8("1") and int8.use_int8(" ON ")
    assert not int8.use_int8("off") and not int8.use_int8("0")
    monkeypatch.setattr(int8, "_supported", lambda: False)
    assert not int8.use_int8("auto")
    monkeypatch.setattr(int8, "_supported", lambda: True)
    assert int8.use_int8("auto")
    with pytest.raises(HourlensError, match="expected one of auto, on, off"):
        int8.use_int8("fast")


def _conv_model(path: Path, opset: int = 11) -> None:
    """A two-convolution float32 model (input ``x``: N x 3 x H x W), opset ``opset``."""
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    w1 = numpy_helper.from_array(rng.normal(0, 0.3, (8, 3, 3, 3)).astype(np.float32), "w1")
    b1 = numpy_helper.from_array(rng.normal(0, 0.1, 8).astype(np.float32), "b1")
    w2 = numpy_helper.from_array(rng.normal(0, 0.3, (4, 8, 3, 3)).astype(np.float32), "w2")
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["h"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["h"], ["r"]),
        helper.make_node("Conv", ["r", "w2"], ["y"], pads=[1, 1, 1, 1]),
    ]
    graph = helper.make_graph(
        nodes,
        "tiny",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 3, "h", "w"])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 4, "h", "w"])],
        initializer=[w1, b1, w2],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 7
    onnx.save(model, str(path))


def _run(path: Path, x: np.ndarray) -> np.ndarray:
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return sess.run(None, {"x": x})[0]


def test_quantized_model_is_made_once_close_to_float32_and_cached(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOURLENS_CACHE", str(tmp_path / "cache"))
    src = tmp_path / "tiny.onnx"
    _conv_model(src)  # opset 11: converted before per-channel quantization
    rng = np.random.default_rng(1)
    batches = [rng.uniform(0, 1, (1, 3, 24, 32)).astype(np.float32) for _ in range(4)]
    calls = []

    def calibration() -> list[dict[str, np.ndarray]]:
        calls.append(1)
        return [{"x": b} for b in batches]

    out = int8.quantized_model(src, calibration, name="tiny")
    assert out is not None and out.parent == tmp_path / "cache" / "models" / "int8"
    assert out.name.startswith("tiny-") and len(calls) == 1
    ops = {n.op_type for n in onnx.load(str(out)).graph.node}
    assert {"QuantizeLinear", "DequantizeLinear"} <= ops
    x = rng.uniform(0, 1, (2, 3, 40, 30)).astype(np.float32)  # another shape than calibrated
    ref, got = _run(src, x), _run(out, x)
    assert np.linalg.norm(got - ref) <= 0.05 * np.linalg.norm(ref)  # relative RMS error
    assert int8.quantized_model(src, calibration, name="tiny") == out
    assert len(calls) == 1  # reused from the cache, not made again
    src.write_bytes(src.read_bytes() + b"\0")  # another model: another key
    assert int8.cache_key(src) not in out.name


def test_quantized_model_failure_keeps_float32(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("HOURLENS_CACHE", str(tmp_path / "cache"))
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a model")
    with caplog.at_level(logging.WARNING, logger="hourlens.indexer"):
        assert int8.quantized_model(bad, lambda: [], name="bad") is None
    assert "using float32" in caplog.text
    assert not list((tmp_path / "cache" / "models" / "int8").glob("*.onnx"))


def test_text_images_are_deterministic_text_on_varied_ground() -> None:
    a, b = text_images(3, size=(320, 180)), text_images(3, size=(320, 180))
    assert len(a) == 3 and all(x.shape == (180, 320, 3) and x.dtype == np.uint8 for x in a)
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert not np.array_equal(a[0], text_images(1, size=(320, 180), seed=1)[0])
    assert min(float(x.std()) for x in a) > 10  # not flat fields
