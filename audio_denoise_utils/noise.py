"""Corrupting clean speech: the original study's recipe, and better-founded noise at an exact SNR.

One way to apply noise: :func:`make_noise` makes unit-power noise of a kind (white, pink, brown,
hum, tones, machine, babble, recorded) and :func:`mix_at_snr` adds it so that the SNR is exact per clip; :func:`add_noise` is
the two together, and :class:`Corruption` (what training uses) draws a kind and an SNR per clip
and calls the same two. A slow random gain and amplitude modulation are the realistic
"multiplicative" corruption.

The original study's recipe (:func:`normalize`, :func:`original_awgn`,
:func:`original_multiplicative_noise`, :func:`original_corrupt`) is reproduced apart, so the
course can show what it does and why it falls short; ``Corruption(noise="original")`` replays it.

Every function accepts a batch (batch, 1, time) or one clip (1, time) and returns the same shape,
runs on the input's device, and draws its randomness from ``generator`` (a ``torch.Generator`` on
that device) or, failing that, from ``seed``. With neither, a fresh non-deterministically seeded
generator is used: the global RNG is never touched.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch

from . import DEFAULT_SR
from .engine.checks import check_sample_rate

# Shape checks, seeded generators, range draws, Corruption's argument checks and description
# (engine code, not course material):
from .engine.noise_tools import (
    Range,
    acc_dtype,
    batched,
    bounds,
    check_corruption,
    describe_corruption,
    draw,
    inverse_rms,
    make_generator,
    per_clip,
    unbatched,
)
from .errors import InvalidArgumentError

# Hum, tones and machine noise: the generators notebook 02 listens to (read them if curious).
from .noise_kinds import hum_noise, machine_noise, recorded_noise, tone_noise

#: Kinds that :func:`synthetic_noise` makes from a generator alone (no clips needed).
SYNTHETIC_KINDS = ("white", "pink", "brown", "hum", "tones", "machine")
#: Every kind: babble needs other speakers' clips, recorded needs noise recordings, and "original"
#: is the original study's whole procedure.
NOISE_KINDS = (*SYNTHETIC_KINDS, "babble", "recorded", "original")
# Power spectral density ~ 1 / f**exponent.
COLOR_EXPONENTS = {"white": 0.0, "pink": 1.0, "brown": 2.0}

#: SNRs the package mixes at: beyond them float32 audio cannot show the asked value.
MIN_FILE_SNR_DB, MAX_FILE_SNR_DB = -50.0, 100.0


# --------------------------------------------------------------------------------------------
# The original study's recipe
# --------------------------------------------------------------------------------------------


def normalize(wav: torch.Tensor, peak: float = 1.0) -> torch.Tensor:
    """Return each clip scaled so its largest absolute sample is ``peak`` (silent clips stay zero)."""
    x, single = batched(wav)
    m = x.abs().amax(dim=-1, keepdim=True)
    scale = torch.where(m > 0, peak / m.clamp_min(torch.finfo(x.dtype).tiny), torch.zeros_like(m))
    return unbatched(x * scale, single)


def original_awgn(
    clean: torch.Tensor,
    snr_db: float | torch.Tensor,
    generator: torch.Generator | None = None,
    seed: int | None = None,
) -> torch.Tensor:
    """Return ``clean`` plus white Gaussian noise the way the original study drew it.

    The noise has ``std = sqrt(P_signal / 10**(snr_db/10))`` with ``P_signal`` the clip's mean
    power. That sets the *expected* noise power, not the power of the noise actually drawn, so the
    realised SNR only approximates the request (off by a few hundredths of a dB on a second of
    audio, more on short clips). :func:`mix_at_snr` rescales the drawn noise and is exact.
    """
    x, single = batched(clean)
    g = make_generator(generator, seed, x.device)
    acc = acc_dtype(x.device)
    power = x.to(acc).pow(2).mean(dim=-1, keepdim=True)
    snr = per_clip(snr_db, x.shape[0], x.device, acc)
    std = torch.sqrt(power / 10 ** (snr / 10)).to(x.dtype)
    noise = torch.randn(x.shape, generator=g, device=x.device, dtype=x.dtype)
    return unbatched(x + std * noise, single)


def original_multiplicative_noise(
    wav: torch.Tensor, generator: torch.Generator | None = None, seed: int | None = None
) -> torch.Tensor:
    """Return ``wav`` with every sample multiplied by a random integer in {1, 2} (the original recipe).

    Why this is a poor noise model:

    - It doubles a random half of the samples. The error ``wav * (factor - 1)`` is the signal
      itself, gated by a coin flip per sample: broadband distortion that is *correlated with the
      signal* (loud where the speech is loud, silent in pauses), unlike any noise a room or a
      microphone adds.
    - It changes the level: the mean factor is 1.5 (power x2.5, about +4 dB), so a model trained
      on it must also learn an arbitrary level change.
    - It dominates whatever SNR was asked for: measured against the input, the error power is half
      the signal power, so the SNR is about 3 dB whatever the additive noise was; even after the
      best rescaling (x1.5) it is about 9.5 dB.

    Real "multiplicative" effects (a gain change, a speaker turning their head, automatic gain
    control) are slow and smooth: see :func:`random_gain` and :func:`amplitude_modulation`.
    """
    x, single = batched(wav)
    g = make_generator(generator, seed, x.device)
    factor = torch.randint(1, 3, x.shape, generator=g, device=x.device).to(x.dtype)
    return unbatched(x * factor, single)


def original_corrupt(
    clean: torch.Tensor,
    snr_db: float | torch.Tensor,
    generator: torch.Generator | None = None,
    multiplicative: bool = True,
    seed: int | None = None,
) -> torch.Tensor:
    """Return the original study's noisy input: normalise, add white noise at ~``snr_db``, multiply by {1, 2}.

    The original study (a dense autoencoder on RAVDESS) peak-normalised every clip, added white
    Gaussian noise with :func:`original_awgn`, then applied :func:`original_multiplicative_noise`. The
    clean is normalised here too, so the matching training target is ``normalize(clean)``.
    """
    x, single = batched(clean)
    g = make_generator(generator, seed, x.device)
    noisy = original_awgn(normalize(x), snr_db, generator=g)
    if multiplicative:
        noisy = original_multiplicative_noise(noisy, generator=g)
    return unbatched(noisy, single)


# --------------------------------------------------------------------------------------------
# Better-founded additive noise
# --------------------------------------------------------------------------------------------


def measure_snr(clean: torch.Tensor, noisy: torch.Tensor) -> torch.Tensor:
    """Return the SNR of ``noisy`` against ``clean`` per clip in dB, shape (batch,).

    ``10 * log10(sum(clean**2) / sum((noisy - clean)**2))``: +inf when the two are identical,
    NaN when both the clean clip and the difference are silent.
    """
    c, _ = batched(clean, "clean")
    n, _ = batched(noisy, "noisy")
    if c.shape != n.shape:
        raise InvalidArgumentError(
            f"clean {tuple(c.shape)} and noisy {tuple(n.shape)} differ in shape"
        )
    acc = acc_dtype(c.device)
    c, n = c.to(acc), n.to(acc)
    signal = c.pow(2).sum(dim=(-2, -1))
    error = (n - c).pow(2).sum(dim=(-2, -1))
    return (10 * torch.log10(signal / error)).to(torch.float32)


def _shape_spectrum(white: torch.Tensor, exponent: float | torch.Tensor) -> torch.Tensor:
    """Return ``white`` (..., time) filtered to power ~ 1/f**exponent, DC removed, unit variance."""
    time = white.shape[-1]
    if time < 2:
        raise InvalidArgumentError(f"noise needs at least 2 samples, got {time}")
    exp = torch.as_tensor(exponent, dtype=white.dtype, device=white.device)
    if exp.numel() == 1 and float(exp) == 0.0:
        shaped = white  # a flat spectrum needs no FFT
    else:
        freqs = torch.fft.rfftfreq(time, device=white.device, dtype=white.dtype)
        freqs[0] = 1.0  # placeholder: DC is zeroed below
        if exp.numel() > 1:
            exp = exp.reshape(exp.shape + (1,))  # per-row exponents broadcast over frequency
        amplitude = freqs.pow(-exp / 2)  # power ~ amplitude**2 ~ f**-exponent
        amplitude[..., 0] = 0.0
        shaped = torch.fft.irfft(torch.fft.rfft(white, dim=-1) * amplitude, n=time, dim=-1)
    shaped = shaped - shaped.mean(dim=-1, keepdim=True)
    return shaped / shaped.std(dim=-1, keepdim=True, correction=0)


def colored_noise(
    shape: int | Sequence[int],
    color: str = "white",
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float32,
    seed: int | None = None,
) -> torch.Tensor:
    """Return Gaussian noise of ``shape`` (last axis time) with zero mean and unit variance per row.

    ``color``: "white" (flat spectrum), "pink" (power ~ 1/f, equal energy per octave, like many
    natural sounds) or "brown" (power ~ 1/f**2, a rumble, like a random walk). Pink and brown are
    white noise whose spectrum is shaped with an rFFT; the DC bin is removed, then every row is
    scaled to variance exactly 1 so that :func:`mix_at_snr` alone sets the level.
    """
    if color not in COLOR_EXPONENTS:
        raise InvalidArgumentError(
            f"unknown noise color {color!r}; choose from {list(COLOR_EXPONENTS)}"
        )
    if device is None:
        device = generator.device if generator is not None else torch.device("cpu")
    g = make_generator(generator, seed, device)
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    if not shape or any(int(d) < 1 for d in shape):
        raise InvalidArgumentError(
            f"colored_noise: every dimension of shape must be >= 1, got {shape}"
        )
    white = torch.randn(shape, generator=g, device=device, dtype=dtype)
    return _shape_spectrum(white, COLOR_EXPONENTS[color])


def mix_at_snr(
    clean: torch.Tensor, noise: torch.Tensor, snr_db: float | torch.Tensor
) -> torch.Tensor:
    """Return ``clean + a * noise`` with ``a`` chosen per clip so the SNR is exactly ``snr_db``.

    ``clean`` is (batch, 1, time) or (1, time); ``noise`` has the same shape, or (1, time) to share
    one noise over the batch; ``snr_db`` is a float or a (batch,) tensor. Energies and the scale
    are computed in float64, so :func:`measure_snr` of the result matches the request to float32
    precision (far below 0.01 dB).

    A silent clean clip (all zeros) has no defined SNR: it is returned unchanged (zero noise
    added) rather than raising, because a silent crop can occur inside a training batch and must
    neither crash the run nor create NaNs. A silent noise with a non-silent clean clip cannot
    reach any finite SNR and raises ValueError.
    """
    c, single = batched(clean, "clean")
    n, _ = batched(noise, "noise")
    if n.shape[-1] != c.shape[-1] or n.shape[0] not in (1, c.shape[0]):
        raise InvalidArgumentError(
            f"noise shape {tuple(noise.shape)} does not fit clean shape {tuple(clean.shape)}"
        )
    acc = acc_dtype(c.device)
    c64, n64 = c.to(acc), n.to(acc)
    p_clean = c64.pow(2).mean(dim=-1, keepdim=True)
    p_noise = n64.pow(2).mean(dim=-1, keepdim=True).expand_as(p_clean)
    if isinstance(snr_db, str | bool) or not isinstance(snr_db, numbers.Real | torch.Tensor):
        raise InvalidArgumentError(f"snr_db must be a number of dB, got {snr_db!r}")
    snr = per_clip(snr_db, c.shape[0], c.device, acc)
    # The three input checks in one host sync (this runs once per training batch, on the GPU too).
    silent_noise, not_finite, out_of_range = torch.stack(
        [
            ((p_noise == 0) & (p_clean > 0)).any(),
            ~(torch.isfinite(p_clean).all() & torch.isfinite(p_noise).all()),
            ~((snr >= MIN_FILE_SNR_DB) & (snr <= MAX_FILE_SNR_DB)).all(),
        ]
    ).tolist()
    if not_finite:
        raise InvalidArgumentError("clean or noise holds NaN or Inf samples: no SNR can be reached")
    if silent_noise:
        raise InvalidArgumentError(
            "the noise is silent (all zeros) for a non-silent clip: no SNR can be reached"
        )
    if out_of_range:
        raise InvalidArgumentError(
            f"snr_db must lie in [{MIN_FILE_SNR_DB:g}, {MAX_FILE_SNR_DB:g}] dB (finite), got {snr_db}"
        )
    scale = torch.where(
        p_clean > 0,
        torch.sqrt(p_clean / (p_noise.clamp_min(torch.finfo(acc).tiny) * 10 ** (snr / 10))),
        torch.zeros_like(p_clean),
    )
    return unbatched((c64 + scale * n64).to(c.dtype), single)


def babble_noise(
    clips: Sequence[torch.Tensor],
    length: int,
    n_talkers: int = 4,
    generator: torch.Generator | None = None,
    seed: int | None = None,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """Return babble (1, length): ``n_talkers`` random crops of other speakers' clips, summed.

    Talkers are distinct clips when there are enough (else drawn with replacement). Each crop
    starts at a random point; a clip shorter than ``length`` is looped. Each talker is scaled to
    unit RMS times a random level in [-6, 0] dB, so no single voice always
    dominates; the sum is scaled to unit RMS. Use clips of speakers other than the clean one.
    """
    if len(clips) == 0:
        raise InvalidArgumentError("babble_noise needs at least one clip")
    if length < 1 or n_talkers < 1:
        raise InvalidArgumentError(
            f"babble_noise: length and n_talkers must be positive, got {length}, {n_talkers}"
        )
    if device is None:
        device = generator.device if generator is not None else clips[0].device
    device = torch.device(device)
    g = make_generator(generator, seed, device)
    if len(clips) >= n_talkers:
        picks = torch.randperm(len(clips), generator=g, device=g.device)[:n_talkers]
    else:
        picks = torch.randint(0, len(clips), (n_talkers,), generator=g, device=g.device)
    draws = torch.rand(n_talkers, 2, generator=g, device=g.device, dtype=torch.float64)
    out = torch.zeros(length, device=device, dtype=torch.float32)
    for j, (u_start, u_level) in zip(picks.tolist(), draws.tolist(), strict=True):
        clip = clips[j].reshape(-1).to(device=device, dtype=torch.float32)
        size = clip.numel()
        if size == 0:
            continue
        if size >= length:
            start = min(int(u_start * (size - length + 1)), size - length)
            crop = clip[start : start + length]
        else:
            start = min(int(u_start * size), size - 1)
            crop = clip.repeat(math.ceil(length / size) + 1)[start : start + length]
        out += crop * inverse_rms(crop) * 10 ** (-6.0 * u_level / 20)
    return (out * inverse_rms(out)).unsqueeze(0)


# --------------------------------------------------------------------------------------------
# Hum, tones and machines: noise that is not a smooth spectrum
# --------------------------------------------------------------------------------------------


def synthetic_noise(
    kind: str,
    shape: int | Sequence[int],
    sr: int = DEFAULT_SR,
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float32,
    seed: int | None = None,
) -> torch.Tensor:
    """Return unit-variance noise of a kind in :data:`SYNTHETIC_KINDS`, shaped ``shape``."""
    if device is None:
        device = generator.device if generator is not None else torch.device("cpu")
    g = make_generator(generator, seed, device)
    if kind in COLOR_EXPONENTS:
        return colored_noise(shape, kind, generator=g, device=device, dtype=dtype)
    makers = {"hum": hum_noise, "tones": tone_noise, "machine": machine_noise}
    if kind not in makers:
        raise InvalidArgumentError(
            f"unknown synthetic noise kind {kind!r}; choose from {list(SYNTHETIC_KINDS)}"
        )
    return makers[kind](shape, sr=sr, generator=g, device=device, dtype=dtype)


def make_noise(
    kind: str,
    shape: Sequence[int],
    generator: torch.Generator,
    sr: int = DEFAULT_SR,
    babble_clips: Sequence[torch.Tensor] | None = None,
    noise_clips: Sequence[torch.Tensor] | None = None,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """Return noise of ``kind`` shaped (batch, 1, time), each row with zero mean and unit power.

    ``kind``: one of :data:`SYNTHETIC_KINDS` (:func:`synthetic_noise`; ``sr`` is the clip's
    rate), "babble" (:func:`babble_noise` of ``babble_clips``, other speakers' clips) or
    "recorded" (:func:`recorded_noise` of ``noise_clips``, real noise recordings at ``sr``). The
    level is left to :func:`mix_at_snr`: this is the one place noise is made, for
    :func:`add_noise` and :class:`Corruption` alike.
    """
    device = generator.device
    if kind in SYNTHETIC_KINDS:
        return synthetic_noise(kind, shape, sr=sr, generator=generator, device=device, dtype=dtype)
    if kind == "babble":
        if not babble_clips:
            raise InvalidArgumentError('kind="babble" needs babble_clips (clips of other speakers)')
        rows = [
            babble_noise(babble_clips, shape[-1], generator=generator, device=device)
            for _ in range(shape[0])
        ]
        return torch.stack(rows).to(dtype)
    if kind == "recorded":
        if not noise_clips:
            raise InvalidArgumentError('kind="recorded" needs noise_clips (real noise recordings)')
        rows = [
            recorded_noise(noise_clips, shape[-1], generator=generator) for _ in range(shape[0])
        ]
        return torch.stack(rows).to(dtype)
    raise InvalidArgumentError(f"unknown noise kind {kind!r}; choose from {list(NOISE_KINDS)}")


def add_noise(
    clean: torch.Tensor,
    snr_db: float | torch.Tensor,
    kind: str = "white",
    generator: torch.Generator | None = None,
    babble_clips: Sequence[torch.Tensor] | None = None,
    seed: int | None = None,
    noise_clips: Sequence[torch.Tensor] | None = None,
    sr: int = DEFAULT_SR,
) -> torch.Tensor:
    """Return ``clean`` (batch, 1, time) or (1, time) plus ``kind`` noise at exactly ``snr_db`` per clip.

    The course's one way to apply noise: :func:`make_noise`, then :func:`mix_at_snr`. ``kind``:
    one of :data:`SYNTHETIC_KINDS` ("white", "pink", "brown", "hum", "tones", "machine"; ``sr``
    is the clip's sample rate), "babble" (needs ``babble_clips``) or "recorded" (needs
    ``noise_clips``, real noise recordings at rate ``sr``); ``snr_db`` a float or a (batch,)
    tensor. The noise is fresh per clip; see :func:`mix_at_snr` for silent clips.
    """
    c, single = batched(clean, "clean")
    g = make_generator(generator, seed, c.device)
    noise = make_noise(kind, c.shape, g, sr, babble_clips, noise_clips, dtype=c.dtype)
    return unbatched(mix_at_snr(c, noise, snr_db), single)


# --------------------------------------------------------------------------------------------
# Better-founded multiplicative corruption: slow gain changes
# --------------------------------------------------------------------------------------------


#: Default ranges of the slow gain and the amplitude modulation below (Corruption uses them).
GAIN_DB, AM_DEPTH, AM_RATE_HZ = (-6.0, 6.0), (0.0, 0.5), (0.1, 2.0)


def random_gain(
    wav: torch.Tensor,
    low_db: float = GAIN_DB[0],
    high_db: float = GAIN_DB[1],
    generator: torch.Generator | None = None,
    seed: int | None = None,
) -> torch.Tensor:
    """Return each clip scaled by one gain drawn uniformly in [``low_db``, ``high_db``] dB.

    A recording's level depends on the microphone distance and the input gain: one factor for the
    whole clip, unlike the original study's per-sample {1, 2} factors.
    """
    x, single = batched(wav)
    low, high = bounds((low_db, high_db), "random_gain")
    g = make_generator(generator, seed, x.device)
    u = torch.rand(x.shape[0], 1, 1, generator=g, device=x.device, dtype=x.dtype)
    gain_db = low + (high - low) * u
    return unbatched(x * 10 ** (gain_db / 20), single)


def amplitude_modulation(
    wav: torch.Tensor,
    sr: int = DEFAULT_SR,
    depth: Range = AM_DEPTH,
    rate_hz: Range = AM_RATE_HZ,
    generator: torch.Generator | None = None,
    seed: int | None = None,
) -> torch.Tensor:
    """Return each clip times a slow envelope ``1 + d * sin(2*pi*f*t + phi)``.

    Per clip, depth ``d`` and rate ``f`` are drawn uniformly from their ranges (a float fixes
    them) and the phase ``phi`` uniformly in [0, 2*pi): a talker moving or turning their head, or
    an automatic gain control pumping. The envelope stays within [1 - d, 1 + d], never negative
    (``d`` must lie in [0, 1]).
    """
    sr = check_sample_rate(sr)
    x, single = batched(wav)
    d_lo, d_hi = bounds(depth, "depth")
    if d_lo < 0 or d_hi > 1:
        raise InvalidArgumentError(f"amplitude_modulation: depth must lie in [0, 1], got {depth}")
    g = make_generator(generator, seed, x.device)
    acc = acc_dtype(x.device)
    u = torch.rand(x.shape[0], 3, generator=g, device=x.device, dtype=acc)
    d = draw(u[:, 0], depth, "depth").reshape(-1, 1, 1)
    f = draw(u[:, 1], rate_hz, "rate_hz").reshape(-1, 1, 1)
    phi = (2 * math.pi * u[:, 2]).reshape(-1, 1, 1)
    t = torch.arange(x.shape[-1], device=x.device, dtype=acc) / sr
    envelope = 1 + d * torch.sin(2 * math.pi * f * t + phi)
    return unbatched(x * envelope.to(x.dtype), single)


# --------------------------------------------------------------------------------------------
# The training-time corruption
# --------------------------------------------------------------------------------------------


@dataclass
class Corruption:
    """A random corruption drawn per clip: ``Corruption(...)(clean (B,1,T), generator) -> noisy``.

    - ``snr_db``: a float, or a (low, high) range sampled uniformly per clip.
    - ``noise``: one kind or a tuple of kinds (see :data:`NOISE_KINDS`: "white", "pink", "brown",
      "hum", "tones", "machine", "babble", "recorded"); each clip gets one kind drawn uniformly.
      "babble" needs ``babble_clips`` (other speakers' clean clips), "recorded" needs
      ``noise_clips`` (real noise recordings at rate ``sr``).
      "original" (alone) is the original study's procedure, :func:`original_corrupt`: approximate-SNR
      white noise, then every sample multiplied by 1 or 2; kept to reproduce the original recipe.
    - ``multiplicative``: first scale each clip by :func:`random_gain` and
      :func:`amplitude_modulation` (at rate ``sr``), with their default ranges, then add noise.
      The SNR is then measured against the *modulated* signal (the noise is mixed at the request
      against what the microphone would have picked up), while the training target usually stays
      the unmodulated clean: the model learns to undo the level change too. A scale-dependent loss
      cannot recover a random gain exactly; pair it with a scale-invariant loss (SI-SDR), or ask
      for ``return_reference=True`` and train on the modulated signal.

    Everything runs on the clean batch's device with vectorised draws (babble loops per clip).
    """

    snr_db: Range = (0.0, 20.0)
    noise: str | tuple[str, ...] = "white"
    multiplicative: bool = False
    sr: int = DEFAULT_SR
    babble_clips: list[torch.Tensor] | None = field(default=None, repr=False, compare=False)
    noise_clips: list[torch.Tensor] | None = field(default=None, repr=False, compare=False)
    _sources_on: dict[str, list[torch.Tensor]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        check_corruption(self, NOISE_KINDS)  # kinds, their sources and ranges (engine code)

    @property
    def kinds(self) -> tuple[str, ...]:
        """The noise kinds as a tuple."""
        return (self.noise,) if isinstance(self.noise, str) else tuple(self.noise)

    def _sources(self, kind: str, device: torch.device) -> list[torch.Tensor] | None:
        """Babble or recorded-noise sources on ``device``, moved there once, not on every call."""
        clips = {"babble": self.babble_clips, "recorded": self.noise_clips}.get(kind)
        if clips is None:
            return None
        key = f"{kind}:{device}"
        if key not in self._sources_on:
            self._sources_on[key] = [c.reshape(-1).to(device) for c in clips]
        return self._sources_on[key]

    def _noise(self, kind: str, shape: Sequence[int], g: torch.Generator, dtype: torch.dtype):
        """Return :func:`make_noise` of ``kind`` with this corruption's sources on ``g``'s device."""
        babble = self._sources("babble", g.device) if kind == "babble" else None
        recorded = self._sources("recorded", g.device) if kind == "recorded" else None
        return make_noise(kind, shape, g, self.sr, babble, recorded, dtype)

    def __call__(
        self,
        clean: torch.Tensor,
        generator: torch.Generator | None = None,
        seed: int | None = None,
        return_reference: bool = False,
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """Return noisy (B, 1, T) for clean (B, 1, T); with ``return_reference`` also the signal
        the SNR was measured against (the modulated clean, or clean itself)."""
        c, single = batched(clean, "clean")
        batch = c.shape[0]
        g = make_generator(generator, seed, c.device)
        kinds = self.kinds
        u = torch.rand(batch, 2, generator=g, device=c.device, dtype=acc_dtype(c.device))
        snr = draw(u[:, 0], self.snr_db, "snr_db")
        kind_idx = (u[:, 1] * len(kinds)).long().clamp(max=len(kinds) - 1)

        if kinds == ("original",):
            # The original study normalised clips before corrupting them; scale back so that the
            # clean clip stays the target at its own level.
            reference = c
            noisy = original_corrupt(c, snr, generator=g) * c.abs().amax(dim=-1, keepdim=True)
        else:
            reference = c
            if self.multiplicative:
                reference = random_gain(reference, generator=g)
                reference = amplitude_modulation(reference, self.sr, generator=g)
            noisy = mix_at_snr(reference, self._noises(kind_idx, c.shape, g, c.dtype), snr)
        noisy, reference = unbatched(noisy, single), unbatched(reference, single)
        return (noisy, reference) if return_reference else noisy

    def _noises(
        self, kind_idx: torch.Tensor, shape: Sequence[int], g: torch.Generator, dtype: torch.dtype
    ) -> torch.Tensor:
        """Return (batch, 1, time) noise, row i of kind ``self.kinds[kind_idx[i]]``."""
        kinds = self.kinds
        if len(kinds) == 1:  # no per-row selection: no host sync on a GPU
            return self._noise(kinds[0], shape, g, dtype)
        noise = torch.zeros(shape, device=g.device, dtype=dtype)
        for k, kind in enumerate(kinds):
            rows = (kind_idx == k).nonzero().flatten()
            if len(rows):
                noise[rows] = self._noise(kind, (len(rows), 1, shape[-1]), g, dtype)
        return noise

    def describe(self) -> str:
        """Return a one-line human description, e.g. for plots and training logs."""
        return describe_corruption(self)
