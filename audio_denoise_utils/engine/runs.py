"""Training and evaluating from a RAVDESS-layout folder: what ``audio-denoise train``/``evaluate`` run.

Engine code: not course material. They load an actor split, pick the device and call
:func:`audio_denoise_utils.training.fit` or :func:`audio_denoise_utils.metrics.evaluate`.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from .. import training
from ..errors import AudioLoadError, CheckpointError
from ..metrics import METRICS
from ..training import History, TrainConfig
from .checkpoints import check_resumable, read_checkpoint
from .device import is_main_process, pick_device
from .paths import check_writable_dir, check_writable_file

if TYPE_CHECKING:
    import pandas as pd

PathLike = str | os.PathLike


@dataclass
class TrainResult:
    """What :func:`train_from_directory` did: checkpoint path, history, device, data, seconds."""

    checkpoint: Path
    history: History
    device: str
    data_dir: Path
    seconds: float
    config: TrainConfig | None = None  # the run's settings (to tell a finished run from a cut one)
    unchanged: bool = False  # the checkpoint was there before and this run did not rewrite it

    @property
    def finished(self) -> bool:
        """Return False when the run stopped before its last step (its time budget, a callback)."""
        h, c = self.history, self.config
        if c is None:  # settings unknown: nothing to compare against
            return True
        return bool(len(h)) and h.epoch[-1] >= c.epochs and h.steps[-1] >= c.steps_per_epoch

    def __str__(self) -> str:
        h = self.history
        best = h.best_epoch
        score = (
            f"best epoch {best}: val SI-SDR {h.best_val_si_sdr:.2f} dB" if best else "no validation"
        )
        if best and self.config is not None and self.config.keep == "last":
            score = f"kept the last epoch, {h.last_scored_epoch}; {score}"
        text = (
            f"{'kept' if self.unchanged else 'wrote'} {self.checkpoint} ({len(h)} epochs on "
            f"{self.device} in {self.seconds:.0f} s; {score}; data: {self.data_dir})"
            + (": unchanged by this run" if self.unchanged else "")
        )
        if self.config is not None and not self.finished:
            done = h.epoch[-1] if len(h) else 0
            budget = self.config.time_budget_s
            why = f" (time budget {budget:.0f} s)" if budget is not None else ""
            text += (
                f"\nstopped early, in epoch {done} of {self.config.epochs}{why}: "
                "the same command with --resume continues"
            )
        return text


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

    ``data_dir`` None uses <home>/data/ravdess when downloaded, else the bundled sample. Clips are
    decoded once at ``config.sample_rate`` and cached in :func:`paths.cache_dir`. ``out`` (default
    :func:`paths.default_checkpoint_out`) receives the best checkpoint; ``run_dir`` (optional)
    receives last.pt/best.pt for resuming.
    """
    from .. import paths
    from ..ravdess import default_data_dir, load_split

    config = dataclasses.replace(config or TrainConfig())
    config.out = str(out or config.out or paths.default_checkpoint_out())
    # Outputs are checked before any audio is decoded: an unwritable place fails in a second.
    check_writable_file(config.out, "checkpoint")
    if run_dir is not None:
        check_writable_dir(run_dir, "run folder")
    root = Path(data_dir) if data_dir is not None else default_data_dir()
    _, train = load_split(root, "train", sr=config.sample_rate)
    _, val = load_split(root, "val", limit=config.max_val_clips, sr=config.sample_rate)
    dev = pick_device(device, quiet=not is_main_process())
    t0 = time.perf_counter()
    # A resumed run's weights come from its last.pt: a fine-tuning run's init_from may be gone.
    model = (
        training.make_model(dataclasses.replace(config, init_from=None)) if resume_from else None
    )
    # training.fit looked up at call time, so a test (or a learner) can swap the loop.
    history = training.fit(
        model,
        train,
        val,
        config,
        device=dev,
        out_dir=run_dir,
        resume_from=resume_from,
        progress=progress,
    )
    seconds = time.perf_counter() - t0
    return TrainResult(Path(config.out), history, str(dev), root, seconds, config)


