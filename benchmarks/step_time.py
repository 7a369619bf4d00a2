"""Where one training step of the default recipe spends its time: crops, corruption, network.

    python benchmarks/step_time.py [--repeats 10]

Builds ``TrainConfig()``'s dataset and model on the data folder (the bundled sample by default),
then times, per batch: drawing the crops, corrupting them (all kinds together, then each kind
alone) and one optimiser step (forward, loss, backward, update). Run it alone: it measures the
machine as much as the code.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import torch

from audio_denoise_utils import noise, ravdess, training
from audio_denoise_utils.losses import build_loss


def seconds(fn: Callable[[], object], repeats: int) -> float:
    """Return the mean seconds of ``fn()`` over ``repeats`` calls, after one untimed call."""
    fn()
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - start) / repeats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()

    config = training.TrainConfig()
    _, train_clips = ravdess.load_split(split="train")
    _, val_clips = ravdess.load_split(split="val")
    data, _ = training.make_data(config, train_clips, val_clips)
    model = training.make_model(config)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr)
    loss_fn = build_loss(config.loss)
    g = torch.Generator().manual_seed(0)
    segment = round(config.segment_seconds * config.sample_rate)
    clean = data.clips.sample(config.batch_size, segment, g)
    noisy = data.corruption(clean, g)

    def step() -> None:
        optimizer.zero_grad()
        loss_fn(model(noisy), clean).backward()
        optimizer.step()

    r = args.repeats
    print(f"{torch.get_num_threads()} threads, batch {config.batch_size} x {segment} samples")
    print(
        f"crops:      {seconds(lambda: data.clips.sample(config.batch_size, segment, g), r) * 1e3:7.1f} ms"
    )
    print(f"corruption: {seconds(lambda: data.corruption(clean, g), r) * 1e3:7.1f} ms (all kinds)")
    for kind in config.noise:
        babble = list(train_clips) if kind == "babble" else None
        one = noise.Corruption(snr_db=config.snr_db, noise=kind, babble_clips=babble)
        print(f"  {kind:8s}  {seconds(lambda one=one: one(clean, g), r) * 1e3:7.1f} ms")
    print(f"train step: {seconds(step, r) * 1e3:7.1f} ms (forward, loss, backward, update)")


if __name__ == "__main__":
    main()
