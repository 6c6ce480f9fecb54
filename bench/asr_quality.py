"""ASR quality and speed on real or synthetic speech laid out at known offsets.

Builds one long 16 kHz track: utterances separated by 1.5-6 s of silence, with
stretches of synthetic music (and noise) in between that must produce no lines. Then
runs :func:`hourlens.indexer.speech.transcribe` with each requested configuration and
prints, as JSON lines: real-time factor, word error rate, how many utterances have a
line starting within ±1 s, and how many lines fell inside music/noise.

Sources:

* ``asterisk PATH`` — the Asterisk prompt recordings (Debian ``asterisk-core-sounds-en``
  and ``asterisk-core-sounds-en-wav``, unpacked under PATH): ``en_US_f_Allison/*.wav``
  plus their transcripts in ``core-sounds-en.txt`` (or ``.txt.gz``);
* ``espeak`` — sentences synthesised with the ``espeak-ng`` binary.

Example::

    python bench/asr_quality.py asterisk /path/to/unpacked --seconds 300 \
        --config faster-whisper:8 --config faster-whisper:1 --config whisperx:8
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import re
import subprocess
import tempfile
import time
import wave
from pathlib import Path

import numpy as np

SR = 16000
_NUMS = "zero one two three four five six seven eight nine ten eleven twelve".split()  # noqa: SIM905
ESPEAK_SENTENCES = [
    "The quarterly budget meeting has been moved to Thursday afternoon.",
    "Please remember to bring your laptop and the signed contract.",
    "The weather in the mountains was cold but the view was beautiful.",
    "Our new product will be launched at the conference in September.",
    "She opened the window and listened to the birds in the garden.",
    "The train to the airport leaves every twenty minutes from platform four.",
    "After dinner we walked along the river and talked about the future.",
    "The library will be closed on Monday for maintenance work.",
    "He painted the kitchen a bright yellow colour last weekend.",
    "Scientists discovered a new species of frog in the rain forest.",
    "The children built a small boat out of wood and old rope.",
    "Turn left at the bakery and the museum is on your right.",
]


def normalise(text: str) -> list[str]:
    """Lower-case words without punctuation; number words become digits."""
    words = re.sub(r"[^a-z0-9' ]", " ", text.lower().replace("-", " ")).split()
    return [str(_NUMS.index(w)) if w in _NUMS else w for w in words]


def wer(ref: list[str], hyp: list[str]) -> float:
    """Word error rate (Levenshtein distance over words / reference length)."""
    d = list(range(len(hyp) + 1))
    for i, rw in enumerate(ref, 1):
        prev, d[0] = d[:], i
        for j, hw in enumerate(hyp, 1):
            d[j] = min(prev[j] + 1, d[j - 1] + 1, prev[j - 1] + (rw != hw))
    return d[-1] / max(1, len(ref))


def read_wav(path: Path) -> np.ndarray:
    """16-bit PCM WAV → mono float32 at 16 kHz (linear resampling)."""
    with wave.open(str(path)) as w:
        x = np.frombuffer(w.readframes(w.getnframes()), np.int16).astype(np.float32) / 32768
        x = x.reshape(-1, w.getnchannels()).mean(axis=1)
        rate = w.getframerate()
    if rate != SR:
        x = np.interp(np.arange(int(len(x) * SR / rate)) * rate / SR, np.arange(len(x)), x)
    nz = np.nonzero(np.abs(x) > 0.01)[0]
    return x[nz[0] : nz[-1] + 1].astype(np.float32) if len(nz) else x.astype(np.float32)


def music(seconds: float, seed: int = 0) -> np.ndarray:
    """Synthetic instrumental music: decaying harmonic notes over a chord, plus hi-hats."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    out = np.zeros_like(t)
    for k, root in enumerate(rng.choice([220.0, 261.6, 293.7, 329.6, 392.0], 4)):
        out += 0.05 * np.sin(2 * np.pi * root * (1 + 0.5 * (k % 2)) * t)
    note = 0.0
    while note < seconds:
        f = 440.0 * 2 ** (rng.integers(-12, 12) / 12)
        i0, n = int(note * SR), int(0.4 * SR)
        tt = np.arange(min(n, len(t) - i0)) / SR
        env = np.exp(-tt * 6)
        out[i0 : i0 + len(tt)] += (
            sum(0.15 / h * np.sin(2 * np.pi * f * h * tt) for h in (1, 2, 3)) * env
        )
        hat = rng.normal(0, 0.05, len(tt)) * np.exp(-tt * 60)
        out[i0 : i0 + len(tt)] += hat
        note += 0.25
    return (out / max(1e-6, np.abs(out).max()) * 0.5).astype(np.float32)


def asterisk_utterances(root: Path) -> list[tuple[str, np.ndarray]]:
    """(transcript, audio) of every Asterisk prompt with at least five words."""
    txt = next(iter(sorted(root.rglob("core-sounds-en.txt*"))), None)
    if txt is None:
        raise SystemExit(f"no core-sounds-en.txt(.gz) under {root}")
    raw = gzip.decompress(txt.read_bytes()).decode() if txt.suffix == ".gz" else txt.read_text()
    wavs = {p.stem: p for p in root.rglob("en_US_f_Allison/*.wav")}
    out = []
    for line in raw.splitlines():
        m = re.match(r"^([\w/-]+):\s*(.+)$", line)
        if m and "[" not in m.group(2) and m.group(1) in wavs and len(m.group(2).split()) >= 5:
            out.append((m.group(2).strip(), wavs[m.group(1)]))
    return [(text, read_wav(path)) for text, path in out]


