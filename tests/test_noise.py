"""Tests for noise.py: exact SNRs, noise colours, the original recipe, Corruption and corrupt_file."""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from audio_denoise_utils.engine.corrupt_file import corrupt_file
from audio_denoise_utils.errors import AudioLoadError
from audio_denoise_utils.noise import (
    Corruption,
    add_noise,
    amplitude_modulation,
    babble_noise,
    colored_noise,
    measure_snr,
    mix_at_snr,
    normalize,
    original_awgn,
    original_corrupt,
    original_multiplicative_noise,
    random_gain,
)

SR = 16_000
DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def tone(seconds: float = 0.5, f0: float = 220.0, sr: int = SR, amp: float = 0.3) -> torch.Tensor:
    """A harmonic tone with vibrato and a syllable-like envelope, (1, time)."""
    t = torch.arange(int(seconds * sr), dtype=torch.float64) / sr
    freq = f0 * (1 + 0.03 * torch.sin(2 * math.pi * 5 * t))
    phase = 2 * math.pi * torch.cumsum(freq, 0) / sr
    wav = sum(torch.sin(k * phase) / k for k in range(1, 6))
    envelope = 0.5 * (1 - torch.cos(2 * math.pi * 3 * t))
    wav = wav * envelope
    return (amp * wav / wav.abs().max()).float().unsqueeze(0)


def batch(n: int = 4, seconds: float = 0.5) -> torch.Tensor:
    return torch.stack([tone(seconds, f0=150 + 60 * i, amp=0.1 + 0.2 * i) for i in range(n)])


def spectral_slope(noise: torch.Tensor) -> float:
    """Slope of log10 power vs log10 frequency, from the periodogram averaged over rows."""
    power = torch.fft.rfft(noise.double(), dim=-1).abs().pow(2).mean(dim=0)
    freqs = torch.fft.rfftfreq(noise.shape[-1], dtype=torch.float64)
    band = (freqs > 0.005) & (freqs < 0.45)
    slope, _ = np.polyfit(np.log10(freqs[band].numpy()), np.log10(power[band].numpy()), 1)
    return float(slope)


# ---------------------------------------------------------------- exact SNR


@pytest.mark.parametrize("kind", ["white", "pink", "brown", "babble"])
@pytest.mark.parametrize("snr", [-5.0, 0.0, 5.0, 10.0, 20.0, 30.0])
def test_add_noise_hits_requested_snr(kind: str, snr: float) -> None:
    clean = batch(3)
    others = [tone(0.3, f0=f) for f in (97.0, 131.0, 177.0, 240.0, 310.0)]
    noisy = add_noise(clean, snr, kind=kind, seed=7, babble_clips=others)
    assert noisy.shape == clean.shape and noisy.dtype == torch.float32
    measured = measure_snr(clean, noisy)
    assert torch.allclose(measured, torch.full((3,), snr), atol=0.01), measured


@pytest.mark.parametrize("device", DEVICES)
def test_per_clip_snr_tensor(device: str) -> None:
    clean = batch(4).to(device)
    target = torch.tensor([-3.0, 4.0, 11.5, 25.0], device=device)
    noisy = add_noise(clean, target, kind="pink", generator=torch.Generator(device).manual_seed(1))
    assert noisy.device.type == device
    assert torch.allclose(measure_snr(clean, noisy), target, atol=0.01)


def test_single_clip_shape_and_shared_noise() -> None:
    clip = tone()
    noisy = add_noise(clip, 10.0, seed=0)
    assert noisy.shape == clip.shape
    assert measure_snr(clip, noisy).shape == (1,)
    # One (1, T) noise shared by a batch: each clip still gets its own exact SNR.
    clean = batch(3)
    shared = colored_noise((1, clean.shape[-1]), "white", seed=2)
    assert torch.allclose(
        measure_snr(clean, mix_at_snr(clean, shared, 6.0)), torch.full((3,), 6.0), atol=0.01
    )


