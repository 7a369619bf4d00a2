"""Noise that is not a smooth spectrum: mains hum, whistling tones, band-limited machines, recordings.

Each generator returns unit-variance noise of a given shape, seeded through ``generator``;
:func:`audio_denoise_utils.noise.make_noise` picks them by name ("hum", "tones", "machine", "recorded") and
:func:`~audio_denoise_utils.noise.mix_at_snr` sets their level. Notebook 02 plays and plots them.

The notebooks use these kinds but do not teach how they are synthesised (not course material);
the code is here for the curious (and for tests).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from . import DEFAULT_SR
from .engine.noise_tools import acc_dtype, bounds, has_sound, inverse_rms, make_generator
from .errors import InvalidArgumentError


def _rows_and_draws(
    shape: int | Sequence[int], generator: torch.Generator, n: int
) -> tuple[tuple[int, ...], torch.Tensor]:
    """Return ``(shape, u)``: the shape as a tuple and ``n`` uniform float64 draws per row."""
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    if len(shape) == 0 or shape[-1] < 2:
        raise InvalidArgumentError(
            f"noise needs a time axis of at least 2 samples, got shape {shape}"
        )
    rows = math.prod(shape[:-1])
    acc = acc_dtype(generator.device)
    u = torch.rand(rows, n, generator=generator, device=generator.device, dtype=acc)
    return shape, u


def _unit_rows(x: torch.Tensor, shape: tuple[int, ...], dtype: torch.dtype) -> torch.Tensor:
    """Return rows (rows, time) with zero mean and unit variance, reshaped to ``shape``."""
    x = x - x.mean(dim=-1, keepdim=True)
    x = x / x.std(dim=-1, keepdim=True, correction=0).clamp_min(1e-12)
    return x.reshape(shape).to(dtype)


def hum_noise(
    shape: int | Sequence[int],
    sr: int = DEFAULT_SR,
    mains_hz: float | None = None,
    n_harmonics: int = 8,
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float32,
    seed: int | None = None,
) -> torch.Tensor:
    """Return mains hum of ``shape`` (last axis time): a sum of harmonics of 50 or 60 Hz, unit variance.

    Hum comes from the power grid (50 Hz in Europe, Asia, Africa; 60 Hz in the Americas) leaking
    into a recording through a ground loop or an unshielded cable. Rectifiers and transformers
    make it rich in harmonics (100/120 Hz and up: a "buzz"), so each row gets ``n_harmonics``
    multiples of its mains frequency with random amplitudes (falling as ``1/k`` on average) and
    random phases. ``mains_hz`` None draws 50 or 60 Hz per row. Harmonics at or above the Nyquist
    frequency are left out. All the energy sits at exact multiples of the mains frequency.
    """
    if device is None:
        device = generator.device if generator is not None else torch.device("cpu")
    g = make_generator(generator, seed, device)
    if n_harmonics < 1:
        raise InvalidArgumentError(f"hum_noise: n_harmonics must be >= 1, got {n_harmonics}")
    shape, u = _rows_and_draws(shape, g, 1 + 2 * n_harmonics)
    f0 = torch.where(u[:, :1] < 0.5, 50.0, 60.0) if mains_hz is None else u[:, :1] * 0 + mains_hz
    k = torch.arange(1, n_harmonics + 1, device=g.device, dtype=u.dtype)
    freqs = f0 * k  # (rows, n_harmonics)
    amps = (0.25 + 1.5 * u[:, 1 : 1 + n_harmonics]) / k * (freqs < sr / 2)
    phases = 2 * math.pi * u[:, 1 + n_harmonics :]
    # float32 for the (rows, harmonics, time) work: phase errors stay below 1e-3 rad over
    # seconds, far below anything audible or measurable here, at half the cost of float64.
    t = torch.arange(shape[-1], device=g.device, dtype=torch.float32) / sr
    omega = (2 * math.pi * freqs).float()[..., None]
    x = (amps.float()[..., None] * torch.sin(omega * t + phases.float()[..., None])).sum(1)
    return _unit_rows(x, shape, dtype)


def tone_noise(
    shape: int | Sequence[int],
    sr: int = DEFAULT_SR,
    freq_range: tuple[float, float] | None = None,
    max_tones: int = 3,
    vibrato: float = 0.02,
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float32,
    seed: int | None = None,
) -> torch.Tensor:
    """Return whistles and beeps of ``shape``: 1 to ``max_tones`` steady tones per row, unit variance.

    Each tone's frequency is drawn log-uniformly in ``freq_range`` (default 300 Hz to 4 kHz, capped
    at 90% of what ``sr`` can hold: a whistle, a feedback howl, a test tone, an alarm), with a slow vibrato of up to ``vibrato`` (relative depth, 0.02 = 2%) at
    0.5-6 Hz, as a kettle or a person whistling wavers. The energy stays within
    ``freq_range`` widened by the vibrato depth.
    """
    if freq_range is None:
        freq_range = (300.0, min(4000.0, 0.9 * sr / 2 / (1 + vibrato)))
    lo, hi = bounds(freq_range, "freq_range")
    if not 0 < lo <= hi < sr / 2 / (1 + vibrato):
        raise InvalidArgumentError(
            f"tone_noise: freq_range {freq_range} must lie in (0, {sr / 2:g}) Hz"
        )
    if max_tones < 1:
        raise InvalidArgumentError(f"tone_noise: max_tones must be >= 1, got {max_tones}")
    if device is None:
        device = generator.device if generator is not None else torch.device("cpu")
    g = make_generator(generator, seed, device)
    shape, u = _rows_and_draws(shape, g, 1 + 5 * max_tones)
    n_tones = 1 + (u[:, :1] * max_tones).floor().clamp(max=max_tones - 1)  # (rows, 1)
    d = u[:, 1:].reshape(-1, max_tones, 5)
    on = torch.arange(max_tones, device=g.device, dtype=u.dtype) < n_tones
    freq = lo * (hi / lo) ** d[..., 0]
    amp = (0.3 + 0.7 * d[..., 1]) * on
    depth = vibrato * d[..., 2]
    rate = 0.5 + 5.5 * d[..., 3]
    phase = 2 * math.pi * d[..., 4]
    t = torch.arange(shape[-1], device=g.device, dtype=torch.float32) / sr
    freq, amp, depth, rate, phase = (v.float() for v in (freq, amp, depth, rate, phase))
    # Instantaneous frequency f * (1 + depth * sin(2 pi rate t)); its integral gives the phase.
    inst = freq[..., None] * (
        t
        - depth[..., None]
        * torch.cos(2 * math.pi * rate[..., None] * t)
        / (2 * math.pi * rate[..., None])
    )
    x = (amp[..., None] * torch.sin(2 * math.pi * inst + phase[..., None])).sum(1)
    return _unit_rows(x, shape, dtype)


def machine_noise(
    shape: int | Sequence[int],
    sr: int = DEFAULT_SR,
    low_hz: tuple[float, float] = (60.0, 800.0),
    octaves: tuple[float, float] = (1.0, 4.0),
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float32,
    seed: int | None = None,
    return_band: bool = False,
) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
    """Return band-limited machine noise of ``shape`` (fans, air conditioning, engines), unit variance.

    Per row: white noise kept only between a lower edge drawn log-uniformly in ``low_hz`` and an
    upper edge ``octaves`` (drawn uniformly) above it, capped below the Nyquist frequency; plus
    the hum of the rotor, a few harmonics of a blade-pass frequency that fall inside the band
    (up to a third of the energy). Air moved by a fan or a compressor is broadband but coloured
    like this; its rotation adds the tones. With ``return_band`` also return the (rows, 2) band
    edges in Hz: no energy lies outside them.
    """
    lo_lo, lo_hi = bounds(low_hz, "low_hz")
    oc_lo, oc_hi = bounds(octaves, "octaves")
    if not 0 < lo_lo <= lo_hi < sr / 2 or oc_lo <= 0:
        raise InvalidArgumentError(
            f"machine_noise: low_hz {low_hz} / octaves {octaves} out of range"
        )
    if device is None:
        device = generator.device if generator is not None else torch.device("cpu")
    g = make_generator(generator, seed, device)
    shape, u = _rows_and_draws(shape, g, 6)
    time = shape[-1]
    low = lo_lo * (lo_hi / lo_lo) ** u[:, 0]
    high = torch.minimum(
        low * 2 ** (oc_lo + (oc_hi - oc_lo) * u[:, 1]), torch.full_like(low, 0.45 * sr)
    )
    low, high = low.float(), high.float()
    white = torch.randn(u.shape[0], time, generator=g, device=g.device, dtype=torch.float32)
    freqs = torch.fft.rfftfreq(time, d=1 / sr, device=g.device, dtype=torch.float32)
    inside = (freqs >= low[:, None]) & (freqs <= high[:, None])
    # White noise keeps a share inside/bins of its power once masked: scale it to unit power in
    # the band first, so the tones' share below is a share of the final noise.
    broad = white / inside.float().mean(dim=-1, keepdim=True).clamp_min(1e-6).sqrt()
    # Rotor: blade-pass frequency = a harmonic series whose members inside the band are kept.
    blade = low * (1 + u[:, 2].float())  # first tone between the lower edge and an octave above
    k = torch.arange(1, 5, device=g.device, dtype=torch.float32)
    tone_f = blade[:, None] * k
    keep = (tone_f >= low[:, None]) & (tone_f <= high[:, None])
    t = torch.arange(time, device=g.device, dtype=torch.float32) / sr
    phase = 2 * math.pi * u[:, 3, None, None].float()
    tones = (
        keep[..., None] / k[:, None] * torch.sin(2 * math.pi * tone_f[..., None] * t + phase)
    ).sum(1)
    tones = tones / tones.std(dim=-1, keepdim=True, correction=0).clamp_min(1e-12)
    x = broad + (0.7 * u[:, 4:5].float()) * tones  # tonal share 0-33% of the power
    # One mask for both: it band-limits the noise and the leakage of tones that do not fit a
    # whole number of periods into the clip.
    x = torch.fft.irfft(torch.fft.rfft(x, dim=-1) * inside, n=time, dim=-1)
    out = _unit_rows(x, shape, dtype)
    return (out, torch.stack([low, high], dim=-1)) if return_band else out


def recorded_noise(
    clips: Sequence[torch.Tensor],
    length: int,
    generator: torch.Generator | None = None,
    seed: int | None = None,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """Return (1, length): a random crop of one of ``clips`` (real noise recordings), unit RMS.

    A recording shorter than ``length`` is looped from a random start. Use the recordings of the
    training split for training and the benchmark's for evaluation, never both.
    """
    usable = [c for c in clips if has_sound(c)]
    if not usable:
        raise InvalidArgumentError("recorded_noise needs at least one non-silent noise recording")
    if length < 1:
        raise InvalidArgumentError(f"recorded_noise: length must be positive, got {length}")
    if device is None:
        device = generator.device if generator is not None else usable[0].device
    device = torch.device(device)
    g = make_generator(generator, seed, device)
    pick, u_start = torch.rand(2, generator=g, device=g.device, dtype=torch.float64).tolist()
    clip = (
        usable[min(int(pick * len(usable)), len(usable) - 1)].reshape(-1).to(device, torch.float32)
    )
    size = clip.numel()
    start = min(int(u_start * size), size - 1)
    crop = clip.repeat(math.ceil((start + length) / size))[start : start + length]
    crop = crop - crop.mean()
    return (crop * inverse_rms(crop)).unsqueeze(0)
