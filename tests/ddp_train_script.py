"""Tiny training fixtures shared by test_training.py and test_ddp.py, and a torchrun entry point.

As a script (one process per rank, CPU + gloo):

    python -m torch.distributed.run --nproc_per_node 2 tests/ddp_train_script.py --out DIR

trains the tiny model for 2 tiny epochs with :func:`audio_denoise_utils.training.fit` (which
joins the process group, wraps the model in DDP and destroys the group), and each rank writes
``DIR/rank{r}.json``: a hash of its initial and final weights and of the first batch it drew.
Rank 0 also writes ``DIR/run/last.pt`` and ``best.pt``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import sys
from pathlib import Path

import torch
from torch import nn

from audio_denoise_utils import models
from audio_denoise_utils.training import TrainConfig

SR = 8000


@models.register_model("tiny_test")
class TinyDenoiser(nn.Module):
    """A two-layer residual conv net (a few hundred parameters): (batch, 1, time) -> same."""

    def __init__(self, channels: int = 6, kernel: int = 15, sample_rate: int = SR) -> None:
        super().__init__()
        self.config = {"channels": channels, "kernel": kernel, "sample_rate": sample_rate}
        self.inp = nn.Conv1d(1, channels, kernel, padding=kernel // 2)
        self.out = nn.Conv1d(channels, 1, kernel, padding=kernel // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.out(torch.tanh(self.inp(x)))


def synthetic_speech(
    n: int, seconds: float = 0.6, sr: int = SR, seed: int = 0
) -> list[torch.Tensor]:
    """Return ``n`` harmonic "voiced speech" clips (1, time): gliding f0, 1/k harmonics, syllables."""
    gen = torch.Generator().manual_seed(seed)
    t = torch.arange(int(seconds * sr)) / sr
    clips = []
    for _ in range(n):
        f0 = 110 + 120 * torch.rand(1, generator=gen).item()
        glide = 1 + 0.1 * torch.sin(2 * math.pi * (0.5 + torch.rand(1, generator=gen).item()) * t)
        phase = 2 * math.pi * torch.cumsum(f0 * glide, 0) / sr
        voice = sum(torch.sin(k * phase) / k for k in range(1, 7))
        rate = 3 + 2 * torch.rand(1, generator=gen).item()  # syllables per second
        envelope = torch.sin(math.pi * rate * t).clamp(min=0) ** 2
        wav = 0.3 * voice * envelope / voice.abs().max()
        clips.append(wav.reshape(1, -1).float())
    return clips


def tiny_config(**overrides) -> TrainConfig:
    """Return a seconds-long CPU TrainConfig for the tiny model (override any field)."""
    base = dict(
        model="tiny_test",
        epochs=2,
        steps_per_epoch=4,
        batch_size=4,
        segment_seconds=0.25,
        sample_rate=SR,
        lr=3e-3,
        loss="si_sdr",
        snr_db=(0.0, 10.0),
        noise=("white",),  # the loop mechanics, not the noise mix, are under test
    )
    base.update(overrides)
    return TrainConfig(**base)


def state_hash(module: nn.Module) -> str:
    """Return a sha256 over the module's state dict (names and exact float bytes)."""
    h = hashlib.sha256()
    for name, value in sorted(module.state_dict().items()):
        h.update(name.encode())
        h.update(value.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def main(argv: list[str] | None = None) -> int:
    from audio_denoise_utils.dataset import NoisyCleanDataset
    from audio_denoise_utils.training import fit, make_corruption, make_model

    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--epochs", type=int, default=2)
    args = parser.parse_args(argv)
    out = Path(args.out)
    rank = int(os.environ.get("RANK", "0"))
    world = int(os.environ.get("WORLD_SIZE", "1"))
    torch.set_num_threads(1)

    config = tiny_config(epochs=args.epochs, steps_per_epoch=3)
    train = synthetic_speech(8, seed=1)
    val = synthetic_speech(4, seed=2)
    model = make_model(config)  # same seed on every rank (DDP also broadcasts rank 0's weights)
    init_hash = state_hash(model)

    # The first batch this rank will draw, made exactly as fit() makes it.
    data = NoisyCleanDataset(
        train,
        make_corruption(config, train),
        segment=round(config.segment_seconds * SR),
        seed=config.seed,
        sr=SR,
        speed_perturb=config.speed_perturb,
    )
    first_batch, _ = next(data.batches(0, 1, config.batch_size, rank=rank))

    history = fit(model, train, val, config, device="cpu", out_dir=out / "run", progress=False)
    report = {
        "rank": rank,
        "world": world,
        "initial": init_hash,
        "final": state_hash(model),
        "first_batch": hashlib.sha256(first_batch.numpy().tobytes()).hexdigest(),
        "epochs": len(history),
        "val_si_sdr": history.val_si_sdr,
        "train_loss": history.train_loss,
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / f"rank{rank}.json").write_text(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