def test_silent_clips() -> None:
    clean = batch(2)
    clean[1] = 0.0
    noisy = add_noise(clean, 5.0, seed=0)
    assert torch.isfinite(noisy).all()
    assert torch.equal(noisy[1], clean[1])  # documented: silent clean -> no noise added
    assert abs(float(measure_snr(clean[:1], noisy[:1])[0]) - 5.0) < 0.01
    with pytest.raises(ValueError, match="silent"):
        mix_at_snr(batch(2), torch.zeros(2, 1, clean.shape[-1]), 5.0)


def test_seeded_reproducibility_and_global_rng_untouched() -> None:
    clean = batch(2)
    torch.manual_seed(123)
    state = torch.get_rng_state()
    a = add_noise(clean, 5.0, kind="pink", seed=1)
    b = add_noise(clean, 5.0, kind="pink", seed=1)
    c = add_noise(clean, 5.0, kind="pink", seed=2)
    d = add_noise(clean, 5.0, kind="pink", generator=torch.Generator().manual_seed(1))
    e = add_noise(clean, 5.0, kind="pink")  # unseeded: fresh noise, still no global RNG use
    assert torch.equal(a, b) and torch.equal(a, d)
    assert not torch.allclose(a, c)
    assert not torch.allclose(a, e)
    assert torch.equal(torch.get_rng_state(), state)


def test_wrong_device_generator_is_rejected() -> None:
    if not torch.cuda.is_available():
        pytest.skip("needs CUDA")
    with pytest.raises(ValueError, match="generator"):
        add_noise(batch(1).cuda(), 5.0, generator=torch.Generator().manual_seed(0))


# ---------------------------------------------------------------- colours


@pytest.mark.parametrize(("color", "slope"), [("white", 0.0), ("pink", -1.0), ("brown", -2.0)])
def test_colored_noise_slope_and_unit_variance(color: str, slope: float) -> None:
    noise = colored_noise((48, 4096), color, seed=3)
    assert noise.shape == (48, 4096) and noise.dtype == torch.float32
    assert torch.allclose(noise.mean(dim=-1), torch.zeros(48), atol=1e-5)
    assert torch.allclose(noise.var(dim=-1, correction=0), torch.ones(48), atol=1e-4)
    assert abs(spectral_slope(noise) - slope) < 0.1


def test_colored_noise_rejects_unknown_color() -> None:
    with pytest.raises(ValueError, match="violet"):
        colored_noise(100, "violet", seed=0)


# ---------------------------------------------------------------- the original recipe


def test_normalize() -> None:
    clean = batch(3)
    clean[2] = 0.0
    out = normalize(clean, peak=0.5)
    assert torch.allclose(out[:2].abs().amax(dim=-1), torch.full((2, 1), 0.5))
    assert torch.equal(out[2], torch.zeros_like(out[2]))
    assert normalize(tone()).abs().max() == pytest.approx(1.0)


def test_original_multiplicative_factors_are_one_or_two() -> None:
    x = normalize(batch(2, seconds=1.0))
    y = original_multiplicative_noise(x, seed=0)
    nz = x.abs() > 1e-3
    ratio = (y[nz] / x[nz]).double()
    is_one, is_two = (ratio - 1).abs() < 1e-6, (ratio - 2).abs() < 1e-6
    assert bool((is_one | is_two).all())
    assert 0.45 < float(is_two.double().mean()) < 0.55
    # The docstring's claim: the {1, 2} step alone leaves an SNR of about 3 dB.
    assert torch.allclose(measure_snr(x, y), torch.full((2,), 10 * math.log10(2)), atol=0.3)


def test_original_awgn_is_only_approximate() -> None:
    clean = normalize(torch.cat([batch(4, seconds=1.0)] * 4))
    noisy = original_awgn(clean, 10.0, seed=5)
    measured = measure_snr(clean, noisy)
    assert torch.allclose(measured, torch.full((16,), 10.0), atol=0.5)
    assert float((measured - 10.0).abs().max()) > 1e-3  # expected power, not exact power


