"""Tests for audio_denoise_utils.losses on inputs whose values are known by hand."""

from __future__ import annotations

import math

import pytest
import torch

from audio_denoise_utils.losses import (
    LOSSES,
    CombinedLoss,
    MultiResolutionSTFTLoss,
    build_loss,
    l1_loss,
    mse_loss,
    si_sdr_loss,
    si_sdr_per_clip,
)

torch.set_num_threads(2)
SR = 16000


def sine(freq: float, amp: float = 1.0, seconds: float = 1.0) -> torch.Tensor:
    """Return a sine of a whole number of periods in one second, shaped (1, 1, time)."""
    t = torch.arange(int(SR * seconds), dtype=torch.float64) / SR
    return (amp * torch.sin(2 * math.pi * freq * t)).reshape(1, 1, -1)


def test_registry_names() -> None:
    assert set(LOSSES) == {"mse", "l1", "si_sdr", "mrstft"}


def test_mse_and_l1_by_hand() -> None:
    est = torch.tensor([[[1.0, -2.0, 0.5, 0.0]]])
    tgt = torch.tensor([[[0.0, 1.0, 0.5, -1.0]]])
    # errors 1, -3, 0, 1: squares 1 + 9 + 0 + 1 = 11, absolutes 1 + 3 + 0 + 1 = 5, over 4 samples
    assert mse_loss(est, tgt).item() == pytest.approx(11 / 4)
    assert l1_loss(est, tgt).item() == pytest.approx(5 / 4)
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
    values = si_sdr_per_clip(target + noise, target)
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


def test_mrstft_zero_for_identical_and_grows_with_error() -> None:
    loss = MultiResolutionSTFTLoss()
    g = torch.Generator().manual_seed(2)
    clean = (sine(220) + 0.3 * sine(440)).float().repeat(2, 1, 1)
    noise = torch.randn(2, 1, clean.shape[-1], generator=g)
    assert loss(clean, clean).item() == pytest.approx(0.0, abs=1e-6)
    small = loss(clean + 0.01 * noise, clean).item()
    large = loss(clean + 0.3 * noise, clean).item()
    assert 0 < small < large
    parts = loss.components(clean + 0.3 * noise, clean)
    assert set(parts) == {"sc", "mag"} and all(v > 0 for v in parts.values())


def test_mrstft_short_input_and_silent_estimate_give_finite_gradients() -> None:
    loss = MultiResolutionSTFTLoss()
    est = torch.zeros(2, 1, 300, requires_grad=True)  # shorter than the largest FFT
    value = loss(est, torch.randn(2, 1, 300, generator=torch.Generator().manual_seed(3)))
    value.backward()
    assert torch.isfinite(value) and value > 0
    assert torch.isfinite(est.grad).all()


def test_build_loss_parses_specs() -> None:
    assert build_loss("mse").weights == {"mse": 1.0}
    assert build_loss("l1+mrstft").weights == {"l1": 1.0, "mrstft": 1.0}
    combo = build_loss(" si_sdr + 0.5 * mrstft ")
    assert combo.weights == {"si_sdr": 1.0, "mrstft": 0.5}
    assert build_loss(combo.spec).weights == combo.weights
    assert build_loss("l1+2*l1").weights == {"l1": 3.0}


def test_combined_loss_is_the_weighted_sum() -> None:
    g = torch.Generator().manual_seed(4)
    target = torch.randn(2, 1, 4000, generator=g)
    estimate = target + 0.2 * torch.randn(2, 1, 4000, generator=g)
    combo = build_loss("si_sdr+0.5*mrstft")
    expected = si_sdr_loss(estimate, target) + 0.5 * MultiResolutionSTFTLoss()(estimate, target)
    assert combo(estimate, target).item() == pytest.approx(expected.item(), rel=1e-5)
    assert isinstance(combo, CombinedLoss)
    assert set(combo.components(estimate, target)) == {"si_sdr", "mrstft"}


@pytest.mark.parametrize("spec", ["", "foo", "mse+foo", "0.5*", "mse*0.5", "mse++l1"])
def test_build_loss_rejects_bad_specs(spec: str) -> None:
    with pytest.raises(ValueError):
        build_loss(spec)


def test_unknown_loss_message_lists_choices() -> None:
    with pytest.raises(ValueError, match="unknown loss 'foo'.*mrstft"):
        build_loss("l1+foo")
