"""Training engine: device pick, the fit loop, checkpoints, resume, history, multi-GPU (DDP).

The training data are a bank of clean clips sampled at random: every step crops ``batch_size``
segments and corrupts them *on the training device* with a ``torch.Generator`` seeded from
(seed, rank, epoch). An "epoch" is therefore a fixed number of steps, noise is fresh every epoch,
and a resumed run draws exactly the batches the uninterrupted run would have drawn.

Validation uses fixed noisy/clean pairs built once (whole clips, noise fixed per clip and
independent of the training seed), so validation numbers are comparable between runs.

Launched by ``torchrun`` (``WORLD_SIZE`` > 1), :func:`fit` trains with DistributedDataParallel:
one process per device, each sampling its own crops, gradients averaged, only rank 0 writing
checkpoints and showing progress.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import math
import os
import pickle
import random
import sys
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch import nn

from . import DEFAULT_SR, __version__
from .engine.checks import check_audio_tensor, check_seed
from .engine.paths import check_writable_dir, check_writable_file, explain_write_failure
from .errors import AudioDenoiseError, CheckpointError, OutputError
from .files import atomic_write
from .losses import build_loss, si_sdr_per_clip

PathLike = str | os.PathLike

CHECKPOINT_FORMAT = "audio-denoise-checkpoint"
CHECKPOINT_VERSION = 1
#: Config fields that define the learning-rate schedule: a resumed run must keep them.
SCHEDULE_FIELDS = ("epochs", "steps_per_epoch", "schedule", "lr", "warmup_fraction")
_CPU_NOTE = (
    "No GPU found: training on the CPU; this is slower (minutes instead of seconds per epoch). "
    "On Colab choose Runtime > Change runtime type > GPU."
)


# ---------------------------------------------------------------------------------------------
# Device, seeds, processes
# ---------------------------------------------------------------------------------------------


def pick_device(pref: str | torch.device = "auto", quiet: bool = False) -> torch.device:
    """Return the device to train on: CUDA, then Apple MPS, then the CPU (with a visible note).

    ``pref`` is "auto", "cpu", "cuda" (or "cuda:N") or "mps". Asking for a device that is not
    available raises AudioDenoiseError rather than silently training somewhere else.
    """
    pref_str = str(pref).strip().lower()
    if pref_str == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        if not quiet:
            print(_CPU_NOTE, file=sys.stderr)
        return torch.device("cpu")
    try:
        device = torch.device(pref_str)
    except RuntimeError as exc:
        raise AudioDenoiseError(
            f"unknown device {pref!r}; use auto, cpu, cuda or mps ({exc})"
        ) from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise AudioDenoiseError(
                "device 'cuda' was asked for but no CUDA GPU is available "
                "(use --device auto or cpu, or install a CUDA build of torch)"
            )
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise AudioDenoiseError(
                f"device {pref_str!r} was asked for but only {torch.cuda.device_count()} "
                "CUDA GPU(s) are visible"
            )
    elif device.type == "mps":
        if not _mps_available():
            raise AudioDenoiseError("device 'mps' was asked for but Apple MPS is not available")
    elif device.type != "cpu":
        raise AudioDenoiseError(f"unsupported device {pref!r}; use auto, cpu, cuda or mps")
    return device


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def seed_everything(seed: int, deterministic: bool = False) -> None:
    """Seed Python's, numpy's and torch's global RNGs (all devices); returns None.

    The package itself never draws from global RNGs; this is for learners' own cells. With
    ``deterministic=True`` torch is also asked for deterministic kernels (slower on GPU; ops
    without a deterministic version only warn).
    """
    seed = check_seed(seed)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if deterministic:
        # cuBLAS needs this set before its first use to be deterministic.
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.backends.cudnn.benchmark = False
        torch.backends.cudnn.deterministic = True
        torch.use_deterministic_algorithms(True, warn_only=True)


def derive_seed(*parts: int) -> int:
    """Return a well-mixed 63-bit seed from integers (e.g. seed, rank, epoch) without collisions."""
    ss = np.random.SeedSequence([int(p) % 2**63 for p in parts])
    return int(ss.generate_state(1, dtype=np.uint64)[0] >> 1)


def train_generator(
    seed: int, rank: int, epoch: int, device: torch.device | str
) -> torch.Generator:
    """Return the generator that draws crops and noise for one rank in one epoch (0-based)."""
    gen = torch.Generator(device=torch.device(device))
    gen.manual_seed(derive_seed(seed, rank, epoch))
    return gen


def is_main_process() -> bool:
    """Return True on rank 0 of a distributed run, and always in a single-process run."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank() == 0
    return int(os.environ.get("RANK", "0")) == 0


@dataclass(frozen=True)
class _Dist:
    rank: int = 0
    world: int = 1
    local_rank: int = 0
    owns_group: bool = False  # True when fit() created the process group and must destroy it


