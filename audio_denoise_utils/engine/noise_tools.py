"""Small tools the noise functions share: seeded generators, (batch, 1, time) checks, range draws.

Engine code: not course material.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from ..errors import InvalidArgumentError
from .checks import check_seed

Range = float | tuple[float, float]


def make_generator(
    generator: torch.Generator | None = None,
    seed: int | None = None,
    device: torch.device | str = "cpu",
) -> torch.Generator:
    """Return ``generator`` if given, else a new one on ``device`` seeded with ``seed``.

    With neither, the new generator gets a non-deterministic seed (fresh noise on every call)
    without touching torch's global RNG state.
    """
    device = torch.device(device)
    if generator is not None:
        if generator.device.type != device.type:
            raise InvalidArgumentError(
                f"the generator lives on {generator.device} but the audio on {device}; "
                f"create it with torch.Generator(device={str(device)!r})"
            )
        return generator
    g = torch.Generator(device=device)
    if seed is None:
        g.seed()
    else:
        g.manual_seed(check_seed(seed))
    return g


def batched(wav: torch.Tensor, name: str = "audio") -> tuple[torch.Tensor, bool]:
    """Return ``(wav as (batch, 1, time), was_single_clip)``."""
    if not isinstance(wav, torch.Tensor):
        raise InvalidArgumentError(
            f"{name}: expected a torch tensor, got {type(wav).__name__} "
            "(convert with torch.from_numpy(x).float())"
        )
    if not wav.is_floating_point():
        raise InvalidArgumentError(
            f"{name}: expected float samples in [-1, 1], got {wav.dtype} (for int16 PCM use "
            "wav.float() / 32768)"
        )
    if wav.dim() == 3 and wav.shape[1] == 1:
        return wav, False
    if wav.dim() == 2 and wav.shape[0] == 1:
        return wav.unsqueeze(0), True
    raise InvalidArgumentError(
        f"{name}: expected (batch, 1, time) or (1, time), got shape {tuple(wav.shape)}"
    )


def unbatched(wav: torch.Tensor, single: bool) -> torch.Tensor:
    return wav.squeeze(0) if single else wav


def acc_dtype(device: torch.device) -> torch.dtype:
    """Float64 for energies and scales (exact SNRs), except where the backend lacks it (MPS)."""
    return torch.float32 if device.type == "mps" else torch.float64


def per_clip(
    value: float | torch.Tensor, batch: int, device: torch.device, dtype: torch.dtype
) -> torch.Tensor:
    """Return a scalar or (batch,) value as a (batch, 1, 1) tensor."""
    if isinstance(value, int | float) and not math.isfinite(value):
        raise InvalidArgumentError(f"expected a finite number, got {value}")
    t = torch.as_tensor(value, dtype=dtype, device=device)
    if t.numel() == 1:
        return t.reshape(1, 1, 1).expand(batch, 1, 1)
    if t.numel() != batch:
        raise InvalidArgumentError(
            f"expected a float or {batch} per-clip values, got shape {tuple(t.shape)}"
        )
    return t.reshape(batch, 1, 1)


def bounds(value: Range, name: str) -> tuple[float, float]:
    """Return ``(low, high)`` of a float (low == high) or a (low, high) range."""
    if not isinstance(value, Sequence):
        return float(value), float(value)
    lo, hi = (float(v) for v in value)
    if lo > hi:
        raise InvalidArgumentError(f"{name}: range ({lo}, {hi}) has low > high")
    return lo, hi


def draw(u: torch.Tensor, value: Range, name: str) -> torch.Tensor:
    """Map uniform draws ``u`` in [0, 1) onto ``value``'s range."""
    lo, hi = bounds(value, name)
    return lo + (hi - lo) * u


def inverse_rms(x: torch.Tensor) -> torch.Tensor:
    """Return 1 / RMS of ``x``, or 0 for silence (no host sync: this runs on the GPU per talker)."""
    rms = x.pow(2).mean().sqrt()
    return torch.where(rms > 0, 1 / rms.clamp_min(torch.finfo(x.dtype).tiny), torch.zeros_like(rms))
