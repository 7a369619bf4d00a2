"""Shared by the experiment scripts (``exp_*.py``; not course code): train the shipped recipe plus one kind."""

from __future__ import annotations

import argparse
import time


def train_shipped_recipe_plus(kind: str | None, doc: str, epochs: int, out: str, **config) -> None:
    """Parse --epochs/--seed/--out, then train the shipped recipe with ``kind`` as an extra noise kind.

    ``kind=None``: the shipped recipe's seven kinds only.

    Call it after patching the package in memory; ``config`` adds TrainConfig fields (e.g. noise_dir).
    """
    from audio_denoise_utils.engine.runs import train_from_directory
    from audio_denoise_utils.training import TrainConfig

    p = argparse.ArgumentParser(description=doc.split("\n")[0])
    p.add_argument("--epochs", type=int, default=epochs)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=out)
    args = p.parse_args()
    train_config = TrainConfig(
        epochs=args.epochs,
        seed=args.seed,
        extra_speech_dir="data/realspeech_train",
        noise=(*TrainConfig().noise, *((kind,) if kind else ())),
        **config,
    )
    t0 = time.time()
    result = train_from_directory(
        "data/sample", train_config, out=args.out, device="cpu", progress=False
    )
    best = max(result.history.val_si_sdr)
    print(f"{time.time() - t0:.0f} s; best validation SI-SDR {best:.2f} dB", flush=True)