def _setup_distributed(device: torch.device | None) -> tuple[_Dist, torch.device | None]:
    """Join the torchrun process group when WORLD_SIZE > 1; return its layout and pinned device."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1 or not dist.is_available():
        return _Dist(), device
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if device is None:
        device = torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")
    if device.type == "cuda":
        # One process per GPU: LOCAL_RANK picks this process's GPU.
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    owns = False
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
        owns = True
    return _Dist(dist.get_rank(), dist.get_world_size(), local_rank, owns), device


# ---------------------------------------------------------------------------------------------
# Configuration and history
# ---------------------------------------------------------------------------------------------


@dataclass
class TrainConfig:
    """Everything that defines a training run; JSON-able through ``dataclasses.asdict``."""

    model: str = "mask"  # a name in models.MODELS
    model_kwargs: dict[str, Any] = field(default_factory=dict)
    epochs: int = 20
    steps_per_epoch: int = 100  # an epoch is a fixed number of steps: the clip bank is sampled
    batch_size: int = 16
    segment_seconds: float = 2.0
    sample_rate: int = DEFAULT_SR
    lr: float = 1e-3  # peak learning rate
    weight_decay: float = 1e-4
    schedule: str = "onecycle"  # "onecycle", "cosine" (linear warmup) or "constant"
    warmup_fraction: float = 0.1  # share of all steps spent warming up
    grad_clip: float | None = 5.0  # max gradient norm; None: no clipping
    loss: str = "si_sdr"  # a losses.build_loss spec (the benchmark found no gain from +mrstft)
    snr_db: tuple[float, float] = (-5.0, 20.0)  # training (and validation) SNR range
    noise: tuple[str, ...] = ("white",)  # noise kinds, see noise.Corruption
    # Folder of real noise recordings (WAV/FLAC/...) for the kind "recorded", e.g.
    # data/realnoise/train from scripts/fetch_real_noise.py (never the benchmark's folder).
    noise_dir: str | None = None
    multiplicative: bool = False  # also random gain and slow amplitude modulation
    # Extra copies of the training clips at these speeds ("new voices"): +0.7-1.3 dB SI-SDR on
    # real speakers for a model trained on the bundled synthetic voices.
    speed_perturb: tuple[float, ...] = (0.85, 0.92, 1.08, 1.15)
    amp: str = "auto"  # "auto" (bf16/fp16 on CUDA, off elsewhere), "bf16", "fp16" or "off"
    seed: int = 0  # model init and training crops/noise
    val_seed: int = 0  # validation noise: kept apart so val numbers compare across seeds
    num_threads: int | None = None  # torch CPU threads during fit (None: leave as is)
    val_every: int = 1  # validate every this many epochs (and always after the last)
    val_batch_size: int = 8  # validation clips of equal length are batched up to this size
    max_val_clips: int | None = 64  # evenly spaced subset of the validation clips; None: all
    time_budget_s: float | None = None  # stop cleanly once this many seconds have passed
    out: str | None = None  # final checkpoint (best by validation SI-SDR), written during fit

    def __post_init__(self) -> None:
        # A single noise kind may be given as a string: "white" means ("white",); likewise a
        # single SNR: 5.0 means (5.0, 5.0).
        if isinstance(self.noise, str):
            self.noise = (self.noise,)
        if isinstance(self.snr_db, int | float):
            self.snr_db = (float(self.snr_db), float(self.snr_db))
        self.snr_db = tuple(self.snr_db)
        self.noise = tuple(self.noise)
        self.speed_perturb = tuple(self.speed_perturb)
        self.seed = check_seed(self.seed, "TrainConfig.seed")
        self.val_seed = check_seed(self.val_seed, "TrainConfig.val_seed")

    def to_dict(self) -> dict[str, Any]:
        """Return the config as a JSON-able dict (tuples become lists)."""
        return _plain(asdict(self))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        """Return a config from :meth:`to_dict` output; unknown keys are ignored with a warning."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            warnings.warn(f"ignoring unknown TrainConfig keys {unknown}", stacklevel=2)
        kwargs = {k: v for k, v in data.items() if k in names}
        for key in ("snr_db", "noise", "speed_perturb"):
            if isinstance(kwargs.get(key), list):
                kwargs[key] = tuple(kwargs[key])
        if "model_kwargs" in kwargs:
            kwargs["model_kwargs"] = dict(kwargs["model_kwargs"] or {})
        return cls(**kwargs)

    @property
    def total_steps(self) -> int:
        """Return the number of optimiser steps of the whole run."""
        return self.epochs * self.steps_per_epoch


