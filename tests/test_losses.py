"""Tests for audio_denoise_utils.losses on inputs whose values are known by hand."""

from __future__ import annotations

import math

import pytest
import torch

from audio_denoise_utils import AudioDenoiseError, metrics
from audio_denoise_utils.engine.spectral import stft_loss
from audio_denoise_utils.losses import (
    LOSSES,
    build_loss,
    mse_loss,
    si_sdr,
    si_sdr_loss,
    si_sdr_stft_loss,
)

torch.set_num_threads(2)
SR = 16000


def sine(freq: float, amp: float = 1.0, seconds: float = 1.0) -> torch.Tensor:
    """Return a sine of a whole number of periods in one second, shaped (1, 1, time)."""
    t = torch.arange(int(SR * seconds), dtype=torch.float64) / SR
    return (amp * torch.sin(2 * math.pi * freq * t)).reshape(1, 1, -1)


def test_registry_names() -> None:
    assert set(LOSSES) == {"mse", "si_sdr", "si_sdr+stft"}


def test_mse_by_hand() -> None:
    est = torch.tensor([[[1.0, -2.0, 0.5, 0.0]]])
    tgt = torch.tensor([[[0.0, 1.0, 0.5, -1.0]]])
    # errors 1, -3, 0, 1: squares 1 + 9 + 0 + 1 = 11, over 4 samples
    assert mse_loss(est, tgt).item() == pytest.approx(11 / 4)
    assert mse_loss(est, tgt).dim() == 0


def test_shape_mismatch_raises() -> None:
    with pytest.raises(ValueError, match="same shape"):
        mse_loss(torch.zeros(1, 1, 10), torch.zeros(1, 1, 11))


def test_si_sdr_of_perfect_and_scaled_estimate_is_very_large() -> None:
    target = sine(220).float() + 0.3 * sine(330).float()
    assert si_sdr_loss(target, target).item() < -60
    assert si_sdr_loss(2 * target, target).item() < -60


def test_si_sdr_orthogonal_noise_matches_the_energy_ratio() -> None:
    # Sines of different whole frequencies over whole periods are zero-mean and orthogonal, so
    # the projection is the target itself and SI-SDR = 20 log10(amplitude ratio).
    target = torch.cat([sine(200), sine(300)]).float()
    noise = torch.cat([sine(1000, 0.1), sine(1500, math.sqrt(0.1))]).float()
    values = si_sdr(target + noise, target)
    expected = [20 * math.log10(1 / 0.1), 20 * math.log10(1 / math.sqrt(0.1))]  # 20 dB, 10 dB
    assert values.tolist() == pytest.approx(expected, abs=1e-3)
    assert si_sdr_loss(target + noise, target).item() == pytest.approx(-15.0, abs=1e-3)


def test_si_sdr_is_scale_and_offset_invariant() -> None:
    g = torch.Generator().manual_seed(0)
    target = torch.randn(3, 1, 4000, generator=g)
    estimate = target + 0.5 * torch.randn(3, 1, 4000, generator=g)
    base = si_sdr_loss(estimate, target).item()
    assert si_sdr_loss(0.1 * estimate, target).item() == pytest.approx(base, abs=1e-3)
    assert si_sdr_loss(estimate + 0.2, target).item() == pytest.approx(base, abs=1e-3)


def test_si_sdr_of_silence_is_finite() -> None:
    zeros = torch.zeros(2, 1, 1000, requires_grad=True)
    loss = si_sdr_loss(zeros, torch.randn(2, 1, 1000, generator=torch.Generator().manual_seed(1)))
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(zeros.grad).all()


def test_the_metric_is_the_loss_function_zero_mean() -> None:
    """One SI-SDR: the metric is the loss's function (float64), both remove the mean."""
    g = torch.Generator().manual_seed(5)
    target = torch.randn(3, 1, 4000, generator=g) + 0.3  # a DC offset the definition ignores
    estimate = target + 0.4 * torch.randn(3, 1, 4000, generator=g) - 0.5
    torch.testing.assert_close(metrics.si_sdr(estimate, target), si_sdr(estimate, target))
    centred = si_sdr(
        estimate - estimate.mean(-1, keepdim=True), target - target.mean(-1, keepdim=True)
    )
    torch.testing.assert_close(si_sdr(estimate, target), centred)
    assert si_sdr_loss(estimate, target).item() == pytest.approx(
        -si_sdr(estimate, target).mean().item()
    )


def test_build_loss_names_and_refusals() -> None:
    assert build_loss("mse") is mse_loss and build_loss(" SI_SDR ") is si_sdr_loss
    with pytest.raises(AudioDenoiseError, match="unknown loss 'foo'.*mse.*si_sdr"):
        build_loss("foo")


def test_stft_loss_is_zero_for_the_target_and_ignores_level() -> None:
    g = torch.Generator().manual_seed(2)
    target = torch.randn(2, 1, 8000, generator=g)
    estimate = target + 0.3 * torch.randn(2, 1, 8000, generator=g)
    assert stft_loss(target, target).item() == pytest.approx(0.0, abs=1e-6)
    base = stft_loss(estimate, target).item()
    assert base > 0.1
    assert stft_loss(0.01 * estimate, 0.01 * target).item() == pytest.approx(base, rel=1e-4)
    closer = target + 0.1 * torch.randn(2, 1, 8000, generator=g)
    assert stft_loss(closer, target).item() < base


def test_stft_loss_hears_faint_noise_in_a_pause_that_si_sdr_barely_sees() -> None:
    """The docstring's claim: the same error energy costs the same SI-SDR wherever it lies, but
    the log magnitudes count it far more in a pause than under loud speech."""
    g = torch.Generator().manual_seed(3)
    speech = torch.randn(1, 1, SR, generator=g)  # broadband, like a vowel's harmonics and hiss
    room = 1e-3 * torch.randn(1, 1, SR, generator=g)  # a pause is quiet, never digital silence
    target = torch.cat([speech, room], dim=-1)  # one second of "speech", then a pause
    noise = 0.01 * torch.randn(1, 1, SR, generator=g)  # 40 dB below the speech
    in_pause = target + torch.cat([torch.zeros_like(noise), noise], dim=-1)
    under_speech = target + torch.cat([noise, torch.zeros_like(noise)], dim=-1)
    assert si_sdr(in_pause, target).item() == pytest.approx(
        si_sdr(under_speech, target).item(), abs=0.1
    )
    assert stft_loss(in_pause, target).item() > 10 * stft_loss(under_speech, target).item()
    combined = si_sdr_stft_loss(in_pause, target).item()
    assert combined == pytest.approx(
        si_sdr_loss(in_pause, target).item() + stft_loss(in_pause, target).item(), rel=1e-5
    )


def test_stft_loss_of_silence_is_finite() -> None:
    zeros = torch.zeros(2, 1, 2000, requires_grad=True)
    loss = stft_loss(zeros, torch.zeros(2, 1, 2000))
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(zeros.grad).all()