def test_original_corrupt() -> None:
    clean = batch(3, seconds=1.0)
    additive = original_corrupt(clean, 15.0, seed=1, multiplicative=False)
    assert torch.allclose(measure_snr(normalize(clean), additive), torch.full((3,), 15.0), atol=0.5)
    full = original_corrupt(clean, 15.0, seed=1)
    assert full.shape == clean.shape
    assert float(measure_snr(normalize(clean), full).max()) < 5.0  # the {1, 2} step dominates
    assert torch.equal(
        full, original_corrupt(clean, 15.0, generator=torch.Generator().manual_seed(1))
    )


# ---------------------------------------------------------------- gain and modulation


def test_random_gain_range() -> None:
    x = torch.ones(400, 1, 64)
    y = random_gain(x, -6.0, 6.0, seed=0)
    gain_db = 20 * torch.log10(y[:, 0, :])
    assert torch.allclose(gain_db, gain_db[:, :1].expand_as(gain_db))  # one gain per clip
    assert float(gain_db.min()) >= -6.0 - 1e-4 and float(gain_db.max()) <= 6.0 + 1e-4
    assert float(gain_db.min()) < -5.0 and float(gain_db.max()) > 5.0


def test_amplitude_modulation_envelope() -> None:
    ones = torch.ones(64, 1, 2 * SR)
    env = amplitude_modulation(ones, SR, depth=(0.0, 0.5), rate_hz=(0.1, 2.0), seed=0)
    assert float(env.min()) >= 0.5 - 1e-5 and float(env.max()) <= 1.5 + 1e-5
    assert float(env.amax(dim=-1).max()) > 1.3  # deep modulation does occur
    # Fixed depth 0.3 at 1 Hz over 2 s: full cycles, so max - min = 0.6 and the mean is 1.
    fixed = amplitude_modulation(ones[:4], SR, depth=0.3, rate_hz=1.0, seed=1)
    swing = fixed.amax(dim=-1) - fixed.amin(dim=-1)
    assert torch.allclose(swing, torch.full_like(swing, 0.6), atol=1e-3)
    assert torch.allclose(fixed.mean(dim=-1), torch.ones(4, 1), atol=1e-3)
    # Slow: neighbouring samples differ by at most 2*pi*f*d/sr.
    assert float(fixed.diff(dim=-1).abs().max()) <= 2 * math.pi * 0.3 / SR + 1e-6
    with pytest.raises(ValueError):
        amplitude_modulation(ones[:1], SR, depth=1.5, seed=0)


# ---------------------------------------------------------------- babble


def test_babble_noise() -> None:
    talkers = [tone(0.1, f0=f) for f in (100.0, 140.0, 190.0, 260.0, 330.0)]  # shorter than length
    a = babble_noise(talkers, 4000, n_talkers=3, seed=4)
    b = babble_noise(talkers, 4000, n_talkers=3, seed=4)
    c = babble_noise(talkers, 4000, n_talkers=3, seed=5)
    assert a.shape == (1, 4000) and torch.isfinite(a).all()
    assert torch.equal(a, b) and not torch.allclose(a, c)
    assert float(a.pow(2).mean()) == pytest.approx(1.0, abs=1e-4)
    with pytest.raises(ValueError):
        babble_noise([], 100, seed=0)


# ---------------------------------------------------------------- Corruption