@dataclass
class History:
    """Per-epoch training record (lists of equal length); JSON-able through :meth:`to_dict`.

    ``val_loss`` and ``val_si_sdr`` are None for epochs without validation. ``data_time_share``
    is the fraction of step time spent making the batch (cropping + corrupting), so a learner
    can see whether the model or the data pipeline is the bottleneck.
    """

    epoch: list[int] = field(default_factory=list)  # 1-based epoch number
    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float | None] = field(default_factory=list)
    val_si_sdr: list[float | None] = field(default_factory=list)  # dB, higher is better
    lr: list[float] = field(default_factory=list)  # learning rate of the epoch's last step
    epoch_time: list[float] = field(default_factory=list)  # seconds, validation included
    data_time_share: list[float] = field(default_factory=list)
    steps: list[int] = field(default_factory=list)  # steps run (fewer when the budget cut it)

    def __len__(self) -> int:
        return len(self.epoch)

    def append(self, **row: Any) -> None:
        """Add one epoch's values (every field by name)."""
        for f in dataclasses.fields(self):
            getattr(self, f.name).append(row[f.name])

    @property
    def best_epoch(self) -> int | None:
        """Return the epoch number with the highest validation SI-SDR (None before any)."""
        scored = [
            (s, e)
            for e, s in zip(self.epoch, self.val_si_sdr, strict=True)
            if s is not None and math.isfinite(s)  # a NaN epoch (e.g. fp16 overflow) is never best
        ]
        if not scored:
            return None
        best = max(s for s, _ in scored)
        return next(e for s, e in scored if s == best)  # earliest epoch among ties

    @property
    def best_val_si_sdr(self) -> float | None:
        """Return the best validation SI-SDR in dB (None before any validation)."""
        scores = [s for s in self.val_si_sdr if s is not None and math.isfinite(s)]
        return max(scores) if scores else None

    def to_frame(self):  # -> pandas.DataFrame (pandas imported lazily)
        """Return the history as a pandas DataFrame indexed by epoch (missing values NaN)."""
        import pandas as pd

        data = {
            f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "epoch"
        }
        frame = pd.DataFrame(data, index=pd.Index(self.epoch, name="epoch"), dtype="float64")
        frame["steps"] = frame["steps"].astype("int64")
        return frame

    def to_dict(self) -> dict[str, list]:
        """Return the history as a JSON-able dict of lists."""
        return _plain(asdict(self))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> History:
        """Return a history from :meth:`to_dict` output (missing fields become empty lists)."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: list(v) for k, v in data.items() if k in names})


def _plain(obj: Any) -> Any:
    """Return ``obj`` with tuples turned into lists and numpy/torch scalars into Python ones."""
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_plain(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, torch.Tensor) and obj.numel() == 1:
        return obj.item()
    if isinstance(obj, Path):
        return str(obj)
    return obj


# ---------------------------------------------------------------------------------------------
# Model, schedule, precision
# ---------------------------------------------------------------------------------------------


def make_model(config: TrainConfig) -> nn.Module:
    """Return ``config.model`` built from ``config.model_kwargs``, initialised from ``config.seed``.

    Layer initialisers draw from torch's global RNG; building under ``torch.random.fork_rng``
    with a fixed seed makes the initial weights a function of the seed while leaving the
    caller's global RNG state exactly as it was.
    """
    from .models import build_model

    kwargs = dict(config.model_kwargs)
    kwargs.setdefault("sample_rate", config.sample_rate)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        try:
            return build_model(config.model, **kwargs)
        except (ValueError, TypeError) as exc:
            raise AudioDenoiseError(f"cannot build model {config.model!r}: {exc}") from None


def model_name(model: nn.Module) -> str:
    """Return the registry name of ``model`` (unwrapping DDP / torch.compile wrappers)."""
    model = unwrap_model(model)
    name = getattr(type(model), "model_name", None)
    if not isinstance(name, str):
        raise AudioDenoiseError(
            f"{type(model).__name__} is not a registered model (decorate it with "
            "models.register_model(name)) so a checkpoint could not rebuild it"
        )
    return name


def unwrap_model(model: nn.Module) -> nn.Module:
    """Return the plain model inside DistributedDataParallel / DataParallel / torch.compile."""
    while True:
        if isinstance(model, nn.parallel.DistributedDataParallel | nn.DataParallel):
            model = model.module
        elif hasattr(model, "_orig_mod") and isinstance(model._orig_mod, nn.Module):
            model = model._orig_mod
        else:
            return model


def lr_factor(step: int, *, total_steps: int, warmup_steps: int, schedule: str) -> float:
    """Return the multiplier of the peak learning rate at optimiser step ``step`` (0-based).

    "onecycle": cosine rise from 1/25 to 1 over the warmup, then cosine decay to 1/250000 (the
    shape of torch's OneCycleLR, without momentum cycling). "cosine": linear rise from 0, then
    cosine decay to 0. "constant": 1.
    """
    if schedule == "constant":
        return 1.0
    step = min(step, total_steps)
    if schedule == "onecycle":
        start, end = 1 / 25, 1 / 25 / 1e4
        if step < warmup_steps:
            return start + (1 - start) * (1 - math.cos(math.pi * step / warmup_steps)) / 2
        t = (step - warmup_steps) / max(1, total_steps - warmup_steps)
        return end + (1 - end) * (1 + math.cos(math.pi * t)) / 2
    if schedule == "cosine":
        if step < warmup_steps:
            return (step + 1) / (warmup_steps + 1)
        t = (step - warmup_steps) / max(1, total_steps - warmup_steps)
        return (1 + math.cos(math.pi * t)) / 2
    raise AudioDenoiseError(f"unknown lr schedule {schedule!r}; use onecycle, cosine or constant")


def _build_scheduler(
    optimizer: torch.optim.Optimizer, config: TrainConfig
) -> torch.optim.lr_scheduler.LambdaLR:
    # A functools.partial of a module-level function keeps the scheduler's state_dict plain
    # (no pickled callables), so checkpoints load with weights_only=True on any torch version.
    fn = functools.partial(
        lr_factor,
        total_steps=config.total_steps,
        warmup_steps=int(round(config.warmup_fraction * config.total_steps)),
        schedule=config.schedule,
    )
    fn(0)  # fail early on an unknown schedule name
    return torch.optim.lr_scheduler.LambdaLR(optimizer, fn)


def _amp_dtype(amp: str, device: torch.device) -> torch.dtype | None:
    """Return the autocast dtype for ``amp`` on ``device`` (None: full float32)."""
    amp = amp.lower()
    if amp not in {"auto", "bf16", "fp16", "off"}:
        raise AudioDenoiseError(f"unknown amp setting {amp!r}; use auto, bf16, fp16 or off")
    if device.type != "cuda" or amp == "off":
        if amp in {"bf16", "fp16"}:
            warnings.warn(f"amp={amp!r} is only used on CUDA; training in float32", stacklevel=3)
        return None
    if amp == "fp16":
        return torch.float16
    if amp == "bf16" or torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return torch.float16  # older GPUs (before Ampere): fp16 with a GradScaler


def load_noise_dir(folder: PathLike | None, sr: int = DEFAULT_SR) -> list[torch.Tensor]:
    """Return every audio file under ``folder`` as (1, time) at ``sr``, sorted by path."""
    from .audio import load_audio

    if folder is None or not Path(folder).is_dir():
        raise AudioDenoiseError(
            f"noise kind 'recorded' needs noise_dir, a folder of noise recordings; got {folder!r} "
            "(run `python scripts/fetch_real_noise.py` for data/realnoise/train)"
        )
    suffixes = {".wav", ".flac", ".ogg", ".aiff", ".aif"}
    files = sorted(p for p in Path(folder).rglob("*") if p.suffix.lower() in suffixes)
    if not files:
        raise AudioDenoiseError(f"{folder}: holds no audio files (.wav, .flac, .ogg, .aiff)")
    return [load_audio(p, sr) for p in files]


def _make_corruption(config: TrainConfig, babble_clips: Sequence[torch.Tensor] = ()):
    """Return the noise.Corruption that ``config`` describes (AudioDenoiseError if invalid)."""
    from .noise import Corruption

    lo, hi = (float(v) for v in config.snr_db)
    noise = config.noise[0] if len(config.noise) == 1 else tuple(config.noise)
    noise_clips = (
        load_noise_dir(config.noise_dir, config.sample_rate) if "recorded" in config.noise else None
    )
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


# ---------------------------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------------------------


def build_validation_pairs(
    clips: Sequence[torch.Tensor], corruption: Callable, seed: int = 0
) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Return fixed (noisy (1, T), clean (1, T)) pairs: clip i gets noise from seed (seed, i).

    The noise is drawn on the CPU, so the pairs are the same whatever device trains.
    """
    pairs = []
    for i, clip in enumerate(clips):
        clean = clip.detach().float().cpu().reshape(1, 1, -1)
        gen = torch.Generator().manual_seed(derive_seed(seed, 0x5A11D, i))
        noisy = corruption(clean, gen)
        pairs.append((noisy[0], clean[0]))
    return pairs


def _subset(clips: Sequence[torch.Tensor], limit: int | None) -> list[torch.Tensor]:
    if limit is None or len(clips) <= limit:
        return list(clips)
    idx = np.linspace(0, len(clips) - 1, limit).round().astype(int)
    return [clips[i] for i in idx]


def _length_batches(
    pairs: Sequence[tuple[torch.Tensor, torch.Tensor]], size: int
) -> Iterator[list[int]]:
    """Yield index lists of equal-length pairs, at most ``size`` each (no padding needed)."""
    by_len: dict[int, list[int]] = {}
    for i, (_, clean) in enumerate(pairs):
        by_len.setdefault(clean.shape[-1], []).append(i)
    for idx in by_len.values():
        for k in range(0, len(idx), max(1, size)):
            yield idx[k : k + size]


@torch.no_grad()
def _validate(
    model: nn.Module,
    pairs: Sequence[tuple[torch.Tensor, torch.Tensor]],
    loss_fn: Callable,
    device: torch.device,
    amp_dtype: torch.dtype | None,
    batch_size: int,
    ddp: _Dist,
) -> tuple[float, float] | None:
    """Return (mean loss, mean SI-SDR dB) over all ranks' shards of ``pairs``; None if empty."""
    was_training = model.training
    model.eval()
    # Each rank scores every world-th pair; sums are then added across ranks.
    mine = [pairs[i] for i in range(ddp.rank, len(pairs), ddp.world)]
    sums = torch.zeros(3, dtype=torch.float64, device=device)  # loss * n, si-sdr sum, n
    for idx in _length_batches(mine, batch_size):
        noisy = torch.stack([mine[i][0] for i in idx]).to(device)
        clean = torch.stack([mine[i][1] for i in idx]).to(device)
        with _autocast(device, amp_dtype):
            est = model(noisy)
        est = est.float()
        sums[0] += float(loss_fn(est, clean)) * len(idx)
        sums[1] += si_sdr_per_clip(est, clean).sum().double()
        sums[2] += len(idx)
    if ddp.world > 1:
        dist.all_reduce(sums)
    model.train(was_training)
    if sums[2] == 0:
        return None
    return float(sums[0] / sums[2]), float(sums[1] / sums[2])


def _autocast(device: torch.device, dtype: torch.dtype | None):
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


# ---------------------------------------------------------------------------------------------
# The fit loop
# ---------------------------------------------------------------------------------------------


def _sync(device: torch.device) -> None:
    # CUDA kernels run asynchronously: wait for them so perf_counter measures the work itself.
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def _check_resumable(ckpt: dict, config: TrainConfig, path: PathLike) -> None:
    if not ckpt.get("optimizer") or not ckpt.get("scheduler"):
        raise CheckpointError(
            f"{path}: holds weights only (no optimizer or schedule state) and cannot be resumed; "
            "resume from last.pt in the run folder, or start a new run from these weights"
        )
    old = ckpt.get("train_config") or {}
    changed = [
        k for k in SCHEDULE_FIELDS if k in old and _plain(old[k]) != _plain(getattr(config, k))
    ]
    if changed:
        details = ", ".join(f"{k}: {old[k]!r} -> {getattr(config, k)!r}" for k in changed)
        raise CheckpointError(
            f"{path}: cannot resume with a different learning-rate schedule ({details}); "
            "resume with the original settings, or start a new run from these weights"
        )


def _stop_flag(value: bool, device: torch.device, ddp: _Dist) -> bool:
    """Return rank 0's ``value`` on every rank, so all ranks stop at the same step."""
    if ddp.world <= 1:
        return value
    flag = torch.tensor([1.0 if value else 0.0], device=device)
    dist.broadcast(flag, src=0)
    return bool(flag.item())


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
) -> History:
    """Train ``model`` on clips (1, time) and return its :class:`History` (the model is trained in place).

    - ``model``: a registered model, or None to build ``config.model`` with :func:`make_model`.
    - ``device``: None picks one (:func:`pick_device`); under torchrun each rank takes its GPU.
    - ``out_dir``: receives ``last.pt`` after every epoch and ``best.pt`` (best validation SI-SDR).
      ``config.out``, when set, receives the best checkpoint too.
    - ``resume_from``: a checkpoint written by ``fit``; training continues after its epoch with the
      optimiser, schedule and AMP scaler state restored (crops and noise are seeded per epoch), so
      on the CPU the result equals an uninterrupted run for models without dropout (dropout
      draws from torch's global RNG). The schedule settings must match; a weights-only
      checkpoint (``config.out``) is refused: resume from ``out_dir/last.pt``.
    - ``callback(history)`` runs after every epoch on the main process (live plots); returning
      True stops training after that epoch. ``stop_after=k`` stops after epoch k (the schedule
      still spans ``config.epochs``; resume later to finish).
    - ``config.time_budget_s``: training stops at the first step past the budget (minus the
      expected validation time); that epoch is validated and saved as done.
    """
    from .dataset import ClipBank

    config = config or TrainConfig()
    t_start = time.perf_counter()
    if device is not None:
        device = pick_device(device) if not isinstance(device, torch.device) else device
    ddp, device = _setup_distributed(device)
    main = ddp.rank == 0
    if device is None:
        device = pick_device("auto", quiet=not main)
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
    if config.steps_per_epoch < 1 or config.epochs < 1 or config.batch_size < 1:
        raise AudioDenoiseError("epochs, steps_per_epoch and batch_size must be at least 1")

    if model is None:
        model = make_model(config)
    # Record what was actually trained, whatever config.model says.
    config = dataclasses.replace(
        config, model=model_name(model), model_kwargs=dict(getattr(model, "config", {}) or {})
    )
    sr = int(config.model_kwargs.get("sample_rate", config.sample_rate))
    if sr != config.sample_rate:
        raise AudioDenoiseError(
            f"the model works at {sr} Hz but the config says sample_rate={config.sample_rate}; "
            "load the clips at the model's rate and set config.sample_rate to match"
        )
    segment = max(1, int(round(config.segment_seconds * sr)))

    old_threads = torch.get_num_threads()
    if config.num_threads:
        torch.set_num_threads(config.num_threads)
    try:
        model.to(device)
        model.train()
        net: nn.Module = model
        if ddp.world > 1:
            net = nn.parallel.DistributedDataParallel(
                model, device_ids=[device.index] if device.type == "cuda" else None
            )
        try:
            loss_fn = build_loss(config.loss)
        except ValueError as exc:
            raise AudioDenoiseError(f"config.loss: {exc}") from None
        if isinstance(loss_fn, nn.Module):
            loss_fn.to(device)  # STFT windows live on the training device
        corruption = _make_corruption(config, train_clips)
        optimizer = torch.optim.AdamW(
            model.parameters(), lr=config.lr, weight_decay=config.weight_decay
        )
        scheduler = _build_scheduler(optimizer, config)
        amp_dtype = _amp_dtype(config.amp, device)
        scaler = torch.amp.GradScaler(device.type, enabled=amp_dtype == torch.float16)

        # Speed-perturbed copies go straight into the bank: never a second list of all of them.
        bank = ClipBank.with_speed_perturbation(
            [c.detach().reshape(1, -1) for c in train_clips], config.speed_perturb, device, sr
        )
        val_pairs = [
            (noisy.to(device), clean.to(device))
            for noisy, clean in build_validation_pairs(
                _subset(val_clips, config.max_val_clips), corruption, seed=config.val_seed
            )
        ]

        history = History()
        start_epoch = 0
        if resume_from is not None:
            ckpt = _read_checkpoint(resume_from, map_location=device)
            _check_resumable(ckpt, config, resume_from)
            _load_weights(model, ckpt, resume_from)
            for key, obj in (
                ("optimizer", optimizer),
                ("scheduler", scheduler),
                ("scaler", scaler),
            ):
                if ckpt.get(key):
                    obj.load_state_dict(ckpt[key])
            history = History.from_dict(ckpt.get("history") or {})
            start_epoch = int(ckpt.get("epoch", 0))

        out_path = Path(out_dir) if out_dir is not None else None
        if main and out_path is not None:
            out_path.mkdir(parents=True, exist_ok=True)

        show = progress and main
        from tqdm.auto import tqdm

        epochs_bar = tqdm(
            range(start_epoch, config.epochs),
            desc="epochs",
            initial=start_epoch,
            total=config.epochs,
            disable=not show,
            dynamic_ncols=True,
        )
        val_time_estimate = 0.0
        stop = False
        for epoch in epochs_bar:
            t_epoch = time.perf_counter()
            gen = train_generator(config.seed, ddp.rank, epoch, device)
            loss_sum, data_time, step_time, steps_done = 0.0, 0.0, 0.0, 0
            lr_now = optimizer.param_groups[0]["lr"]
            steps_bar = tqdm(
                range(config.steps_per_epoch),
                desc=f"epoch {epoch + 1}",
                leave=False,
                disable=not show,
                dynamic_ncols=True,
            )
            for _ in steps_bar:
                _sync(device)
                t0 = time.perf_counter()
                clean = bank.sample(config.batch_size, segment, gen)
                noisy = corruption(clean, gen)
                _sync(device)
                t1 = time.perf_counter()

                lr_now = optimizer.param_groups[0]["lr"]
                with _autocast(device, amp_dtype):
                    est = net(noisy)
                # The loss (STFTs, logs) runs in float32 even under autocast.
                loss = loss_fn(est.float(), clean)
                optimizer.zero_grad(set_to_none=True)
                scaler.scale(loss).backward()
                scaler.unscale_(optimizer)
                # The norm of the (rank-averaged) gradient: the same on every rank, so all ranks
                # agree on divergence. With fp16 the scaler skips non-finite steps by itself.
                grad_norm = nn.utils.clip_grad_norm_(
                    model.parameters(), config.grad_clip or math.inf
                )
                if not scaler.is_enabled() and not torch.isfinite(grad_norm):
                    raise AudioDenoiseError(
                        f"training diverged: non-finite gradients (loss {float(loss.detach()):.4g}) at "
                        f"epoch {epoch + 1}; try a lower learning rate (lr={config.lr})"
                    )
                scaler.step(optimizer)
                scaler.update()
                with warnings.catch_warnings():
                    # fp16: the scaler skips the optimiser step on overflow; the schedule still
                    # follows the step count, which torch would warn about on every skip.
                    warnings.filterwarnings(
                        "ignore", "Detected call of `lr_scheduler.step", UserWarning
                    )
                    scheduler.step()
                loss_value = float(loss.detach())
                _sync(device)
                t2 = time.perf_counter()

                loss_sum += loss_value
                data_time += t1 - t0
                step_time += t2 - t0
                steps_done += 1
                steps_bar.set_postfix(loss=f"{loss_value:.4g}", refresh=False)
                if config.time_budget_s is not None:
                    over = time.perf_counter() - t_start + val_time_estimate > config.time_budget_s
                    if _stop_flag(over, device, ddp):
                        stop = True
                        break
            steps_bar.close()

            # Train loss and data share averaged over ranks (every rank ran the same steps).
            stats = torch.tensor(
                [loss_sum / steps_done, data_time / max(step_time, 1e-12)],
                dtype=torch.float64,
                device=device,
            )
            if ddp.world > 1:
                dist.all_reduce(stats)
                stats /= ddp.world
            train_loss, data_share = float(stats[0]), min(1.0, max(0.0, float(stats[1])))

            last_epoch = (
                epoch + 1 == config.epochs
                or stop
                or (stop_after is not None and epoch + 1 >= stop_after)
            )
            val = None
            if val_pairs and ((epoch + 1) % max(1, config.val_every) == 0 or last_epoch):
                t_val = time.perf_counter()
                # The plain model, not the DDP wrapper: ranks score different numbers of batches,
                # and DDP's forward would wait for the other ranks at every call.
                val = _validate(
                    model, val_pairs, loss_fn, device, amp_dtype, config.val_batch_size, ddp
                )
                val_time_estimate = time.perf_counter() - t_val
            history.append(
                epoch=epoch + 1,
                train_loss=train_loss,
                val_loss=None if val is None else val[0],
                val_si_sdr=None if val is None else val[1],
                lr=lr_now,
                epoch_time=time.perf_counter() - t_epoch,
                data_time_share=data_share,
                steps=steps_done,
            )
            # Without validation clips the latest weights count as the best.
            improved = not val_pairs or (val is not None and history.best_epoch == epoch + 1)
            if main:
                common = dict(
                    optimizer=optimizer,
                    scheduler=scheduler,
                    scaler=scaler,
                    history=history,
                    train_config=config,
                )
                if out_path is not None:
                    save_checkpoint(out_path / "last.pt", model, epoch=epoch + 1, **common)
                    if improved:
                        save_checkpoint(out_path / "best.pt", model, epoch=epoch + 1, **common)
                if config.out and improved:
                    # The final checkpoint is for inference: weights, config and history only
                    # (no optimizer state), so it stays small; resume from out_dir/last.pt.
                    save_checkpoint(
                        config.out, model, epoch=epoch + 1, history=history, train_config=config
                    )
                postfix = {"train": f"{train_loss:.4g}"}
                if val is not None:
                    postfix.update(val=f"{val[0]:.4g}", si_sdr=f"{val[1]:.2f}dB")
                epochs_bar.set_postfix(postfix)
            wants_stop = False
            if callback is not None and main:
                wants_stop = callback(history) is True
            if stop_after is not None and epoch + 1 >= stop_after:
                wants_stop = True
            if _stop_flag(wants_stop or stop, device, ddp):
                break
        epochs_bar.close()
        if ddp.world > 1:
            dist.barrier()  # rank 0 may still be writing a checkpoint the others will read
        return history
    finally:
        torch.set_num_threads(old_threads)
        if ddp.owns_group and dist.is_initialized():
            dist.destroy_process_group()