def espeak_utterances() -> list[tuple[str, np.ndarray]]:
    """(sentence, audio) synthesised by espeak-ng."""
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, s in enumerate(ESPEAK_SENTENCES):
            path = Path(tmp) / f"{i}.wav"
            subprocess.run(
                ["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(path), s], check=True
            )
            out.append((s, read_wav(path)))
    return out


def build_track(utts: list[tuple[str, np.ndarray]], seconds: float, seed: int = 0):
    """Lay utterances out with silences and music/noise stretches.

    Returns:
        ``(audio, refs, distractors)``: refs are ``{"start", "end", "text"}``, distractors
        are ``(start, end)`` of music/noise.
    """
    rng = random.Random(seed)
    utts = utts[:]
    rng.shuffle(utts)
    parts, refs, distract, t = [np.zeros(SR, np.float32)], [], [], 1.0
    for n, (text, x) in enumerate(utts):
        refs.append({"start": t, "end": t + len(x) / SR, "text": text})
        parts.append(x)
        t += len(x) / SR
        gap = rng.uniform(1.5, 6.0)
        parts.append(np.zeros(int(gap * SR), np.float32))
        t += gap
        if n % 8 == 7:  # a stretch of music or noise, then silence
            d = rng.uniform(8, 15)
            noise = np.random.default_rng(n).normal(0, 0.05, int(d * SR)).astype(np.float32)
            parts.append(music(d, seed=n) if n % 16 == 7 else noise)
            distract.append((t, t + d))
            parts.append(np.zeros(int(2 * SR), np.float32))
            t += d + 2
        if t >= seconds:
            break
    return np.concatenate(parts), refs, distract


def evaluate(tr, refs, distract) -> dict:
    """WER, start errors and lines inside distractors of a transcript."""
    hyp = normalise(" ".join(ln.text for ln in tr.lines))
    ref = normalise(" ".join(r["text"] for r in refs))
    starts = np.array([ln.start for ln in tr.lines]) if tr.lines else np.array([1e9])
    errs = [float(np.min(np.abs(starts - r["start"]))) for r in refs]
    inside = [ln.text for ln in tr.lines if any(a - 0.5 <= ln.start <= b for a, b in distract)]
    return {
        "wer": round(wer(ref, hyp), 4),
        "utterances": len(refs),
        "starts_within_1s": sum(e <= 1.0 for e in errs),
        "start_err_median": round(float(np.median(errs)), 3),
        "start_err_max": round(float(np.max(errs)), 3),
        "lines": len(tr.lines),
        "lines_in_music_or_noise": inside,
    }


def whisperx_text_only(audio: np.ndarray, refs: list[dict], model: str, batch: int) -> dict:
    """WhisperX's own batched transcription (pyannote VAD, no word times): speed and WER."""
    import whisperx

    from hourlens.indexer.speech import resolve_model

    pipe = whisperx.load_model(resolve_model(model), "cpu", compute_type="int8")
    pipe.transcribe(audio[: 5 * SR], batch_size=batch, language="en")  # warm up
    t0, c0 = time.perf_counter(), time.process_time()
    res = pipe.transcribe(audio, batch_size=batch, language="en")
    sec, cpu = time.perf_counter() - t0, time.process_time() - c0
    hyp = normalise(" ".join(s["text"] for s in res["segments"]))
    ref = normalise(" ".join(r["text"] for r in refs))
    return {
        "config": f"whisperx-noalign:{batch}",
        "seconds": round(sec, 1),
        "rtf": round(sec / (len(audio) / SR), 4),
        "cpu_rtf": round(cpu / (len(audio) / SR), 4),
        "wer": round(wer(ref, hyp), 4),
        "segments": len(res["segments"]),
        "word_timestamps": "none",
    }


def main() -> None:
    """Command-line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("source", choices=["asterisk", "espeak"])
    ap.add_argument("path", nargs="?", help="folder holding the unpacked Asterisk sounds")
    ap.add_argument("--seconds", type=float, default=180.0, help="track length")
    ap.add_argument("--model", default="auto")
    ap.add_argument(
        "--config",
        action="append",
        default=[],
        help="BACKEND:BATCH, e.g. faster-whisper:8 (repeatable)",
    )
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    from hourlens.indexer.speech import transcribe

    if args.source == "asterisk":
        if not args.path:
            ap.error("asterisk needs PATH")
        utts = asterisk_utterances(Path(args.path))
    else:
        utts = espeak_utterances()
    audio, refs, distract = build_track(utts, args.seconds, args.seed)
    dur = len(audio) / SR
    transcribe(np.zeros(SR, np.float32), model=args.model)  # load the model once
    for cfg in args.config or ["faster-whisper:8"]:
        backend, _, batch = cfg.partition(":")
        if backend == "whisperx-noalign":
            print(json.dumps(whisperx_text_only(audio, refs, args.model, int(batch or 8))))
            continue
        if backend == "whisperx":  # load pyannote + model outside the timing
            transcribe(audio[: 5 * SR], model=args.model, backend=backend)
        t0, c0 = time.perf_counter(), time.process_time()
        tr = transcribe(audio, model=args.model, backend=backend, batch_size=int(batch or 8))
        sec, cpu = time.perf_counter() - t0, time.process_time() - c0
        row = {
            "source": args.source,
            "config": cfg,
            "model": tr.model,
            "word_timestamps": tr.word_timestamps,
            "language": tr.language,
            "audio_s": round(dur, 1),
            "seconds": round(sec, 1),
            "rtf": round(sec / dur, 4),
            "cpu_rtf": round(cpu / dur, 4),
        }
        row.update(evaluate(tr, refs, distract))
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