@pytest.mark.parametrize("device", DEVICES)
def test_corruption_on_a_batch(device: str) -> None:
    clean = batch(6).to(device)
    corruption = Corruption(snr_db=(0.0, 20.0), noise=("white", "pink", "brown"))
    gen = torch.Generator(device).manual_seed(0)
    noisy = corruption(clean, gen)
    assert noisy.shape == clean.shape and noisy.device.type == device
    snr = measure_snr(clean, noisy)
    assert bool(((snr > -0.01) & (snr < 20.01)).all())
    assert float(snr.max() - snr.min()) > 1.0  # drawn per clip
    again = corruption(clean, torch.Generator(device).manual_seed(0))
    assert torch.equal(noisy, again)
    assert not torch.allclose(noisy, corruption(clean, torch.Generator(device).manual_seed(1)))


def test_corruption_fixed_snr_babble_and_single_clip() -> None:
    others = [tone(0.2, f0=f) for f in (90.0, 120.0, 160.0, 210.0)]
    corruption = Corruption(snr_db=7.0, noise=("babble", "white"), babble_clips=others)
    clean = batch(4)
    snr = measure_snr(clean, corruption(clean, seed=3))
    assert torch.allclose(snr, torch.full((4,), 7.0), atol=0.01)
    one = corruption(tone(), seed=3)
    assert one.shape == (1, tone().shape[-1])


def test_corruption_multiplicative_measures_against_modulated_signal() -> None:
    clean = batch(4)
    corruption = Corruption(snr_db=10.0, multiplicative=True, sr=SR)
    noisy, reference = corruption(clean, seed=2, return_reference=True)
    assert torch.allclose(measure_snr(reference, noisy), torch.full((4,), 10.0), atol=0.01)
    ratio = reference.abs().amax(dim=-1) / clean.abs().amax(dim=-1)
    assert bool(
        ((ratio > 10 ** (-6 / 20) * 0.5 - 1e-4) & (ratio < 10 ** (6 / 20) * 1.5 + 1e-4)).all()
    )
    assert not torch.allclose(ratio, torch.ones_like(ratio), atol=1e-3)
    assert "gain" in corruption.describe() and "10 dB" in corruption.describe()


def test_corruption_validation() -> None:
    with pytest.raises(ValueError, match="kind"):
        Corruption(noise="purple")
    with pytest.raises(ValueError, match="babble_clips"):
        Corruption(noise="babble")
    with pytest.raises(ValueError):
        Corruption(snr_db=(10.0, 0.0))


# ---------------------------------------------------------------- corrupt_file


def file_snr(clean_path: Path, noisy_path: Path) -> float:
    """SNR of the written file against the (mono-averaged) input, computed independently."""
    clean, _ = sf.read(clean_path, dtype="float64", always_2d=True)
    noisy, _ = sf.read(noisy_path, dtype="float64", always_2d=True)
    clean = clean.mean(axis=1)
    return float(10 * np.log10(np.sum(clean**2) / np.sum((noisy[:, 0] - clean) ** 2)))


@pytest.fixture
def speech_file(tmp_path: Path) -> Path:
    path = tmp_path / "clean.wav"
    sf.write(path, tone(1.0, amp=0.5)[0].numpy(), SR, subtype="FLOAT")
    return path


@pytest.mark.parametrize("snr", [0.0, 5.0, 10.0, 15.0, 20.0])
def test_corrupt_file_snr(speech_file: Path, tmp_path: Path, snr: float) -> None:
    out = tmp_path / "noisy.wav"
    realised = corrupt_file(speech_file, out, snr, seed=1)
    assert abs(realised - snr) < 0.1
    assert abs(file_snr(speech_file, out) - snr) < 0.1
    info = sf.info(out)
    assert (info.samplerate, info.channels, info.frames) == (SR, 1, SR)


def test_corrupt_file_loud_input_clips_but_keeps_snr(tmp_path: Path) -> None:
    src = tmp_path / "loud.wav"
    sf.write(src, normalize(tone(0.5))[0].numpy(), SR, subtype="FLOAT")  # peaks at full scale
    out = tmp_path / "noisy.wav"
    realised = corrupt_file(src, out, 0.0, kind="pink", seed=0)
    data, _ = sf.read(out, dtype="float32")
    assert np.abs(data).max() <= 1.0 and np.isclose(np.abs(data).max(), 1.0)  # it did clip
    assert abs(realised) < 0.1 and abs(file_snr(src, out)) < 0.1


