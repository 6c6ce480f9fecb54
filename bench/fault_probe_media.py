"""Generated media for the fault probe: a good clip and broken, truncated or
non-video files under the ``.mp4`` name (``tests/media.py``)."""

from __future__ import annotations

import os
from pathlib import Path

import fault_probe_common  # noqa: F401 - sets the environment, puts tests/ on sys.path


def make_media(root: Path) -> dict[str, Path]:
    import av
    from media import (
        make_audio_only,
        make_corrupt_middle,
        make_garbage_payload,
        make_jpeg,
        make_scene_video,
        make_text_file,
        make_truncated_mp4,
        make_zero_byte,
    )

    m: dict[str, Path] = {}
    m["good"] = root / "good.mp4"
    make_scene_video(
        m["good"],
        [(5.0, "hopper"), (5.0, "bars"), (5.0, "china"), (5.0, "checker")],
        fps=5,
        size=(160, 120),
    )
    fast = root / "faststart.mp4"
    with (
        av.open(str(m["good"])) as inp,
        av.open(str(fast), "w", options={"movflags": "faststart"}) as out,
    ):
        streams = {s.index: out.add_stream_from_template(s) for s in inp.streams}
        for pkt in inp.demux():
            if pkt.dts is not None:
                pkt.stream = streams[pkt.stream.index]
                out.mux(pkt)
    data = fast.read_bytes()
    for pct in (25, 50, 75):
        m[f"faststart_cut_{pct}"] = root / f"fast{pct}.mp4"
        m[f"faststart_cut_{pct}"].write_bytes(data[: len(data) * pct // 100])
    m["moov_lost_50"] = make_truncated_mp4(m["good"], root / "cut.mp4", 0.5)
    m["corrupt_middle"] = make_corrupt_middle(m["good"], root / "corrupt.mp4")
    m["garbage_payload"] = make_garbage_payload(m["good"], root / "garbage.mp4")
    m["text"] = make_text_file(root / "notes.mp4")
    m["zero"] = make_zero_byte(root / "zero.mp4")
    m["jpeg"] = make_jpeg(root / "still.mp4")
    m["audio_only"] = make_audio_only(root / "voice.mp4")
    m["random"] = root / "random.mp4"
    m["random"].write_bytes(os.urandom(50_000))
    m["html"] = make_text_file(root / "page.mp4", "<html><body>not a video</body></html>\n")
    return m
