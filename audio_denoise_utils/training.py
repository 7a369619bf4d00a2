"""Training a denoiser: the loop notebook 04 builds, and the package runs.

The core is four functions, in the order a learner writes them:

- :func:`train_step`: forward, loss, ``zero_grad``, ``backward``, ``step``; returns the loss.
- :func:`run_epoch`: :func:`train_step` over an epoch's batches; returns the mean loss.
- :func:`validate`: the mean SI-SDR (dB) of the model's outputs on fixed validation pairs.
- :func:`fit`: epochs of ``steps_per_epoch`` random batches from a
  :class:`~audio_denoise_utils.dataset.NoisyCleanDataset`, validation after each, a
  :class:`History`.

Engineering joins the loop only through the ``engine`` hooks (``engine.autocast()``,
``engine.backward(loss)``, ``engine.step(optimizer)``, ...). With
:class:`~audio_denoise_utils.engine.trainer.PlainEngine` each hook is the plain line
(``loss.backward()``, ``optimizer.step()``), so :func:`fit` is exactly a hand-written loop;
:class:`~audio_denoise_utils.engine.trainer.Engine`, the default, adds mixed precision, gradient
clipping, the learning-rate schedule, several GPUs (DDP), progress bars, time budgets,
checkpoints and resume. That code lives in :mod:`audio_denoise_utils.engine`: it is engineering,
not course material.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from . import DEFAULT_SR
from .audio import load_noise_dir, load_speech_dir
from .dataset import NoisyCleanDataset, derive_seed
from .engine.checkpoints import (
    CHECKPOINT_FORMAT,
    CHECKPOINT_VERSION,
    config_from_dict,
    load_checkpoint,
    load_init_model,
    model_name,
    plain,
    save_checkpoint,
    unwrap_model,
)
from .engine.checks import check_audio_tensor, check_seed
from .engine.device import is_main_process, pick_device, seed_everything
from .engine.history import History  # the per-epoch record fit returns (engine code)
from .engine.trainer import Engine, PlainEngine, lr_factor
from .errors import AudioDenoiseError
from .losses import build_loss, si_sdr

PathLike = str | os.PathLike
PLAIN = PlainEngine()  # the hooks of a hand-written loop: backward() and step(), nothing else


# ---------------------------------------------------------------------------------------------
# Configuration and history
# ---------------------------------------------------------------------------------------------


@dataclass
class TrainConfig:
    """Everything that defines a training run; JSON-able through ``dataclasses.asdict``."""

    model: str = "mask"  # a name in models.MODELS
    model_kwargs: dict[str, Any] = field(default_factory=dict)
    epochs: int = 20
    # An epoch is a fixed number of random batches; 20 x 70 steps fit 10 minutes on 2 CPU cores.
    steps_per_epoch: int = 70
    batch_size: int = 16
    segment_seconds: float = 2.0
    sample_rate: int = DEFAULT_SR
    lr: float = 1e-3  # peak learning rate
    weight_decay: float = 1e-4
    schedule: str = "onecycle"  # "onecycle" (warm-up, then decay) or "constant"
    warmup_fraction: float = 0.1  # share of all steps spent warming up
    grad_clip: float | None = 5.0  # max gradient norm; None: no clipping
    loss: str = "si_sdr"  # "si_sdr" (the course's) or "mse" (the original study's): losses.LOSSES
    init_from: str | None = None  # a checkpoint to fine-tune (its model and weights); None: fresh
    snr_db: tuple[float, float] = (-5.0, 20.0)  # training (and validation) SNR range
    # Noise kinds, one drawn per clip (see noise.Corruption): every kind notebook 02 teaches, with
    # babble made of the other training clips (benchmarks/results/recipes.md chose this mix).
    noise: tuple[str, ...] = ("white", "pink", "brown", "hum", "tones", "machine", "babble")
    # Folder of real noise recordings (WAV/FLAC/...) for the kind "recorded", e.g.
    # data/realnoise/train from scripts/fetch_real_noise.py (never the benchmark's folder).
    noise_dir: str | None = None
    # Folder of extra clean voices, added to the training clips (never to validation), e.g.
    # real speakers from data/realspeech_train (scripts/fetch_real_speech.py --set train).
    extra_speech_dir: str | None = None
    multiplicative: bool = False  # also random gain and slow amplitude modulation
    # Extra copies of the training clips at these speeds ("new voices"): +0.7-1.3 dB SI-SDR on
    # real speakers for a model trained on the bundled synthetic voices.
    speed_perturb: tuple[float, ...] = (0.85, 0.92, 1.08, 1.15)
    amp: str = "auto"  # "auto" (bf16/fp16 on CUDA, off elsewhere), "bf16", "fp16" or "off"
    seed: int = 0  # model init and training crops/noise
    val_seed: int = 0  # validation noise: kept apart so val numbers compare across seeds
    max_val_clips: int | None = 64  # evenly spaced subset of the validation clips; None: all
    time_budget_s: float | None = None  # stop cleanly once this many seconds have passed
    out: str | None = None  # final checkpoint, written during fit: the epoch ``keep`` names
    keep: str = "best"  # "best" (by validation SI-SDR) or "last" (e.g. a fixed fine-tuning run)

    def __post_init__(self) -> None:
        # One noise kind or SNR may be given alone: "white" means ("white",), 5.0 (5.0, 5.0).
        if isinstance(self.noise, str):
            self.noise = (self.noise,)
        if isinstance(self.snr_db, int | float):
            self.snr_db = (float(self.snr_db), float(self.snr_db))
        self.snr_db = tuple(self.snr_db)
        self.noise = tuple("original" if k == "seed" else k for k in self.noise)  # old name
        self.speed_perturb = tuple(self.speed_perturb)
        self.seed = check_seed(self.seed, "TrainConfig.seed")
        self.val_seed = check_seed(self.val_seed, "TrainConfig.val_seed")
        if min(self.epochs, self.steps_per_epoch, self.batch_size) < 1:
            raise AudioDenoiseError("epochs, steps_per_epoch and batch_size must be at least 1")

    def to_dict(self) -> dict[str, Any]:
        """Return the config as a JSON-able dict (tuples become lists)."""
        return plain(asdict(self))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        """Return a config from :meth:`to_dict` output; unknown keys are ignored with a warning."""
        return config_from_dict(cls, data)

    @property
    def total_steps(self) -> int:
        """Return the number of optimiser steps of the whole run."""
        return self.epochs * self.steps_per_epoch


# ---------------------------------------------------------------------------------------------
# The loop
# ---------------------------------------------------------------------------------------------


def make_model(config: TrainConfig) -> nn.Module:
    """Return ``config.model`` built from ``config.model_kwargs``, initialised from ``config.seed``.

    Layer initialisers draw from torch's global RNG; building under ``torch.random.fork_rng``
    with a fixed seed makes the initial weights a function of the seed while leaving the
    caller's global RNG state exactly as it was.
    """
    from .models import build_model

    if config.init_from:  # fine-tuning: that checkpoint's model and weights (engine code)
        return load_init_model(config.init_from, config.model)
    kwargs = dict(config.model_kwargs)
    kwargs.setdefault("sample_rate", config.sample_rate)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        try:
            return build_model(config.model, **kwargs)
        except (ValueError, TypeError) as exc:
            raise AudioDenoiseError(f"cannot build model {config.model!r}: {exc}") from None


def make_corruption(config: TrainConfig, babble_clips: Sequence[torch.Tensor] = ()):
    """Return the noise.Corruption that ``config`` describes (AudioDenoiseError if invalid)."""
    from .noise import Corruption

    lo, hi = (float(v) for v in config.snr_db)
    noise = config.noise[0] if len(config.noise) == 1 else tuple(config.noise)
    recorded = "recorded" in config.noise
    noise_clips = load_noise_dir(config.noise_dir, config.sample_rate) if recorded else None
    try:
        return Corruption(
            snr_db=(lo, hi),
            noise=noise,
            multiplicative=config.multiplicative,
            sr=config.sample_rate,
            # Babble is made of the training speakers, never the validation ones.
            babble_clips=list(babble_clips) if "babble" in config.noise else None,
            noise_clips=noise_clips,
        )
    except ValueError as exc:
        raise AudioDenoiseError(f"invalid noise settings in the training config: {exc}") from None


def train_step(model, noisy, clean, loss_fn, optimizer, engine=PLAIN) -> float:
    """Return the loss of one optimiser step on a batch: forward, loss, backward, update."""
    with engine.autocast():  # plain: nothing; Engine: mixed precision on a GPU
        estimate = model(noisy)
    loss = loss_fn(estimate.float(), clean)  # the loss is computed in float32
    optimizer.zero_grad()
    engine.backward(loss)  # plain: loss.backward()
    engine.step(optimizer)  # plain: optimizer.step(); Engine: + clipping, lr schedule
    return loss.item()


def run_epoch(model, batches: Iterable, loss_fn, optimizer, engine=PLAIN) -> float:
    """Return the mean training loss over one epoch's ``batches`` of (noisy, clean)."""
    model.train()
    losses = [
        train_step(model, noisy, clean, loss_fn, optimizer, engine)
        for noisy, clean in engine.track(batches)  # Engine: progress bar, time budget
    ]
    return sum(losses) / len(losses)