def test_corrupt_file_is_byte_reproducible(speech_file: Path, tmp_path: Path) -> None:
    a, b, c = tmp_path / "a.wav", tmp_path / "b.wav", tmp_path / "c.wav"
    corrupt_file(speech_file, a, 10.0, seed=3)
    time.sleep(1.1)  # libsndfile stamps float WAVs with the time; a second later must not matter
    corrupt_file(speech_file, b, 10.0, seed=3)
    corrupt_file(speech_file, c, 10.0, seed=4)
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes() != c.read_bytes()
    assert not list(tmp_path.glob(".*part")) and not list(tmp_path.glob(".a.wav*"))


def test_corrupt_file_stereo_int16_44k(tmp_path: Path) -> None:
    sr = 44_100
    left, right = tone(0.5, f0=200.0, sr=sr, amp=0.4), tone(0.5, f0=330.0, sr=sr, amp=0.2)
    src = tmp_path / "stereo.wav"
    sf.write(src, torch.cat([left, right]).T.numpy(), sr, subtype="PCM_16")
    out = tmp_path / "out" / "noisy.wav"
    realised = corrupt_file(src, out, 5.0, kind="brown", seed=0)
    info = sf.info(out)
    assert (info.samplerate, info.channels, info.frames) == (sr, 1, sf.info(src).frames)
    assert abs(realised - 5.0) < 0.1 and abs(file_snr(src, out) - 5.0) < 0.1


def test_corrupt_file_multiplicative(speech_file: Path, tmp_path: Path) -> None:
    plain, modulated = tmp_path / "plain.wav", tmp_path / "mod.wav"
    corrupt_file(speech_file, plain, 10.0, seed=0)
    realised = corrupt_file(speech_file, modulated, 10.0, multiplicative=True, seed=0)
    assert abs(realised - 10.0) < 0.1  # against the modulated signal
    assert plain.read_bytes() != modulated.read_bytes()
    assert abs(file_snr(speech_file, modulated) - 10.0) > 0.5  # against the input it is lower


def test_corrupt_file_bad_input(tmp_path: Path) -> None:
    bad = tmp_path / "notes.wav"
    bad.write_text("not audio")
    with pytest.raises(AudioLoadError, match="notes.wav"):
        corrupt_file(bad, tmp_path / "out.wav", 10.0)
    silent = tmp_path / "silent.wav"
    sf.write(silent, np.zeros(1000, dtype=np.float32), SR)
    with pytest.raises(AudioLoadError, match="silent"):
        corrupt_file(silent, tmp_path / "out.wav", 10.0)
    assert not (tmp_path / "out.wav").exists()


def test_corruption_original_kind_reproduces_the_original_procedure():
    """noise="original": x{1,2} per sample on top of ~SNR white noise, at the clean clip's own level."""
    gen = torch.Generator().manual_seed(0)
    t = torch.arange(16000) / 16000
    clean = (0.3 * torch.sin(2 * torch.pi * 220 * t)).reshape(1, 1, -1).repeat(2, 1, 1)
    noisy = Corruption(snr_db=50.0, noise="original")(clean, gen)
    ratio = noisy / clean
    loud = (
        clean.abs() > 0.1
    )  # where the sine is large the x1/x2 factor is visible through the noise
    near_one = (ratio[loud] - 1).abs() < 0.15
    near_two = (ratio[loud] - 2).abs() < 0.15
    assert (near_one | near_two).all() and 0.4 < near_two.float().mean() < 0.6
    assert torch.allclose(
        measure_snr(clean, noisy), torch.full((2,), 3.0), atol=1.0
    )  # ~3 dB whatever asked
    with pytest.raises(ValueError, match="original"):
        Corruption(noise=("original", "white"))
