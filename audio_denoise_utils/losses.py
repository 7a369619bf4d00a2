"""Training losses. Each takes (estimate, target) shaped (batch, 1, time) and returns a scalar tensor.

- ``mse``: the seed's mean squared error on samples.
- ``l1``: mean absolute error on samples (Demucs' waveform loss).
- ``si_sdr``: negative scale-invariant SDR in dB, averaged over the batch.
- ``mrstft``: multi-resolution STFT loss (spectral convergence + log-magnitude L1), as in Parallel
  WaveGAN and facebookresearch/denoiser.

:func:`build_loss` turns a spec such as ``"si_sdr+0.5*mrstft"`` into a :class:`CombinedLoss`.
Losses compute in float32 even under autocast: energies of half-precision audio overflow or
underflow.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .errors import InvalidArgumentError

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def _pair(estimate: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Return both tensors as float32 after checking they share one (batch, 1, time) shape."""
    if estimate.shape != target.shape:
        raise InvalidArgumentError(
            f"estimate and target must have the same shape, got {tuple(estimate.shape)} "
            f"and {tuple(target.shape)}"
        )
    if estimate.dim() != 3:
        raise InvalidArgumentError(
            f"losses expect audio shaped (batch, 1, time), got {tuple(estimate.shape)}"
        )
    return estimate.float(), target.float()


