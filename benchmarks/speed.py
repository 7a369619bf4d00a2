"""Speed benchmark for `audio-denoise denoise`: real-time factor with start-up, and peak memory.

Builds a noisy 5-minute recording (bundled sample speech, white noise at 5 dB), times the whole
command line (Python start-up, torch import and checkpoint load included) several times, and
denoises a 1-hour file while recording the child process's peak resident memory. Also prints the
training history's share of step time spent waiting for data. Example::

    python benchmarks/speed.py --checkpoint checkpoints/default.pt
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from audio_denoise_utils.audio import load_audio
from audio_denoise_utils.noise import add_noise
from audio_denoise_utils.ravdess import list_clips, project_root

ROOT = project_root()


def make_recording(path: Path, seconds: float, sr: int = 16000, snr_db: float = 5.0) -> Path:
    """Write a noisy mono recording of ``seconds`` made of bundled sample clips; return its path."""
    clips = [load_audio(p, sr) for p in list_clips(ROOT / "data" / "sample")["path"]]
    gen = torch.Generator().manual_seed(0)
    with sf.SoundFile(str(path), "w", sr, 1, "PCM_16") as f:
        written, i = 0, 0
        target = int(seconds * sr)
        while written < target:
            clean = clips[i % len(clips)]
            noisy = add_noise(clean, snr_db, kind="white", generator=gen)
            block = np.clip(noisy[0].numpy() * 0.5, -1, 1)[: target - written]
            f.write(block)
            written += len(block)
            i += 1
    return path


def run_cli(args: list[str]) -> tuple[float, int]:
    """Run ``audio-denoise`` with ``args``; return (wall seconds, peak RSS of the child in MB)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "audio_denoise_utils", "-q", *args], check=True)
    secs = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return secs, max(peak, before) // 1024


def main(argv: list[str] | None = None) -> int:
    """Run the speed benchmark and print (and write) its results; return 0."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--checkpoint", default=str(ROOT / "checkpoints" / "default.pt"))
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument(
        "--hour", type=float, default=60.0, help="minutes of the long-file memory test (0: skip)"
    )
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "speed.json"))
    args = p.parse_args(argv)

    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        rec = make_recording(Path(tmp) / "five_minutes.wav", 300.0)
        times = [
            run_cli(["denoise", "--checkpoint", args.checkpoint, str(rec), "-o", f"{tmp}/out.wav"])[
                0
            ]
            for _ in range(args.repeats)
        ]
        results["five_minute_seconds_median"] = statistics.median(times)
        results["rtf_median"] = statistics.median(times) / 300.0
        results["rtf_best"] = min(times) / 300.0
        print(
            f"5-minute file: {', '.join(f'{t:.1f}' for t in times)} s -> RTF {results['rtf_median']:.4f} (median, start-up included)"
        )
        if args.hour > 0:
            long = make_recording(Path(tmp) / "long.wav", args.hour * 60.0)
            secs, peak_mb = run_cli(
                ["denoise", "--checkpoint", args.checkpoint, str(long), "-o", f"{tmp}/long_out.wav"]
            )
            results.update(
                long_file_minutes=args.hour, long_file_seconds=secs, long_file_peak_rss_mb=peak_mb
            )
            print(f"{args.hour:.0f}-minute file: {secs:.0f} s, peak memory {peak_mb} MB")
    ckpt = torch.load(args.checkpoint, map_location="cpu", weights_only=True)
    share = (ckpt.get("history") or {}).get("data_time_share") or []
    if share:
        results["train_data_time_share_mean"] = float(np.mean(share))
        print(
            f"training: {100 * np.mean(share):.1f}% of step time spent waiting for data (mean over epochs)"
        )
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
