"""Training losses and the course's one SI-SDR.

Each loss takes (estimate, target) shaped (batch, 1, time) and returns a scalar tensor:

- ``mse``: mean squared error on samples (the original study's loss).
- ``si_sdr``: minus the scale-invariant SDR in dB, averaged over the batch (the course's loss).

:func:`si_sdr` is also the metric: :func:`audio_denoise_utils.metrics.si_sdr` and validation
during training call this same function, so the loss and the scores can never disagree.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from .engine.spectral import stft_loss
from .errors import AudioDenoiseError, InvalidArgumentError

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def _pair(estimate: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Return both tensors as (batch, time), at least float32, after checking their shapes agree."""
    if estimate.shape != target.shape:
        raise InvalidArgumentError(
            f"estimate and target must have the same shape, got {tuple(estimate.shape)} "
            f"and {tuple(target.shape)}"
        )
    if estimate.dim() not in (2, 3) or estimate.shape[-2] != 1:
        raise InvalidArgumentError(
            f"expected audio shaped (batch, 1, time) or (1, time), got {tuple(estimate.shape)}"
        )
    dtype = torch.promote_types(estimate.dtype, torch.float32)
    return estimate.reshape(-1, estimate.shape[-1]).to(dtype), target.reshape(
        -1, target.shape[-1]
    ).to(dtype)


def mse_loss(estimate: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Return the mean squared error over all samples (the original study's loss)."""
    estimate, target = _pair(estimate, target)
    return F.mse_loss(estimate, target)


def si_sdr(estimate: torch.Tensor, target: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Return the scale-invariant SDR in dB of each clip, shape (batch,): higher is better.

    The standard definition (Le Roux et al., "SDR - half-baked or well done?", ICASSP 2019):
    both signals are made zero-mean, the target is scaled by the projection of the estimate on
    it, ``s = (<e, t> / <t, t>) t``, and what is left of the estimate is error:
    ``10 log10(|s|^2 / |e - s|^2)``. A louder or quieter copy of the target scores very high;
    a constant offset changes nothing. ``eps`` keeps silent clips finite. Computed in the
    inputs' precision (at least float32): float64 inputs give float64 scores.
    """
    estimate, target = _pair(estimate, target)
    estimate = estimate - estimate.mean(dim=1, keepdim=True)
    target = target - target.mean(dim=1, keepdim=True)
    alpha = (estimate * target).sum(dim=1, keepdim=True) / (
        target.pow(2).sum(dim=1, keepdim=True) + eps
    )
    projection = alpha * target
    error = estimate - projection
    return 10 * torch.log10((projection.pow(2).sum(dim=1) + eps) / (error.pow(2).sum(dim=1) + eps))


def si_sdr_loss(estimate: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Return minus the SI-SDR in dB averaged over the batch (lower is better)."""
    return -si_sdr(estimate, target).mean()


def si_sdr_stft_loss(estimate: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Return :func:`si_sdr_loss` plus a spectral distance that hears quiet bins (engine.spectral)."""
    return si_sdr_loss(estimate, target) + stft_loss(estimate, target)


LOSSES: dict[str, LossFn] = {"mse": mse_loss, "si_sdr": si_sdr_loss}
LOSSES["si_sdr+stft"] = si_sdr_stft_loss  # the fine-tuning stage of the shipped model


def build_loss(name: str) -> LossFn:
    """Return the loss called ``name`` in :data:`LOSSES` (AudioDenoiseError for another name)."""
    key = str(name).strip().lower()
    if key not in LOSSES:
        raise AudioDenoiseError(f"unknown loss {name!r}; choose from {sorted(LOSSES)}")
    return LOSSES[key]
