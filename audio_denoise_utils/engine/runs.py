"""Training from a RAVDESS-layout folder: what ``audio-denoise train`` runs.

Engine code: not course material. It loads the actor split, picks the device and calls
:func:`audio_denoise_utils.training.fit`.
"""

from __future__ import annotations

import dataclasses
import os
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from ..training import History, TrainConfig, fit
from .device import is_main_process, pick_device

PathLike = str | os.PathLike


@dataclass
class TrainResult:
    """What :func:`train_from_directory` did: checkpoint path, history, device, data, seconds."""

    checkpoint: Path
    history: History
    device: str
    data_dir: Path
    seconds: float

    def __str__(self) -> str:
        h = self.history
        best = h.best_epoch
        score = (
            f"best epoch {best}: val SI-SDR {h.best_val_si_sdr:.2f} dB" if best else "no validation"
        )
        return (
            f"wrote {self.checkpoint} ({len(h)} epochs on {self.device} in {self.seconds:.0f} s; "
            f"{score}; data: {self.data_dir})"
        )


def train_from_directory(
    data_dir: PathLike | None = None,
    config: TrainConfig | None = None,
    out: PathLike | None = None,
    device: str | torch.device = "auto",
    progress: bool = True,
    run_dir: PathLike | None = None,
    resume_from: PathLike | None = None,
) -> TrainResult:
    """Train on a RAVDESS-layout folder split by actor and return a :class:`TrainResult`.

    ``data_dir`` None uses data/ravdess when downloaded, else the bundled sample. Clips are
    decoded once at ``config.sample_rate`` and cached under data/cache. ``out`` receives the best
    checkpoint; ``run_dir`` (optional) receives last.pt/best.pt for resuming.
    """
    from ..ravdess import default_data_dir, load_split

    config = dataclasses.replace(config or TrainConfig())
    config.out = str(out or config.out or "checkpoints/model.pt")
    root = Path(data_dir) if data_dir is not None else default_data_dir()
    _, train = load_split(root, "train", sr=config.sample_rate)
    _, val = load_split(root, "val", limit=config.max_val_clips, sr=config.sample_rate)
    dev = pick_device(device, quiet=not is_main_process())
    t0 = time.perf_counter()
    history = fit(
        None,
        train,
        val,
        config,
        device=dev,
        out_dir=run_dir,
        resume_from=resume_from,
        progress=progress,
    )
    return TrainResult(Path(config.out), history, str(dev), root, time.perf_counter() - t0)
