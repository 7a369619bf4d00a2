"""Tests for baselines.py: shapes kept, real SI-SDR gains on a noisy harmonic signal, the oracle on top."""

from __future__ import annotations

import pytest
import torch
from signals import speech_like, with_white_noise  # tests/ helpers

from audio_denoise_utils import AudioDenoiseError
from audio_denoise_utils import baselines as B
from audio_denoise_utils.metrics import si_sdr

SR = 16_000


@pytest.fixture(scope="module")
def pairs() -> list[tuple[torch.Tensor, torch.Tensor]]:
    """(noisy, clean) at 0 dB for two clips."""
    out = []
    for seed in (0, 1):
        clean = speech_like(seed)
        out.append((with_white_noise(clean, 0.0, seed=10 + seed), clean))
    return out


@pytest.fixture(scope="module")
def gains(pairs) -> dict[str, list[float]]:
    """SI-SDR improvement in dB of every baseline on every 0 dB pair."""
    result: dict[str, list[float]] = {}
    for name, method in B.BASELINES.items():
        for noisy, clean in pairs:
            gain = si_sdr(method(noisy, clean), clean) - si_sdr(noisy, clean)
            result.setdefault(name, []).append(float(gain[0]))
    return result


def test_registry_names():
    assert list(B.BASELINES) == ["spectral_gating", "spectral_subtraction", "oracle_irm"]


@pytest.mark.parametrize("name", ["spectral_gating", "spectral_subtraction", "oracle_irm"])
def test_each_baseline_improves_si_sdr_at_0_db(gains, name):
    assert min(gains[name]) > 3.0, gains[name]


def test_oracle_beats_the_real_baselines(gains):
    for i in range(len(gains["oracle_irm"])):
        assert gains["oracle_irm"][i] > gains["spectral_gating"][i] + 2.0
        assert gains["oracle_irm"][i] > gains["spectral_subtraction"][i] + 2.0


@pytest.mark.parametrize("name", ["spectral_gating", "spectral_subtraction", "oracle_irm"])
@pytest.mark.parametrize("shape", [(1, 12_001), (2, 1, 12_001), (1, 1, 8_000)])
def test_shape_length_and_dtype_are_kept(name, shape):
    clean = speech_like(3)[..., : shape[-1]].expand(*shape).clone()
    noisy = with_white_noise(clean, 5.0, seed=3)
    out = B.BASELINES[name](noisy, clean)
    assert out.shape == noisy.shape
    assert out.dtype == torch.float32
    assert torch.isfinite(out).all()


def test_batch_is_processed_clip_by_clip():
    clean = torch.stack([speech_like(4), speech_like(5)])  # (2, 1, T)
    noisy = torch.stack([with_white_noise(c, 5.0, seed=i) for i, c in enumerate(clean)])
    for method in (B.spectral_subtraction, B.spectral_gating):
        batch = method(noisy)
        singles = torch.stack([method(noisy[i]) for i in range(2)])
        torch.testing.assert_close(batch, singles, atol=1e-5, rtol=0)
    torch.testing.assert_close(
        B.oracle_irm(noisy, clean),
        torch.stack([B.oracle_irm(noisy[i], clean[i]) for i in range(2)]),
        atol=1e-5,
        rtol=0,
    )


def test_oracle_with_no_noise_returns_the_input():
    clean = speech_like(6)
    out = B.oracle_irm(clean, clean)
    assert float(si_sdr(out, clean)[0]) > 60  # mask of ones: STFT round trip only


def test_noise_psd_estimate_matches_white_noise_level():
    sigma = 0.1
    noise = sigma * torch.randn(1, 32_000, generator=torch.Generator().manual_seed(7))
    window = torch.hann_window(512)
    spec = torch.stft(noise, 512, 128, window=window, center=True, return_complex=True)
    power = spec.abs().square()
    expected = sigma**2 * float(window.square().sum())  # E|X_k|^2 of white noise
    inner = slice(2, -2)  # DC and Nyquist bins carry double the power of real white noise
    first = B.estimate_noise_psd(power, noise_frames=100)[0, inner, 0]
    assert float(first.mean()) == pytest.approx(expected, rel=0.05)
    quiet = B.estimate_noise_psd(power)[0, inner, 0]  # quietest 10%: biased a little low
    assert 0.8 * expected < float(quiet.mean()) < expected


def test_spectral_subtraction_knobs_act_as_documented(pairs):
    noisy, clean = pairs[0]
    no_sub = B.spectral_subtraction(noisy, alpha=0.0, beta=0.0)
    torch.testing.assert_close(no_sub, noisy, atol=1e-5, rtol=0)  # nothing subtracted: input back
    gentle = B.spectral_subtraction(noisy, alpha=1.0)
    strong = B.spectral_subtraction(noisy, alpha=2.0)
    assert strong.pow(2).sum() < gentle.pow(2).sum() < noisy.pow(2).sum()


def test_spectral_gating_uses_a_given_noise_clip(pairs):
    noisy, clean = pairs[0]
    noise_only = noisy - clean  # the true noise: the best possible noise sample
    with_clip = B.spectral_gating(noisy, noise_clip=noise_only)
    assert float(si_sdr(with_clip, clean)[0] - si_sdr(noisy, clean)[0]) > 3.0


def test_bad_inputs_raise_clear_errors():
    clean = speech_like(8)
    with pytest.raises(ValueError, match="oracle_irm: clean must have"):
        B.oracle_irm(clean, clean[..., :-1])
    with pytest.raises(AudioDenoiseError, match="too short"):
        B.spectral_subtraction(clean[..., :100])
    with pytest.raises(AudioDenoiseError, match="too short"):
        B.spectral_gating(clean[..., :100])
    with pytest.raises(AudioDenoiseError, match="mono"):
        B.spectral_subtraction(torch.zeros(1, 2, 4000))