@torch.no_grad()
def validate(model, pairs, engine=PLAIN, metric: Callable = si_sdr) -> float:
    """Return the mean SI-SDR in dB (or of ``metric``) of the model's outputs over (noisy, clean) pairs."""
    model.eval()  # dropout off
    scores = []
    for noisy, clean in engine.shard(pairs):  # Engine with DDP: this GPU's share
        with engine.autocast():
            estimate = model(noisy.unsqueeze(0))  # one clip: (1, 1, time)
        scores.append(metric(estimate.float(), clean.unsqueeze(0)))
    model.train()
    return engine.mean(scores)  # Engine with DDP: the mean over all GPUs


def fit(
    model: nn.Module | None,
    train_clips: Sequence[torch.Tensor],
    val_clips: Sequence[torch.Tensor],
    config: TrainConfig | None = None,
    *,
    device: torch.device | str | None = None,
    out_dir: PathLike | None = None,
    resume_from: PathLike | None = None,
    progress: bool = True,
    callback: Callable[[History], Any] | None = None,
    stop_after: int | None = None,
    engine: PlainEngine | None = None,
) -> History:
    """Train ``model`` (None: :func:`make_model`) on clips (1, time) in place; return its History.

    ``out_dir`` receives ``last.pt`` every epoch and ``best.pt`` (best validation SI-SDR);
    ``resume_from`` continues a run from its ``last.pt``; ``callback(history)`` runs after every
    epoch (True stops); ``stop_after=k`` stops after epoch k: see
    :class:`~audio_denoise_utils.engine.trainer.Engine`. ``engine=PlainEngine()`` runs the
    bare loop instead (no AMP, clipping, schedule or checkpoints).
    """
    config = config or TrainConfig()
    if engine is None:
        engine = Engine(
            config,
            device,
            out_dir=out_dir,
            progress=progress,
            callback=callback,
            stop_after=stop_after,
        )
    with engine.running():  # Engine: picks the device; joins the process group under torchrun
        model = model if model is not None else make_model(config)
        config = engine.adopt(model, config)  # records the model actually trained
        train_data, val_pairs = make_data(config, train_clips, val_clips, engine.device)
        loss_fn = build_loss(config.loss)
        optimizer = torch.optim.AdamW(
            model.parameters(), lr=config.lr, weight_decay=config.weight_decay
        )
        net, saved = engine.prepare(model, optimizer, loss_fn, resume_from)  # Engine: DDP, resume
        history = History.from_dict(saved)
        for epoch in engine.epochs():
            batches = train_data.batches(
                epoch, config.steps_per_epoch, config.batch_size, engine.rank
            )
            train_loss = engine.average(run_epoch(net, batches, loss_fn, optimizer, engine))
            val_si_sdr = validate(model, val_pairs, engine) if val_pairs else None
            val_loss = None
            if val_si_sdr is not None:  # the SI-SDR loss is minus the metric: no second pass
                val_loss = (
                    -val_si_sdr
                    if config.loss == "si_sdr"
                    else validate(model, val_pairs, engine, metric=loss_fn)
                )
            history.append(
                epoch=epoch + 1,
                train_loss=train_loss,
                val_loss=val_loss,
                val_si_sdr=val_si_sdr,
                **engine.epoch_stats(),  # learning rate, seconds, data-time share, steps
            )
            engine.end_epoch(history, model, optimizer)  # Engine: checkpoints, callback
            if engine.should_stop(history):  # Engine: callback, stop_after, time budget
                break
    return history