# ---------------------------------------------------------------------------------------------
# Checkpoints
# ---------------------------------------------------------------------------------------------


def save_checkpoint(
    path: PathLike,
    model: nn.Module,
    *,
    optimizer: torch.optim.Optimizer | None = None,
    scheduler: Any | None = None,
    scaler: torch.amp.GradScaler | None = None,
    epoch: int = 0,
    history: History | None = None,
    train_config: TrainConfig | None = None,
    extra: dict[str, Any] | None = None,
    state_dict: dict[str, torch.Tensor] | None = None,
) -> Path:
    """Write a checkpoint atomically (temp file + rename) and return its path.

    The file holds only plain containers, tensors, strings and numbers, so it loads with
    ``torch.load(path, weights_only=True)``. ``state_dict`` overrides the model's own weights
    (e.g. the best epoch's). A DDP-wrapped model is saved without the ``module.`` prefix.
    """
    path = Path(path)
    plain = unwrap_model(model)
    weights = state_dict if state_dict is not None else plain.state_dict()
    payload: dict[str, Any] = {
        "format": CHECKPOINT_FORMAT,
        "version": CHECKPOINT_VERSION,
        "model": {
            "name": model_name(plain),
            "config": _plain(dict(getattr(plain, "config", {}) or {})),
        },
        "state_dict": {k: v.detach().cpu() for k, v in _strip_prefixes(weights).items()},
        "epoch": int(epoch),
        "optimizer": optimizer.state_dict() if optimizer is not None else None,
        "scheduler": scheduler.state_dict() if scheduler is not None else None,
        "scaler": scaler.state_dict() if scaler is not None else None,
        "history": history.to_dict() if history is not None else None,
        "train_config": train_config.to_dict() if train_config is not None else None,
        "extra": extra or {},
        "package_version": __version__,
        "torch_version": str(torch.__version__),
    }
    try:
        with atomic_write(path, suffix=".tmp") as tmp, open(tmp, "wb") as fh:
            torch.save(payload, fh)
            fh.flush()
            os.fsync(fh.fileno())
    except RuntimeError as exc:  # torch's zip writer reports a full disk as a RuntimeError
        reason = explain_write_failure(path.parent, _first_line(exc))
        raise OutputError(f"{path}: cannot write the checkpoint ({reason})") from None
    return path


