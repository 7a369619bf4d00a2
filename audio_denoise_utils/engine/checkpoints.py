"""Checkpoint files: atomic writes, safe loading and the checks that make a bad file one clear line.

Engine code: not course material. Notebooks call :func:`save_checkpoint` / :func:`load_checkpoint`
through :mod:`audio_denoise_utils.training`.
"""

from __future__ import annotations

import dataclasses
import math
import os
import pickle
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from .. import __version__
from ..errors import AudioDenoiseError, CheckpointError, InvalidArgumentError, OutputError
from ..files import atomic_write
from .checks import check_sample_rate
from .paths import explain_write_failure

PathLike = str | os.PathLike

CHECKPOINT_FORMAT = "audio-denoise-checkpoint"
CHECKPOINT_VERSION = 1
#: Config fields that define the learning-rate schedule: a resumed run must keep them.
SCHEDULE_FIELDS = ("epochs", "steps_per_epoch", "schedule", "lr", "warmup_fraction")


# Settings that older checkpoints (checkpoints/default.pt) still carry; nothing sets them now.
_RETIRED_FIELDS = {"num_threads", "val_every", "val_batch_size"}


def config_from_dict(cls: type, data: dict[str, Any]) -> Any:
    """Return the dataclass ``cls`` (TrainConfig) from its ``to_dict`` output.

    Unknown keys are ignored with a warning (retired ones silently); JSON lists become tuples.
    """
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names - _RETIRED_FIELDS)
    if unknown:
        warnings.warn(f"ignoring unknown {cls.__name__} keys {unknown}", stacklevel=3)
    kwargs = {k: v for k, v in data.items() if k in names}
    for key in ("snr_db", "noise", "speed_perturb"):
        if isinstance(kwargs.get(key), list):
            kwargs[key] = tuple(kwargs[key])
    if "model_kwargs" in kwargs:
        kwargs["model_kwargs"] = dict(kwargs["model_kwargs"] or {})
    return cls(**kwargs)


