"""Small tools the noise functions share: seeded generators, (batch, 1, time) checks, range draws.

Engine code: not course material.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from ..errors import AudioDenoiseError, InvalidArgumentError
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


def has_sound(clip: torch.Tensor) -> bool:
    """Return True when any sample of ``clip`` is nonzero.

    A strided look at about 4,000 samples first, which finds sound in almost any recording; the
    whole clip is read only when that sees none. (Reading every sample of every recording on each
    draw took most of an epoch's time when all clips were real noise.)
    """
    flat = clip.reshape(-1)
    return bool(flat[:: max(1, flat.numel() // 4096)].any()) or bool(flat.any())


def drop_silent_runs(clip: torch.Tensor, sr: int, seconds: float = 0.25) -> torch.Tensor:
    """Return (channels, time) ``clip`` without the runs of digital silence (every channel below
    1e-6, -120 dBFS) of ``seconds`` or longer.

    Game and library sounds are often padded with seconds of exact zeros; a training crop that
    fell inside such a gap would have no noise to mix at any SNR. No microphone recording holds a
    quarter of a second of such silence.
    """
    length = clip.shape[-1]
    quiet = (clip.abs() < 1e-6).reshape(-1, length).all(dim=0).to(torch.int8)
    zero = quiet.new_zeros(1)
    edges = torch.nonzero(torch.diff(torch.cat([zero, quiet, zero]))).reshape(-1).tolist()
    keep = torch.ones(length, dtype=torch.bool, device=clip.device)
    for start, end in zip(edges[::2], edges[1::2], strict=True):
        if end - start >= seconds * sr:
            keep[start:end] = False
    return clip if bool(keep.all()) else clip[..., keep]


def cut_silent_gaps(clips: list[torch.Tensor], sr: int, folder: object) -> list[torch.Tensor]:
    """Return :func:`drop_silent_runs` of each of ``clips`` (the noise recordings in ``folder``).

    Raises AudioDenoiseError naming ``folder`` when no recording has any sound left.
    """
    cut = [drop_silent_runs(clip, sr) for clip in clips]
    if not any(has_sound(clip) for clip in cut):
        raise AudioDenoiseError(f"{folder}: every noise recording in it is digital silence")
    return cut


def inverse_rms(x: torch.Tensor) -> torch.Tensor:
    """Return 1 / RMS of ``x``, or 0 for silence (no host sync: this runs on the GPU per talker)."""
    rms = x.pow(2).mean().sqrt()
    return torch.where(rms > 0, 1 / rms.clamp_min(torch.finfo(x.dtype).tiny), torch.zeros_like(rms))


def check_corruption(c, known_kinds: Sequence[str]) -> None:
    """Raise InvalidArgumentError unless the noise.Corruption ``c`` is complete and consistent."""
    kinds = c.kinds
    unknown = [k for k in kinds if k not in known_kinds]
    if unknown or not kinds:
        raise InvalidArgumentError(
            f"unknown noise kind(s) {unknown or kinds}; choose from {list(known_kinds)}"
        )
    if "original" in kinds and (len(kinds) > 1 or c.multiplicative):
        raise InvalidArgumentError(
            'noise "original" is the whole original procedure: use it alone, without multiplicative'
        )
    if "babble" in kinds and not c.babble_clips:
        raise InvalidArgumentError(
            'noise "babble" needs babble_clips (clean clips of other speakers)'
        )
    if "recorded" in kinds and not c.noise_clips:
        raise InvalidArgumentError('noise "recorded" needs noise_clips (real noise recordings)')
    bounds(c.snr_db, "snr_db")


def describe_corruption(c) -> str:
    """Return a one-line description of the noise.Corruption ``c``."""
    lo, hi = bounds(c.snr_db, "snr_db")
    snr = f"{lo:g} dB SNR" if lo == hi else f"{lo:g}-{hi:g} dB SNR (uniform per clip)"
    text = f"{'/'.join(c.kinds)} noise at {snr}"
    if c.multiplicative:
        from ..noise import AM_DEPTH, AM_RATE_HZ, GAIN_DB  # the ranges Corruption applies

        text += (
            f", after a random gain of {GAIN_DB[0]:g} to {GAIN_DB[1]:g} dB and amplitude modulation"
            f" (depth {AM_DEPTH[0]:g}-{AM_DEPTH[1]:g}, {AM_RATE_HZ[0]:g}-{AM_RATE_HZ[1]:g} Hz)"
        )
    return text
