"""Argument validation for the public API: one clear InvalidArgumentError instead of a deep traceback.

Each helper returns the value it checked (converted where that is safe), so callers read
``sr = check_sample_rate(sr)``.

Engine code: not course material.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from ..errors import BaselineInputError, InvalidArgumentError

#: Seeds are integers in [0, 2**32 - 1]: torch's CPU generator and numpy's legacy seed keep only
#: 32 bits, so a larger seed would silently equal a smaller one. It is refused instead.
MAX_SEED = 2**32 - 1
#: Sample rates real devices and files use: 1 kHz .. 768 kHz (the top rate of audio converters).
MIN_SAMPLE_RATE, MAX_SAMPLE_RATE = 1_000, 768_000


def check_seed(seed: Any, name: str = "seed") -> int:
    """Return ``seed`` as an int in [0, 2**32 - 1]; raise InvalidArgumentError otherwise."""
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise InvalidArgumentError(f"{name} must be an integer, got {seed!r}")
    seed = int(seed)
    if not 0 <= seed <= MAX_SEED:
        raise InvalidArgumentError(
            f"{name} {seed} is out of range: use an integer from 0 to 2**32 - 1 ({MAX_SEED})"
        )
    return seed


def check_number(
    value: Any,
    name: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    unit: str = "",
) -> float:
    """Return ``value`` as a finite float within [low, high] (``low_open``: strictly above low)."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise InvalidArgumentError(f"{name} must be a number, got {value!r}") from None
    unit = f" {unit}" if unit else ""
    shown = f"{v:g}" if float(f"{v:g}") == v else repr(v)  # 1.0000001 is not "1"
    if not math.isfinite(v):
        raise InvalidArgumentError(f"{name} must be a finite number, got {v}{unit}")
    if low is not None and (v <= low if low_open else v < low):
        bound = f"above {low:g}" if low_open else f"at least {low:g}"
        raise InvalidArgumentError(f"{name} must be {bound}{unit}, got {shown}{unit}")
    if high is not None and v > high:
        raise InvalidArgumentError(f"{name} must be at most {high:g}{unit}, got {shown}{unit}")
    return v


def check_sample_rate(sr: Any, name: str = "sample rate") -> int:
    """Return ``sr`` as an int Hz within 1 kHz .. 768 kHz; raise InvalidArgumentError otherwise."""
    if isinstance(sr, bool) or not isinstance(sr, int | np.integer | float):
        raise InvalidArgumentError(f"{name} must be an integer number of Hz, got {sr!r}")
    if isinstance(sr, float) and not (math.isfinite(sr) and sr.is_integer()):
        raise InvalidArgumentError(f"{name} must be an integer number of Hz, got {sr!r}")
    sr = int(sr)
    if not MIN_SAMPLE_RATE <= sr <= MAX_SAMPLE_RATE:
        raise InvalidArgumentError(
            f"{name} {sr} Hz is outside the range audio uses "
            f"({MIN_SAMPLE_RATE} to {MAX_SAMPLE_RATE} Hz)"
        )
    return sr


def check_audio_tensor(
    wav: Any, name: str = "audio", *, ndims: tuple[int, ...] = (1, 2, 3), finite: bool = True
) -> torch.Tensor:
    """Return ``wav`` as a floating torch tensor after checking its type, dims, size and values.

    Numpy arrays are accepted (converted without copying); integer, boolean and complex data are
    refused, because their scale is ambiguous (is 1 full scale, or 32767?).
    """
    if isinstance(wav, np.ndarray):
        if not np.issubdtype(wav.dtype, np.floating):
            raise InvalidArgumentError(
                f"{name} must hold floating-point samples in [-1, 1], got a {wav.dtype} array "
                "(convert integer PCM with x / 32768 for int16)"
            )
        wav = torch.from_numpy(np.ascontiguousarray(wav))
    if not isinstance(wav, torch.Tensor):
        raise InvalidArgumentError(
            f"{name} must be a torch tensor (or numpy array), got {type(wav).__name__}"
        )
    if not wav.is_floating_point():
        raise InvalidArgumentError(
            f"{name} must be a floating-point tensor (float32), got {wav.dtype}; "
            "convert integer PCM with wav.float() / 32768 for int16"
        )
    if wav.ndim not in ndims:
        shapes = {1: "(time,)", 2: "(channels, time)", 3: "(batch, 1, time)"}
        expected = " or ".join(shapes[d] for d in ndims)
        raise InvalidArgumentError(f"{name}: expected {expected}, got shape {tuple(wav.shape)}")
    if wav.numel() == 0:
        raise InvalidArgumentError(f"{name} is empty (shape {tuple(wav.shape)})")
    if finite and not bool(torch.isfinite(wav).all()):
        raise InvalidArgumentError(f"{name} contains NaN or infinite samples")
    return wav


def check_clip_layout(wav: Any, fn: str, error: type[Exception] = BaselineInputError) -> None:
    """Raise ``error`` unless ``wav`` is a non-empty (batch, 1, time), (1, time) or (time,) tensor."""
    if not isinstance(wav, torch.Tensor):
        raise error(f"{fn}: expected a torch tensor, got {type(wav).__name__}")
    if wav.ndim == 3 and wav.shape[1] != 1:
        raise error(f"{fn}: expected mono (batch, 1, time) audio, got {tuple(wav.shape)}")
    if wav.ndim not in (1, 2, 3) or wav.shape[-1] == 0:
        raise error(f"{fn}: expected (batch, 1, time) or (1, time) audio, got {tuple(wav.shape)}")


def clip_rows(wav: torch.Tensor, fn: str) -> torch.Tensor:
    """Return ``wav`` as float32 (rows, time), one row per clip (BaselineInputError if unusable)."""
    check_clip_layout(wav, fn)
    return wav.detach().float().reshape(-1, wav.shape[-1])


def check_stft_args(fn: str, length: int, n_fft: int, hop: int) -> None:
    """Refuse a hop that leaves no overlap and a clip too short for the window."""
    if not 0 < hop < n_fft:
        # Hann windows must overlap for the inverse STFT to exist
        raise BaselineInputError(
            f"{fn}: hop must be between 1 and n_fft - 1 ({n_fft - 1}), got {hop}"
        )
    if length <= n_fft // 2:
        # reflect padding needs more samples than half a window
        raise BaselineInputError(f"{fn}: clip of {length} samples is too short for n_fft={n_fft}")