def plain(obj: Any) -> Any:
    """Return ``obj`` with tuples turned into lists and numpy/torch scalars into Python ones."""
    if isinstance(obj, dict):
        return {str(k): plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [plain(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, torch.Tensor) and obj.numel() == 1:
        return obj.item()
    if isinstance(obj, Path):
        return str(obj)
    return obj


def unwrap_model(model: nn.Module) -> nn.Module:
    """Return the plain model inside DistributedDataParallel / DataParallel / torch.compile."""
    while True:
        if isinstance(model, nn.parallel.DistributedDataParallel | nn.DataParallel):
            model = model.module
        elif hasattr(model, "_orig_mod") and isinstance(model._orig_mod, nn.Module):
            model = model._orig_mod
        else:
            return model


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


def save_checkpoint(
    path: PathLike,
    model: nn.Module,
    *,
    optimizer: torch.optim.Optimizer | None = None,
    scheduler: Any | None = None,
    scaler: torch.amp.GradScaler | None = None,
    epoch: int = 0,
    history: Any | None = None,
    train_config: Any | None = None,
    extra: dict[str, Any] | None = None,
    state_dict: dict[str, torch.Tensor] | None = None,
) -> Path:
    """Write a checkpoint atomically (temp file + rename) and return its path.

    The file holds only plain containers, tensors, strings and numbers, so it loads with
    ``torch.load(path, weights_only=True)``. ``state_dict`` overrides the model's own weights
    (e.g. the best epoch's). A DDP-wrapped model is saved without the ``module.`` prefix.
    ``history`` and ``train_config`` are saved through their ``to_dict()``.
    """
    path = Path(path)
    bare = unwrap_model(model)
    weights = state_dict if state_dict is not None else bare.state_dict()
    payload: dict[str, Any] = {
        "format": CHECKPOINT_FORMAT,
        "version": CHECKPOINT_VERSION,
        "model": {
            "name": model_name(bare),
            "config": plain(dict(getattr(bare, "config", {}) or {})),
        },
        "state_dict": {k: v.detach().cpu() for k, v in strip_prefixes(weights).items()},
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
        reason = explain_write_failure(path.parent, first_line(exc))
        raise OutputError(f"{path}: cannot write the checkpoint ({reason})") from None
    return path


def strip_prefixes(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Return ``state`` without the ``module.`` (DDP) and ``_orig_mod.`` (torch.compile) prefixes."""
    out = {}
    for key, value in state.items():
        while key.startswith(("module.", "_orig_mod.")):
            key = key.split(".", 1)[1]
        out[key] = value
    return out


def read_checkpoint(path: PathLike, map_location: Any = "cpu") -> dict[str, Any]:
    """Return the checkpoint dict at ``path`` after checking it is one of ours (CheckpointError)."""
    p = Path(path)
    if not p.exists():
        raise CheckpointError(f"{p}: no such checkpoint file")
    if not p.is_file():
        raise CheckpointError(f"{p}: is not a file")
    if p.stat().st_size == 0:
        raise CheckpointError(f"{p}: empty file, not a checkpoint")
    with open(p, "rb") as fh:
        magic = fh.read(4)
    if magic != b"PK\x03\x04":  # torch.save writes a zip archive; anything else is not ours
        raise CheckpointError(
            f"{p}: not a checkpoint (a PyTorch checkpoint is a zip archive; this file is not)"
        )
    try:
        # weights_only=True: the unpickler only rebuilds tensors and plain containers, so a
        # malicious file cannot run code while loading.
        ckpt = torch.load(p, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        if "weights only" in str(exc).lower() or "weights_only" in str(exc).lower():
            raise CheckpointError(
                f"{p}: not a safe checkpoint (it needs arbitrary code to load, refused): "
                f"{first_line(exc)}"
            ) from None
        raise CheckpointError(f"{p}: corrupt or not a checkpoint ({first_line(exc)})") from None
    except (
        RuntimeError,
        EOFError,
        OSError,
        ValueError,
        KeyError,
        IndexError,
        AttributeError,
        TypeError,
    ) as exc:
        raise CheckpointError(f"{p}: truncated or corrupt checkpoint ({first_line(exc)})") from None
    _check_layout(ckpt, p)
    _check_finite_weights(ckpt, p)
    return ckpt


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


def _check_layout(ckpt: Any, p: Path) -> None:
    """Raise CheckpointError unless ``ckpt`` is a checkpoint dict this package can read."""
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


def first_line(exc: BaseException) -> str:
    """Return the first line of an exception's message (at most 200 characters)."""
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


def load_weights(model: nn.Module, ckpt: dict[str, Any], path: PathLike) -> None:
    """Load the checkpoint's weights into ``model`` (CheckpointError when they do not fit)."""
    try:
        unwrap_model(model).load_state_dict(strip_prefixes(ckpt["state_dict"]), strict=True)
    except (RuntimeError, KeyError, ValueError) as exc:
        raise CheckpointError(
            f"{path}: the weights do not fit model {ckpt['model']['name']!r} ({first_line(exc)})"
        ) from None


def _checked_config(config: Any, path: PathLike) -> dict[str, Any]:
    """Return a model config read from a checkpoint after checking its shape and numbers.

    A config edited by hand (or written by something else) must fail here, naming the file, not
    later as a model producing NaN or a resampler asked for an absurd rate.
    """
    if not isinstance(config, dict) or not all(isinstance(k, str) for k in config):
        raise CheckpointError(f"{path}: the model config is not a table of named settings")
    for key, value in config.items():
        items = value if isinstance(value, list | tuple) else [value]  # the U-Net's channels
        for item in items:
            if isinstance(item, float) and not math.isfinite(item):
                raise CheckpointError(
                    f"{path}: the model config's {key} is {value}, not a finite number"
                )
            if item is not None and not isinstance(item, bool | int | float | str):
                raise CheckpointError(
                    f"{path}: the model config's {key} holds a {type(item).__name__}, "
                    "not a plain value"
                )
    if "sample_rate" in config:
        try:
            check_sample_rate(config["sample_rate"], "the model's sample rate")
        except InvalidArgumentError as exc:
            raise CheckpointError(f"{path}: {exc}") from None
    return dict(config)


def load_checkpoint(path: PathLike, map_location: Any = "cpu") -> tuple[nn.Module, dict[str, Any]]:
    """Return (model in eval mode on ``map_location``, checkpoint dict) rebuilt via models.build_model.

    Raises CheckpointError naming the file for a missing, empty, truncated or corrupt file, an
    unsafe pickle, a file that is not ours, an unknown model name or weights that do not fit.
    The dict holds "epoch", "history" and "train_config" as plain dicts (see
    ``training.History`` and ``training.TrainConfig`` ``.from_dict``).
    """
    from ..models import MODELS

    ckpt = read_checkpoint(path, map_location=map_location)
    name = ckpt["model"]["name"]
    if name not in MODELS:
        raise CheckpointError(f"{path}: unknown model {name!r} (known models: {sorted(MODELS)})")
    config = _checked_config(ckpt["model"].get("config") or {}, path)
    try:
        # The weights are overwritten: keep the global RNG as it is.
        with torch.random.fork_rng(devices=[]):
            model = MODELS[name](**config)  # not build_model: its message would repeat ours
    except (TypeError, ValueError, RuntimeError) as exc:
        raise CheckpointError(
            f"{path}: cannot rebuild model {name!r} from its config ({first_line(exc)})"
        ) from None
    load_weights(model, ckpt, path)
    if (
        map_location is not None
        and not callable(map_location)
        and not isinstance(map_location, dict)
    ):
        model.to(map_location)
    model.eval()
    return model, ckpt


def load_init_model(path: PathLike, expected: str) -> nn.Module:
    """Return the model in checkpoint ``path``, in training mode, to fine-tune (``TrainConfig.init_from``).

    Raises CheckpointError for a file ``load_checkpoint`` refuses, and AudioDenoiseError when it
    holds another model than ``expected`` (the config's ``model``).
    """
    model, _ = load_checkpoint(path)
    if model_name(model) != expected:
        raise AudioDenoiseError(f"{path}: holds a {model_name(model)!r} model, not {expected!r}")
    return model.train()


def check_resumable(ckpt: dict, config: Any, path: PathLike) -> None:
    """Raise CheckpointError unless a run with ``config`` can continue from ``ckpt``."""
    if not ckpt.get("optimizer") or not ckpt.get("scheduler"):
        raise CheckpointError(
            f"{path}: holds weights only (no optimizer or schedule state) and cannot be resumed; "
            "resume from last.pt in the run folder, or start a new run from these weights"
        )
    old = ckpt.get("train_config") or {}
    # The schedule, what a run optimises, where its weights began and which epoch --out keeps stay
    # as they were (a setting the saved run lacks predates it).
    kept = ("loss", "init_from", "keep")
    for fields, what in ((SCHEDULE_FIELDS, "learning-rate schedule"), (kept, "")):
        changed = [
            k
            for k in fields
            if old.get(k) is not None and plain(old[k]) != plain(getattr(config, k))
        ]
        if changed:
            details = ", ".join(f"{k}: {old[k]!r} -> {getattr(config, k)!r}" for k in changed)
            raise CheckpointError(
                f"{path}: cannot resume with a different {what or ' or '.join(changed)} ({details}); "
                "resume with the original settings, or start a new run from these weights"
            )