def _strip_prefixes(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Return ``state`` without the ``module.`` (DDP) and ``_orig_mod.`` (torch.compile) prefixes."""
    out = {}
    for key, value in state.items():
        while key.startswith(("module.", "_orig_mod.")):
            key = key.split(".", 1)[1]
        out[key] = value
    return out


def _read_checkpoint(path: PathLike, map_location: Any = "cpu") -> dict[str, Any]:
    """Return the checkpoint dict at ``path`` after checking it is one of ours (CheckpointError)."""
    p = Path(path)
    if not p.exists():
        raise CheckpointError(f"{p}: no such checkpoint file")
    if not p.is_file():
        raise CheckpointError(f"{p}: is not a file")
    if p.stat().st_size == 0:
        raise CheckpointError(f"{p}: empty file, not a checkpoint")
    try:
        # weights_only=True: the unpickler only rebuilds tensors and plain containers, so a
        # malicious file cannot run code while loading.
        ckpt = torch.load(p, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        if "weights only" in str(exc).lower() or "weights_only" in str(exc).lower():
            raise CheckpointError(
                f"{p}: not a safe checkpoint (it needs arbitrary code to load, refused): "
                f"{_first_line(exc)}"
            ) from None
        raise CheckpointError(f"{p}: corrupt or not a checkpoint ({_first_line(exc)})") from None
    except (
        RuntimeError,
        EOFError,
        OSError,
        ValueError,
        KeyError,
        AttributeError,
        TypeError,
    ) as exc:
        raise CheckpointError(
            f"{p}: truncated or corrupt checkpoint ({_first_line(exc)})"
        ) from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(
            f"{p}: not an audio-denoise checkpoint (no {CHECKPOINT_FORMAT!r} format key)"
        )
    version = ckpt.get("version")
    if not isinstance(version, int) or version > CHECKPOINT_VERSION:
        raise CheckpointError(
            f"{p}: checkpoint version {version!r} is newer than this package understands "
            f"({CHECKPOINT_VERSION}); upgrade audio-denoise-utils"
        )
    meta = ckpt.get("model")
    if (
        not isinstance(meta, dict)
        or not isinstance(meta.get("name"), str)
        or not isinstance(ckpt.get("state_dict"), dict)
    ):
        raise CheckpointError(f"{p}: checkpoint lacks the model name or its weights")
    _check_finite_weights(ckpt, p)
    return ckpt


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


def _check_finite_weights(ckpt: dict[str, Any], path: PathLike) -> None:
    """Raise CheckpointError if any floating-point weight is NaN or infinite (a diverged run)."""
    bad = [
        k
        for k, v in ckpt["state_dict"].items()
        if isinstance(v, torch.Tensor) and v.is_floating_point() and not bool(v.isfinite().all())
    ]
    if bad:
        raise CheckpointError(
            f"{path}: {len(bad)} weight tensor(s) hold NaN or infinite values (first: {bad[0]!r}); "
            "the run that wrote it diverged: use an earlier checkpoint or train again"
        )


def _load_weights(model: nn.Module, ckpt: dict[str, Any], path: PathLike) -> None:
    try:
        unwrap_model(model).load_state_dict(_strip_prefixes(ckpt["state_dict"]), strict=True)
    except (RuntimeError, KeyError, ValueError) as exc:
        raise CheckpointError(
            f"{path}: the weights do not fit model {ckpt['model']['name']!r} ({_first_line(exc)})"
        ) from None


def load_checkpoint(path: PathLike, map_location: Any = "cpu") -> tuple[nn.Module, dict[str, Any]]:
    """Return (model in eval mode on ``map_location``, checkpoint dict) rebuilt via models.build_model.

    Raises CheckpointError naming the file for a missing, empty, truncated or corrupt file, an
    unsafe pickle, a file that is not ours, an unknown model name or weights that do not fit.
    The dict holds "epoch", "history" and "train_config" as plain dicts (see :class:`History`,
    :class:`TrainConfig` ``.from_dict``).
    """
    from .models import MODELS, build_model

    ckpt = _read_checkpoint(path, map_location=map_location)
    name = ckpt["model"]["name"]
    if name not in MODELS:
        raise CheckpointError(f"{path}: unknown model {name!r} (known models: {sorted(MODELS)})")
    config = dict(ckpt["model"].get("config") or {})
    try:
        with torch.random.fork_rng(
            devices=[]
        ):  # the weights are overwritten: keep global RNG as is
            model = build_model(name, **config)
    except (TypeError, ValueError) as exc:
        raise CheckpointError(
            f"{path}: cannot rebuild model {name!r} from its config ({_first_line(exc)})"
        ) from None
    _load_weights(model, ckpt, path)
    if (
        map_location is not None
        and not callable(map_location)
        and not isinstance(map_location, dict)
    ):
        model.to(map_location)
    model.eval()
    return model, ckpt


# ---------------------------------------------------------------------------------------------
# From a data folder (the CLI's `audio-denoise train`)
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
    history = fit(None, train_clips, [], probe, device=device, progress=False)
    return min(history.epoch_time[1:]) / steps


def resume_config(
    path: PathLike, overrides: dict[str, Any] | None = None
) -> tuple[TrainConfig, int]:
    """Return (the config saved in a run's last.pt with ``overrides`` applied, epochs it finished).

    For ``audio-denoise train --resume``: settings the user does not repeat come from the run.
    A checkpoint that cannot be resumed (weights only, or changed schedule) raises CheckpointError.
    """
    ckpt = _read_checkpoint(path)
    saved = ckpt.get("train_config")
    if not isinstance(saved, dict):
        raise CheckpointError(f"{path}: holds no training settings, so it cannot be resumed")
    config = dataclasses.replace(TrainConfig.from_dict(saved), **(overrides or {}))
    _check_resumable(ckpt, config, path)
    return config, int(ckpt.get("epoch", 0))


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

    ``data_dir`` None uses <home>/data/ravdess when downloaded, else the bundled sample. Clips are
    decoded once at ``config.sample_rate`` and cached in :func:`paths.cache_dir`. ``out`` (default
    :func:`paths.default_checkpoint_out`) receives the best checkpoint; ``run_dir`` (optional)
    receives last.pt/best.pt for resuming.
    """
    from . import paths
    from .ravdess import default_data_dir, load_split

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


__all__ = [
    "CHECKPOINT_FORMAT",
    "CHECKPOINT_VERSION",
    "History",
    "TrainConfig",
    "TrainResult",
    "build_validation_pairs",
    "derive_seed",
    "fit",
    "is_main_process",
    "load_checkpoint",
    "lr_factor",
    "make_model",
    "model_name",
    "pick_device",
    "resume_config",
    "save_checkpoint",
    "seconds_per_step",
    "seed_everything",
    "train_from_directory",
    "train_generator",
    "unwrap_model",
]