def make_data(
    config: TrainConfig,
    train_clips: Sequence[torch.Tensor],
    val_clips: Sequence[torch.Tensor],
    device: torch.device | str = "cpu",
) -> tuple[NoisyCleanDataset, list[tuple[torch.Tensor, torch.Tensor]]]:
    """Return (the training NoisyCleanDataset, fixed validation pairs on ``device``) for ``config``."""
    if config.extra_speech_dir:  # more voices to learn from (training only)
        train_clips = list(train_clips) + load_speech_dir(
            config.extra_speech_dir, config.sample_rate
        )
    if not train_clips:
        raise AudioDenoiseError("fit() needs at least one training clip")
    # Once per run: a bad clip fails here with its index, not mid-epoch (numpy clips converted).
    train_clips = [
        check_audio_tensor(c, f"fit: train_clips[{i}]", ndims=(1, 2))
        for i, c in enumerate(train_clips)
    ]
    val_clips = [
        check_audio_tensor(c, f"fit: val_clips[{i}]", ndims=(1, 2)) for i, c in enumerate(val_clips)
    ]
    sr = config.sample_rate
    corruption = make_corruption(config, babble_clips=train_clips)
    train_data = NoisyCleanDataset(
        train_clips,
        corruption,
        segment=max(1, round(config.segment_seconds * sr)),
        seed=config.seed,
        sr=sr,
        speed_perturb=config.speed_perturb,
        device=device,
        # Full RAVDESS with four speed copies is 1.3 GB as float32: half that as float16.
        storage=torch.float16,
    )
    val_clips = evenly_spaced(val_clips, config.max_val_clips)
    if not val_clips:
        return train_data, []
    val_data = NoisyCleanDataset(val_clips, corruption, train=False, seed=config.val_seed, sr=sr)
    return train_data, [(noisy.to(device), clean.to(device)) for noisy, clean in val_data]


def evenly_spaced(items: Sequence[Any], limit: int | None) -> list[Any]:
    """Return at most ``limit`` items spread evenly over ``items`` (all of them when None)."""
    if limit is None or len(items) <= limit:
        return list(items)
    idx = np.linspace(0, len(items) - 1, limit).round().astype(int)
    return [items[i] for i in idx]


__all__ = [
    "CHECKPOINT_FORMAT",
    "CHECKPOINT_VERSION",
    "Engine",
    "History",
    "PlainEngine",
    "TrainConfig",
    "derive_seed",
    "evenly_spaced",
    "fit",
    "is_main_process",
    "load_checkpoint",
    "lr_factor",
    "load_noise_dir",
    "make_corruption",
    "make_data",
    "make_model",
    "model_name",
    "pick_device",
    "run_epoch",
    "save_checkpoint",
    "seed_everything",
    "train_step",
    "unwrap_model",
    "validate",
]
