"""Short CPU sweep for the noise-robust default recipe (issue 11): train candidates, score them.

Each candidate trains on the bundled sample with a reduced step budget (same seed, same steps),
then is scored on the real-speech benchmark (SI-SDRi per noise type; PESQ and STOI too with
--perceptual). Results append to benchmarks/results/sweep_noise.md. Example::

    python benchmarks/sweep_noise.py --steps 300 --only mix_synthetic mix_sisdr
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time

import torch

from audio_denoise_utils.engine.runs import train_from_directory
from audio_denoise_utils.ravdess import project_root
from audio_denoise_utils.training import TrainConfig

ROOT = project_root()
MIX = ("white", "pink", "brown", "hum", "tones", "machine", "babble", "recorded")
NOISE_DIR = str(ROOT / "data" / "realnoise" / "train")
CANDIDATES = {
    "white_only": dict(noise=("white",)),
    "mix_synthetic": dict(noise=MIX[:-1]),
    "mix_sisdr": dict(noise=MIX, noise_dir=NOISE_DIR),
}


def main(argv: list[str] | None = None) -> int:
    """Train and score the chosen candidates; return 0."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=300, help="optimiser steps per candidate")
    p.add_argument("--only", nargs="+", choices=list(CANDIDATES), default=list(CANDIDATES))
    p.add_argument("--noise", nargs="+", default=["white", "pink", "babble", "hum", "real"])
    p.add_argument("--perceptual", action="store_true", help="also PESQ and STOI")
    args = p.parse_args(argv)
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import quality

    out_dir = ROOT / "runs" / "sweep"
    results = ROOT / "benchmarks" / "results" / "sweep_noise.md"
    for name in args.only:
        epochs = max(1, args.steps // 100)
        config = dataclasses.replace(TrainConfig(), epochs=epochs, **CANDIDATES[name])
        ckpt = out_dir / f"{name}_{epochs * 100}.pt"
        t0 = time.perf_counter()
        if not ckpt.exists():
            result = train_from_directory(
                ROOT / "data" / "sample", config, out=ckpt, device="cpu", progress=False
            )
            print(result, flush=True)
        train_s = time.perf_counter() - t0
        metrics = ["si_sdr", "pesq", "stoi"] if args.perceptual else ["si_sdr"]
        tag = f"sweep_{name}_{epochs * 100}"
        quality.main(
            [
                "--checkpoint",
                f"{name}={ckpt}",
                "--no-baselines",
                "--no-peers",
                "--metrics",
                *metrics,
                "--noise",
                *args.noise,
                "--out",
                str(out_dir),
                "--tag",
                tag,
            ]
        )
        table = (out_dir / f"{tag}.md").read_text()
        with open(results, "a") as f:
            f.write(
                f"\n## {name}, {epochs * 100} steps (train {train_s:.0f} s wall, contended CPU)\n\n"
                f"config: {CANDIDATES[name]}\n\n{table}\n"
            )
        torch.set_num_threads(2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
