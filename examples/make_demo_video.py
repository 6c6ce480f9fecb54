#!/usr/bin/env python3
"""Build a short demo video (about 2 minutes) from media that installed packages ship.

Scenes: real photos shipped by matplotlib and scikit-learn (a woman in a navy uniform, a
Chinese pagoda, a flower) with a slow zoom, and ffmpeg's built-in animated sources. With
``espeak-ng`` installed, a narrator's voice is added at known times.

    python examples/make_demo_video.py examples/demo/demo.mp4
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path


def _pkg_file(pkg: str, *parts: str) -> Path | None:
    spec = importlib.util.find_spec(pkg)
    if spec is None or not spec.origin:
        return None
    p = Path(spec.origin).parent.joinpath(*parts)
    return p if p.exists() else None


SAY = [
    (5.0, "Welcome to the hourlens demo video."),
    (40.0, "Here is a pagoda in China."),
    (75.0, "This flower is an orange dahlia."),
]


def _encode_scene(scene: tuple[str, str | Path], part: Path, seconds: int) -> None:
    kind, src = scene
    if kind == "lavfi":
        inp = ["-f", "lavfi", "-i", str(src)]
        vf = "scale=640:360,format=yuv420p"
    else:
        inp = ["-loop", "1", "-framerate", "10", "-i", str(src)]
        vf = (
            "scale=1280:720:force_original_aspect_ratio=increase,crop=1280:720,"
            "zoompan=z='min(zoom+0.0015,1.3)':d=1:s=640x360:fps=10,format=yuv420p"
        )
    subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-y",
            *inp,
            "-t",
            str(seconds),
            "-vf",
            vf,
            "-r",
            "10",
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-g",
            "20",
            str(part),
        ],
        check=True,
    )


def build(out: Path, seconds_per_scene: int = 15) -> Path:
    if shutil.which("ffmpeg") is None:
        sys.exit("ffmpeg is required: apt-get install -y ffmpeg")
    photos = [
        p
        for p in (
            _pkg_file("matplotlib", "mpl-data", "sample_data", "grace_hopper.jpg"),
            _pkg_file("sklearn", "datasets", "images", "china.jpg"),
            _pkg_file("sklearn", "datasets", "images", "flower.jpg"),
        )
        if p is not None
    ]
    d = seconds_per_scene
    scenes = [
        f"testsrc2=size=640x360:rate=10:duration={d}",
        # the fractal is computed at a quarter of the pixels (4x less work) and scaled up
        f"mandelbrot=size=320x180:rate=10:end_pts={d}",
        f"smptebars=size=640x360:rate=10:duration={d}",
        f"life=size=640x360:rate=10:mold=10:ratio=0.2:death_color=#202040,trim=duration={d}",
        f"cellauto=size=640x360:rate=10:rule=110,trim=duration={d}",
    ]
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        order = (
            [("lavfi", scenes[0])]
            + [("photo", p) for p in photos[:1]]
            + [("lavfi", scenes[1])]
            + [("photo", p) for p in photos[1:2]]
            + [("lavfi", scenes[2])]
            + [("photo", p) for p in photos[2:3]]
            + [("lavfi", s) for s in scenes[3:]]
        )
        parts = [Path(tmp) / f"{i:02d}.mp4" for i in range(len(order))]
        # the scenes are independent: encode them side by side (ffmpeg's sources and
        # filters are single-threaded)
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
            list(
                pool.map(
                    lambda job: _encode_scene(job[0], job[1], d), zip(order, parts, strict=True)
                )
            )
        lst = Path(tmp) / "list.txt"
        lst.write_text("".join(f"file '{p}'\n" for p in parts))
        video = Path(tmp) / "video.mp4"
        subprocess.run(
            [
                "ffmpeg",
                "-v",
                "error",
                "-y",
                "-f",
                "concat",
                "-safe",
                "0",
                "-i",
                str(lst),
                "-c",
                "copy",
                str(video),
            ],
            check=True,
        )
        if shutil.which("espeak-ng"):
            wavs, filt = [], []
            for j, (t, text) in enumerate(SAY):
                w = Path(tmp) / f"say{j}.wav"
                subprocess.run(["espeak-ng", "-w", str(w), text], check=True)
                wavs += ["-i", str(w)]
                filt.append(f"[{j + 1}:a]adelay={int(t * 1000)}:all=1[a{j}]")
            mix = "".join(f"[a{j}]" for j in range(len(SAY)))
            filt.append(f"{mix}amix=inputs={len(SAY)}:normalize=0,aresample=16000[aout]")
            subprocess.run(
                [
                    "ffmpeg",
                    "-v",
                    "error",
                    "-y",
                    "-i",
                    str(video),
                    *wavs,
                    "-filter_complex",
                    ";".join(filt),
                    "-map",
                    "0:v",
                    "-map",
                    "[aout]",
                    "-c:v",
                    "copy",
                    "-c:a",
                    "aac",
                    "-ac",
                    "1",
                    str(out),
                ],
                check=True,
            )
        else:
            shutil.copy(video, out)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("out", type=Path, help="output .mp4")
    ap.add_argument("--scene-seconds", type=int, default=15)
    args = ap.parse_args()
    print(build(args.out, args.scene_seconds))


if __name__ == "__main__":
    main()
