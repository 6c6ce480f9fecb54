"""EfficientNet-Lite0 from its cached ONNX export, without torch or timm."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

pytestmark = pytest.mark.slow  # loads the packaged EfficientNet-Lite0


def test_onnx_only_encoder_matches_the_torch_built_one():
    from hourlens.indexer.encoders.efficientnet import EfficientNetLite0Encoder
    from hourlens.indexer.encoders.efficientnet_onnx import load_onnx_only

    ref = EfficientNetLite0Encoder(runtime="auto")  # exports once when not cached yet
    light = load_onnx_only(None, batch_size=8, threads=1)
    assert light is not None and light.name == ref.name and light.dim == ref.dim
    assert light.labels == ref.labels
    rng = np.random.default_rng(0)
    smooth = [
        np.clip(
            np.cumsum(rng.normal(0, 6, size=(h, w, 3)), axis=1) % 255 + rng.integers(0, 30), 0, 255
        ).astype(np.uint8)
        for h, w in ((256, 455), (120, 200), (300, 300), (400, 180))
    ]
    a, b = light.encode(smooth), ref.encode(smooth)
    cos = (a.features * b.features).sum(axis=1)
    assert cos.min() > 0.995, cos
    assert np.abs(a.probs - b.probs).max() < 0.02
    assert (a.probs.argmax(1) == b.probs.argmax(1)).all()


def test_loading_the_default_encoder_imports_no_torch():
    from hourlens.indexer.encoders.efficientnet import EfficientNetLite0Encoder

    EfficientNetLite0Encoder(runtime="auto")  # the export exists from here on
    code = (
        "import sys\n"
        "from hourlens.indexer.encoders import load_encoder\n"
        "from hourlens.indexer.pipeline import Indexer\n"
        "enc = load_encoder('efficientnet_lite0', threads=1)\n"
        "import numpy as np\n"
        "enc.encode([np.zeros((64, 96, 3), np.uint8)])\n"
        "print(type(enc).__name__, 'torch' in sys.modules, 'timm' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["OnnxEfficientNetLite0", "False", "False"]


def test_all_cores_encodes_the_same_on_a_wider_session_then_restores(monkeypatch):
    from hourlens.indexer.encoders import base
    from hourlens.indexer.encoders.efficientnet_onnx import load_onnx_only

    enc = load_onnx_only(None, batch_size=8, threads=1)
    assert enc is not None
    frames = [np.random.default_rng(i).integers(0, 255, (120, 200, 3), np.uint8) for i in range(3)]
    narrow = enc._onnx
    ref = enc.encode(frames)
    monkeypatch.setattr(base, "available_cores", lambda: 2)
    with enc.all_cores():
        assert enc._onnx is not narrow
        assert enc._onnx.session.get_session_options().intra_op_num_threads == 2
        wide = enc.encode(frames)
    assert enc._onnx is narrow
    np.testing.assert_allclose(wide.features, ref.features, atol=1e-5)
    with enc.all_cores():
        assert enc._onnx is narrow._wide[2]  # made once, kept
    monkeypatch.setattr(base, "available_cores", lambda: 1)
    with enc.all_cores():
        assert enc._onnx is narrow  # one core: nothing to widen
