"""Classical (non-learned) denoisers to compare the networks against, and an oracle reference.

Every function takes noisy audio (batch, 1, time) or (1, time) as a float tensor and returns
float32 audio of the same shape and length on the same device. :data:`BASELINES` holds them in
the ``(noisy, clean) -> estimate`` form that :func:`metrics.evaluate` calls.

- :func:`spectral_gating`: noisereduce's spectral gate (numpy inside, clip by clip).
- :func:`spectral_subtraction`: Berouti-style power spectral subtraction (torch STFT).
- :func:`oracle_irm`: the ideal ratio mask built from the *clean* signal. It cheats on purpose: a
  reference for magnitude masks on the noisy phase, not an upper bound (a truncated phase-sensitive
  mask scores higher on the same STFT; notebook 05 measures both).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from . import DEFAULT_SR

# Shape and STFT-argument checks (engine code, not course material):
from .engine.checks import check_stft_args, clip_rows
from .errors import BaselineInputError as BaselineInputError  # re-exported


def _stft(x: torch.Tensor, n_fft: int, hop: int) -> torch.Tensor:
    """Return the complex STFT (rows, freq, frames) of (rows, time) audio with a Hann window."""
    window = torch.hann_window(n_fft, device=x.device)
    return torch.stft(
        x, n_fft, hop, window=window, center=True, pad_mode="reflect", return_complex=True
    )


def _istft(spec: torch.Tensor, n_fft: int, hop: int, length: int) -> torch.Tensor:
    """Return (rows, length) audio from a complex STFT made by :func:`_stft`."""
    window = torch.hann_window(n_fft, device=spec.device)
    return torch.istft(spec, n_fft, hop, window=window, center=True, length=length)


def quietest_blocks(wav: np.ndarray, block: int = 512, fraction: float = 0.1) -> np.ndarray:
    """Return the ``fraction`` lowest-energy blocks of 1-D ``wav``, concatenated in time order.

    In speech the quietest few percent of 32 ms blocks are pauses that hold noise only, so this is
    a noise sample taken from the noisy clip itself, with no need for leading silence.
    """
    if not 0.0 < fraction <= 1.0:
        raise BaselineInputError(f"quietest_blocks: fraction must be in (0, 1], got {fraction}")
    n_blocks = len(wav) // block
    if n_blocks == 0:
        return wav
    blocks = wav[: n_blocks * block].reshape(n_blocks, block)
    k = max(1, int(round(fraction * n_blocks)))
    quiet = np.sort(np.argsort((blocks**2).sum(axis=1), kind="stable")[:k])
    return blocks[quiet].reshape(-1)


def spectral_gating(
    noisy: torch.Tensor,
    sr: int = DEFAULT_SR,
    stationary: bool = True,
    prop_decrease: float = 1.0,
    n_fft: int = 512,
    n_std_thresh_stationary: float = 1.5,
    quiet_fraction: float = 0.1,
    noise_clip: torch.Tensor | None = None,
    **kwargs,
) -> torch.Tensor:
    """Return ``noisy`` (batch, 1, time) denoised by noisereduce's spectral gate, same shape.

    ``stationary=True`` sets one threshold per frequency, the mean + ``n_std_thresh_stationary``
    standard deviations of the noise's dB spectrogram, which suits white and other steady noise.
    The noise is ``noise_clip`` (a noise-only recording, (time,) or (1, time)) when given, else
    the ``quiet_fraction`` quietest blocks of each clip (:func:`quietest_blocks`): noisereduce's
    own default, statistics of the whole noisy clip, counts speech as noise and gates speech away
    at moderate SNRs. ``stationary=False`` tracks a slowly changing noise floor instead
    (``time_constant_s``; no noise sample used). ``prop_decrease`` is how far gated bins are
    pulled down (1.0 = fully; lower keeps some noise but fewer "musical" artefacts). ``n_fft=512``
    (32 ms at 16 kHz) suits speech better than noisereduce's 1024. Other keyword arguments go to
    ``noisereduce.reduce_noise``.
    """
    import noisereduce

    rows = clip_rows(noisy, "spectral_gating")
    if rows.shape[-1] <= n_fft:
        raise BaselineInputError(
            f"spectral_gating: clip of {rows.shape[-1]} samples is too short for n_fft={n_fft}"
        )
    data = rows.cpu().numpy().astype(np.float64)
    fixed_noise = None
    if noise_clip is not None:
        fixed_noise = (
            clip_rows(noise_clip, "spectral_gating").cpu().numpy().astype(np.float64).reshape(-1)
        )
    out = np.empty_like(data)
    for i, row in enumerate(data):
        y_noise = None
        if stationary:
            y_noise = (
                fixed_noise
                if fixed_noise is not None
                else quietest_blocks(row, n_fft, quiet_fraction)
            )
        den = noisereduce.reduce_noise(
            y=row,
            sr=sr,
            stationary=stationary,
            y_noise=y_noise,
            prop_decrease=prop_decrease,
            n_fft=n_fft,
            n_std_thresh_stationary=n_std_thresh_stationary,
            **kwargs,
        )
        den = np.asarray(den, dtype=np.float64).reshape(-1)[: row.shape[0]]
        out[i] = np.pad(den, (0, row.shape[0] - den.shape[0]))
    return torch.from_numpy(out.astype(np.float32)).to(noisy.device).reshape(noisy.shape)


def estimate_noise_psd(
    power: torch.Tensor, noise_frames: int | None = None, quiet_fraction: float = 0.1
) -> torch.Tensor:
    """Return a noise power spectrum (rows, freq, 1) estimated from a power spectrogram (rows, freq, frames).

    With ``noise_frames=None`` it averages the ``quiet_fraction`` lowest-energy frames of each clip:
    speech pauses hold noise only, and the estimate does not need leading silence. With an integer
    it averages the first ``noise_frames`` frames (for recordings known to start with noise only).
    """
    frames = power.shape[-1]
    if noise_frames is not None:
        if noise_frames <= 0:
            raise BaselineInputError(
                f"estimate_noise_psd: noise_frames must be positive, got {noise_frames}"
            )
        return power[..., : min(noise_frames, frames)].mean(dim=-1, keepdim=True)
    if not 0.0 < quiet_fraction <= 1.0:
        raise BaselineInputError(
            f"estimate_noise_psd: quiet_fraction must be in (0, 1], got {quiet_fraction}"
        )
    k = max(1, int(round(quiet_fraction * frames)))
    energy = power.sum(dim=-2)  # (rows, frames)
    quiet = energy.topk(k, dim=-1, largest=False).indices  # (rows, k)
    picked = torch.gather(power, -1, quiet.unsqueeze(-2).expand(-1, power.shape[-2], -1))
    return picked.mean(dim=-1, keepdim=True)


def spectral_subtraction(
    noisy: torch.Tensor,
    n_fft: int = 512,
    hop: int = 128,
    alpha: float = 2.0,
    beta: float = 0.02,
    noise_frames: int | None = None,
    quiet_fraction: float = 0.1,
) -> torch.Tensor:
    """Return ``noisy`` (batch, 1, time) after power spectral subtraction, same shape.

    Per bin the clean power is estimated as ``|X|^2 - alpha * N`` (over-subtraction ``alpha``
    removes the noise's random peaks too), floored at ``beta * N`` so no bin goes to zero (the
    floor masks "musical noise"); ``N`` is the noise power from :func:`estimate_noise_psd`. The
    noisy phase is kept.
    """
    rows = clip_rows(noisy, "spectral_subtraction")
    length = rows.shape[-1]
    check_stft_args("spectral_subtraction", length, n_fft, hop)
    spec = _stft(rows, n_fft, hop)
    power = spec.abs().square()
    noise_psd = estimate_noise_psd(power, noise_frames, quiet_fraction)
    clean_power = torch.maximum(power - alpha * noise_psd, beta * noise_psd)
    # Gain on the complex STFT = new magnitude with the noisy phase.
    gain = torch.sqrt(clean_power / power.clamp_min(1e-20))
    out = _istft(spec * gain, n_fft, hop, length)
    return out.reshape(noisy.shape).to(torch.float32)


def oracle_irm(
    noisy: torch.Tensor,
    clean: torch.Tensor,
    n_fft: int = 512,
    hop: int = 128,
    beta: float = 0.5,
) -> torch.Tensor:
    """Return ``noisy`` (batch, 1, time) masked by the ideal ratio mask computed from ``clean``.

    The mask is ``(|S|^2 / (|S|^2 + |N|^2)) ** beta`` with ``S`` the clean and ``N = noisy - clean``
    the noise STFT. It CHEATS: it needs the clean signal, which no real denoiser has. It is a
    reference for methods that scale STFT magnitudes and keep the noisy phase, not their upper
    bound (a truncated phase-sensitive mask does better) and not a baseline to beat in practice.
    """
    rows = clip_rows(noisy, "oracle_irm")
    if not isinstance(clean, torch.Tensor) or clean.shape != noisy.shape:
        got = tuple(clean.shape) if isinstance(clean, torch.Tensor) else type(clean).__name__
        raise BaselineInputError(
            f"oracle_irm: clean must have the noisy input's shape {tuple(noisy.shape)}, got {got}"
        )
    clean_rows = clip_rows(clean, "oracle_irm").to(rows.device)
    length = rows.shape[-1]
    check_stft_args("oracle_irm", length, n_fft, hop)
    spec_noisy = _stft(rows, n_fft, hop)
    s_pow = _stft(clean_rows, n_fft, hop).abs().square()
    n_pow = _stft(rows - clean_rows, n_fft, hop).abs().square()
    mask = (s_pow / (s_pow + n_pow).clamp_min(1e-20)) ** beta
    out = _istft(spec_noisy * mask, n_fft, hop, length)
    return out.reshape(noisy.shape).to(torch.float32)


def baselines_for(
    sr: int = DEFAULT_SR,
) -> dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]]:
    """Return ``{name: (noisy, clean) -> estimate}`` for every baseline at sample rate ``sr``."""

    def gating(noisy: torch.Tensor, clean: torch.Tensor) -> torch.Tensor:
        return spectral_gating(noisy, sr=sr)

    def subtraction(noisy: torch.Tensor, clean: torch.Tensor) -> torch.Tensor:
        return spectral_subtraction(noisy)

    gating.__doc__, subtraction.__doc__ = spectral_gating.__doc__, spectral_subtraction.__doc__
    return {
        "spectral_gating": gating,
        "spectral_subtraction": subtraction,
        "oracle_irm": oracle_irm,
    }


BASELINES: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = baselines_for(
    DEFAULT_SR
)
"""The baselines at 16 kHz, ready for ``metrics.evaluate(BASELINES, clips)``."""