def resume_config(
    path: PathLike, overrides: dict[str, Any] | None = None
) -> tuple[TrainConfig, int]:
    """Return (the config saved in a run's last.pt with ``overrides`` applied, epochs it finished).

    For ``audio-denoise train --resume``: settings the user does not repeat come from the run.
    A checkpoint that cannot be resumed (weights only, or changed schedule) raises CheckpointError.
    """
    ckpt = read_checkpoint(path)
    saved = ckpt.get("train_config")
    if not isinstance(saved, dict):
        raise CheckpointError(f"{path}: holds no training settings, so it cannot be resumed")
    config = dataclasses.replace(TrainConfig.from_dict(saved), **(overrides or {}))
    check_resumable(ckpt, config, path)
    return config, int(ckpt.get("epoch", 0))


def evaluate_checkpoint(
    checkpoint: str | os.PathLike,
    data_dir: str | os.PathLike | None = None,
    snrs: Sequence[float] = (0, 5, 10),
    noise: str = "white",
    max_clips: int | None = None,
    include_baselines: bool = True,
    metrics: Sequence[str] = METRICS,
    progress: bool = True,
    seed: int = 0,
) -> pd.DataFrame:
    """Return the :func:`evaluate` table of a checkpoint (and the baselines) on held-out actors.

    ``data_dir`` is a RAVDESS-layout folder (default: RAVDESS when downloaded, else the bundled
    sample); its test actors (see ``ravdess.split_by_actor``) are speakers the model never saw.
    """
    from ..baselines import baselines_for
    from ..enhance import as_method
    from ..metrics import evaluate
    from ..ravdess import load_split
    from .checkpoints import load_checkpoint, model_name

    model, _ = load_checkpoint(checkpoint)
    sr = int(model.config.get("sample_rate", 16000))
    table, clips = load_split(data_dir, "test", limit=max_clips, sr=sr)
    for path, clip in zip(table["path"], clips, strict=True):
        check_scorable(clip, sr, path)
    methods = dict(baselines_for(sr)) if include_baselines else {}
    methods[model_name(model)] = as_method(model.eval(), sr)
    return evaluate(
        methods, clips, snrs=snrs, noise=noise, sr=sr, seed=seed, metrics=metrics, progress=progress
    )


# STOI needs 30 frames of 25.6 ms that hold speech (about 0.4 s) and returns a constant 1e-5 below
# that; PESQ about 0.25 s. Shorter clips would give numbers that mean nothing.
MIN_EVAL_SECONDS = 0.5


def check_scorable(clip: torch.Tensor, sr: int, path: str | os.PathLike) -> None:
    """Raise AudioLoadError naming ``path`` if a test clip is too short or holds no sound to score."""
    seconds = clip.shape[-1] / sr
    if seconds < MIN_EVAL_SECONDS:
        raise AudioLoadError(
            f"{path}: {seconds:.3f} s long; a test clip must be at least {MIN_EVAL_SECONDS} s "
            "for SI-SDR, PESQ and STOI to mean something"
        )
    if bool((clip == clip.reshape(-1)[0]).all()):  # every sample the same: silence or DC
        raise AudioLoadError(
            f"{path}: holds no sound (silent or a constant level), so it cannot be scored; "
            "remove it from the test actors"
        )


# ---------------------------------------------------------------------------------------------
# Estimating a run
# ---------------------------------------------------------------------------------------------


def seconds_per_step(
    config: TrainConfig,
    train_clips: Sequence[torch.Tensor],
    device: str | torch.device | None = None,
    steps: int = 2,
) -> float:
    """Return the measured seconds per optimiser step of ``config`` (a throwaway model, no validation).

    Runs three tiny epochs and keeps the fastest after the first: the first pays start-up costs,
    and the minimum resists a busy moment on a shared machine. Multiply by ``config.total_steps``
    for an honest estimate of a run's length before starting it.
    """
    probe = dataclasses.replace(
        config, epochs=3, steps_per_epoch=steps, out=None, time_budget_s=None
    )
    history = training.fit(None, train_clips, [], probe, device=device, progress=False)
    return min(history.epoch_time[1:]) / steps