def mse_loss(estimate: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Return the mean squared error over all samples (the seed's loss)."""
    estimate, target = _pair(estimate, target)
    return F.mse_loss(estimate, target)


def l1_loss(estimate: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Return the mean absolute error over all samples."""
    estimate, target = _pair(estimate, target)
    return F.l1_loss(estimate, target)


def si_sdr_per_clip(
    estimate: torch.Tensor, target: torch.Tensor, eps: float = 1e-8
) -> torch.Tensor:
    """Return the scale-invariant SDR in dB of each clip, shape (batch,).

    Both signals are made zero-mean; the target is scaled by the projection of the estimate onto
    it, and the rest of the estimate counts as error. ``eps`` keeps silent clips finite.
    """
    estimate, target = _pair(estimate, target)
    estimate = estimate.flatten(1) - estimate.flatten(1).mean(dim=1, keepdim=True)
    target = target.flatten(1) - target.flatten(1).mean(dim=1, keepdim=True)
    alpha = (estimate * target).sum(dim=1, keepdim=True) / (
        target.pow(2).sum(dim=1, keepdim=True) + eps
    )
    projection = alpha * target
    error = estimate - projection
    return 10 * torch.log10((projection.pow(2).sum(dim=1) + eps) / (error.pow(2).sum(dim=1) + eps))


def si_sdr_loss(estimate: torch.Tensor, target: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Return the negative SI-SDR in dB averaged over the batch (lower is better)."""
    return -si_sdr_per_clip(estimate, target, eps).mean()


def _stft_magnitude(x: torch.Tensor, n_fft: int, hop: int, win: int) -> torch.Tensor:
    """Return |STFT| of (batch, time) audio, floored so that its log is finite, (batch, bins, frames)."""
    if x.shape[-1] < n_fft:  # reflect padding needs more than n_fft / 2 samples
        x = F.pad(x, (0, n_fft - x.shape[-1]))
    window = torch.hann_window(win, device=x.device, dtype=x.dtype)
    spec = torch.stft(x, n_fft, hop, win, window=window, center=True, return_complex=True)
    # Floor the power before the sqrt: both the sqrt's gradient and the log stay finite at 0.
    return (spec.real.pow(2) + spec.imag.pow(2)).clamp_min(1e-7).sqrt()


class MultiResolutionSTFTLoss(nn.Module):
    """Spectral convergence + log-magnitude L1, averaged over several STFT resolutions.

    Spectral convergence ||  |Y| - |X|  ||_F / || |Y| ||_F weighs the loud bins; the L1 distance of
    log magnitudes weighs quiet bins too. Several window sizes trade time against frequency
    resolution, so that no single STFT's artefacts can be exploited by the model.
    """

    def __init__(
        self,
        fft_sizes: Sequence[int] = (512, 1024, 2048),
        hops: Sequence[int] = (128, 256, 512),
        wins: Sequence[int] = (512, 1024, 2048),
        factor_sc: float = 1.0,
        factor_mag: float = 1.0,
    ) -> None:
        super().__init__()
        if not len(fft_sizes) == len(hops) == len(wins) or not fft_sizes:
            raise InvalidArgumentError(
                "fft_sizes, hops and wins must be non-empty and of equal length"
            )
        for n_fft, hop, win in zip(fft_sizes, hops, wins, strict=True):
            if not 0 < hop <= win <= n_fft:
                raise InvalidArgumentError(
                    f"need 0 < hop <= win <= n_fft, got {hop}, {win}, {n_fft}"
                )
        self.resolutions = [
            (int(n), int(h), int(w)) for n, h, w in zip(fft_sizes, hops, wins, strict=True)
        ]
        self.factor_sc, self.factor_mag = float(factor_sc), float(factor_mag)

    def components(self, estimate: torch.Tensor, target: torch.Tensor) -> dict[str, torch.Tensor]:
        """Return the spectral-convergence and log-magnitude terms, each averaged over resolutions."""
        estimate, target = _pair(estimate, target)
        est, tgt = estimate.flatten(0, 1), target.flatten(0, 1)
        sc = est.new_zeros(())
        mag = est.new_zeros(())
        for n_fft, hop, win in self.resolutions:
            x_mag = _stft_magnitude(est, n_fft, hop, win)
            y_mag = _stft_magnitude(tgt, n_fft, hop, win)
            sc = sc + torch.linalg.vector_norm(y_mag - x_mag) / torch.linalg.vector_norm(y_mag)
            mag = mag + F.l1_loss(torch.log(x_mag), torch.log(y_mag))
        n = len(self.resolutions)
        return {"sc": sc / n, "mag": mag / n}

    def forward(self, estimate: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Return factor_sc * spectral convergence + factor_mag * log-magnitude L1 (scalar)."""
        parts = self.components(estimate, target)
        return self.factor_sc * parts["sc"] + self.factor_mag * parts["mag"]


# name -> factory returning a fresh loss callable (a factory so that module losses are not shared)
LOSSES: dict[str, Callable[[], LossFn]] = {
    "mse": lambda: mse_loss,
    "l1": lambda: l1_loss,
    "si_sdr": lambda: si_sdr_loss,
    "mrstft": MultiResolutionSTFTLoss,
}


class CombinedLoss(nn.Module):
    """A weighted sum of registered losses, e.g. ``CombinedLoss({"si_sdr": 1.0, "mrstft": 0.5})``."""

    def __init__(self, weights: Mapping[str, float]) -> None:
        super().__init__()
        if not weights:
            raise InvalidArgumentError("CombinedLoss needs at least one loss")
        unknown = sorted(set(weights) - set(LOSSES))
        if unknown:
            raise InvalidArgumentError(f"unknown loss {unknown[0]!r}; choose from {sorted(LOSSES)}")
        self.weights = {name: float(w) for name, w in weights.items()}
        self.terms: dict[str, LossFn] = {name: LOSSES[name]() for name in self.weights}
        # Register module losses so that .to(device) and repr see them.
        self.modules_ = nn.ModuleDict(
            {n: t for n, t in self.terms.items() if isinstance(t, nn.Module)}
        )

    @property
    def spec(self) -> str:
        """Return the spec string that :func:`build_loss` parses back into this loss."""
        return "+".join(n if w == 1.0 else f"{w:g}*{n}" for n, w in self.weights.items())

    def components(self, estimate: torch.Tensor, target: torch.Tensor) -> dict[str, torch.Tensor]:
        """Return each unweighted term by name (for logging)."""
        return {name: term(estimate, target) for name, term in self.terms.items()}

    def forward(self, estimate: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Return the weighted sum of the terms (scalar)."""
        parts = self.components(estimate, target)
        return sum((self.weights[n] * v for n, v in parts.items()), estimate.new_zeros(()).float())

    def extra_repr(self) -> str:
        return f"spec={self.spec!r}"


_TERM = re.compile(
    r"^(?:(?P<w>[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*\*\s*)?(?P<name>[A-Za-z_][A-Za-z0-9_]*)$"
)


def build_loss(spec: str) -> CombinedLoss:
    """Return the loss named by ``spec``: terms joined by '+', each optionally ``weight*name``.

    Examples: ``"mse"``, ``"l1+mrstft"``, ``"si_sdr+0.5*mrstft"``. Repeated names add their weights.
    """
    weights: dict[str, float] = {}
    for raw in spec.split("+"):
        term = raw.strip()
        match = _TERM.match(term)
        if match is None:
            raise InvalidArgumentError(
                f"cannot parse loss term {term!r} in {spec!r}; write terms like 'l1' or '0.5*mrstft'"
            )
        name = match["name"].lower()
        if name not in LOSSES:
            raise InvalidArgumentError(
                f"unknown loss {name!r} in {spec!r}; choose from {sorted(LOSSES)}"
            )
        weights[name] = weights.get(name, 0.0) + float(match["w"] or 1.0)
    return CombinedLoss(weights)
