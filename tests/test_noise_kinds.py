"""Tests for noise.py's hum, tones, machine and recorded noise: spectra, seeds, exact SNRs."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from audio_denoise_utils.noise import (
    NOISE_KINDS,
    SYNTHETIC_KINDS,
    Corruption,
    add_noise,
    hum_noise,
    machine_noise,
    measure_snr,
    recorded_noise,
    synthetic_noise,
    tone_noise,
)

SR = 16_000


def speechlike(seconds: float = 1.0, batch: int = 1) -> torch.Tensor:
    """A (batch, 1, time) harmonic signal with a syllable-like envelope."""
    t = torch.arange(int(seconds * SR), dtype=torch.float64) / SR
    rows = []
    for b in range(batch):
        f0 = 110.0 + 40 * b
        wav = sum(torch.sin(2 * math.pi * k * f0 * t) / k for k in range(1, 8))
        rows.append(wav * (0.5 + 0.5 * torch.sin(2 * math.pi * 3 * t) ** 2))
    return (0.3 * torch.stack(rows)).float().unsqueeze(1)


def power_spectrum(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Return (freqs in Hz, power per rFFT bin) of rows (..., time)."""
    x = x.double()
    return torch.fft.rfftfreq(x.shape[-1], 1 / SR), torch.fft.rfft(x, dim=-1).abs().pow(2)


def share(power: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Share of each row's power inside ``mask`` (frequency bins)."""
    return (power * mask).sum(-1) / power.sum(-1)


@pytest.mark.parametrize("kind", SYNTHETIC_KINDS)
def test_synthetic_kinds_are_unit_variance_seeded_and_shaped(kind):
    a = synthetic_noise(kind, (3, 1, SR), generator=torch.Generator().manual_seed(7))
    b = synthetic_noise(kind, (3, 1, SR), seed=7)
    c = synthetic_noise(kind, (3, 1, SR), seed=8)
    assert a.shape == (3, 1, SR) and a.dtype == torch.float32
    assert torch.equal(a, b)
    assert not torch.allclose(a, c)
    assert torch.allclose(a.std(dim=-1, correction=0), torch.ones(3, 1), atol=1e-4)
    assert a.mean(dim=-1).abs().max() < 1e-4
    assert synthetic_noise(kind, (1, 800), seed=0).shape == (1, 800)


def test_global_rng_untouched():
    state = torch.get_rng_state()
    for kind in SYNTHETIC_KINDS:
        synthetic_noise(kind, (2, 1, 4000))  # no seed: fresh noise from a private generator
    assert torch.equal(state, torch.get_rng_state())


@pytest.mark.parametrize("mains", [50.0, 60.0])
def test_hum_energy_sits_on_mains_harmonics(mains):
    x = hum_noise((4, 1, 2 * SR), mains_hz=mains, seed=1)
    freqs, power = power_spectrum(x)
    on_harmonic = (torch.remainder(freqs + 1, mains) <= 2) & (freqs > 0)  # within 1 Hz
    assert share(power, on_harmonic).min() > 0.999
    fundamental = (freqs - mains).abs() <= 1
    assert share(power, fundamental).min() > 0.05  # the fundamental itself is present
    assert share(power, freqs > 8.5 * mains).max() < 1e-6  # 8 harmonics by default


def test_hum_draws_50_or_60_per_row():
    x = hum_noise((32, 1, SR), seed=3)
    freqs, power = power_spectrum(x)
    at50 = share(power, (freqs - 50).abs() <= 1) > 0
    at60 = share(power, (freqs - 60).abs() <= 1) > 1e-6
    at50 = share(power, (freqs - 50).abs() <= 1) > 1e-6
    assert bool((at50 ^ at60).all())  # exactly one mains frequency per row
    assert 0 < int(at50.sum()) < 32  # both occur


def test_tones_stay_in_their_band_and_are_narrow():
    x = tone_noise((8, 1, 2 * SR), freq_range=(1000.0, 2000.0), vibrato=0.02, seed=2)
    freqs, power = power_spectrum(x)
    band = (freqs >= 1000 * 0.97) & (freqs <= 2000 * 1.03)
    assert share(power, band).min() > 0.999
    # Tonal: 3 tones with vibrato occupy a small fraction of the band; the top 2% of bins hold
    # most of the energy (white noise would need about half the bins for half the energy).
    top = power.sort(dim=-1, descending=True).values
    k = int(0.02 * power.shape[-1])
    assert (top[..., :k].sum(-1) / power.sum(-1)).min() > 0.9


def test_tones_reject_a_range_above_nyquist():
    with pytest.raises(ValueError, match="freq_range"):
        tone_noise((1, SR), freq_range=(1000.0, 9000.0), seed=0)


def test_machine_noise_is_band_limited():
    x, band = machine_noise((16, 1, SR), seed=4, return_band=True)
    assert band.shape == (16, 2)
    assert bool((band[:, 0] >= 60).all() and (band[:, 1] <= 0.45 * SR).all())
    assert bool((band[:, 1] >= 2 * band[:, 0] * 0.999).all() | (band[:, 1] == 0.45 * SR).any())
    freqs, power = power_spectrum(x)
    inside = (freqs >= band[:, :1]) & (freqs <= band[:, 1:])
    assert share(power.squeeze(1), inside).min() > 0.999
    # Broadband within the band: far more spread than a handful of tones.
    top = power.sort(dim=-1, descending=True).values
    assert (top[..., :20].sum(-1) / power.sum(-1)).max() < 0.6


def test_recorded_noise_crops_loops_and_normalises():
    clip = torch.sin(torch.arange(300, dtype=torch.float32)) + 0.5  # offset: mean is removed
    out = recorded_noise([torch.zeros(10), clip.unsqueeze(0)], 1000, seed=0)
    assert out.shape == (1, 1000)
    assert abs(float(out.pow(2).mean().sqrt()) - 1) < 1e-4
    assert abs(float(out.mean())) < 1e-5
    again = recorded_noise([torch.zeros(10), clip.unsqueeze(0)], 1000, seed=0)
    assert torch.equal(out, again)
    with pytest.raises(ValueError, match="non-silent"):
        recorded_noise([torch.zeros(10)], 100, seed=0)
    # One nonzero sample in 100,000 is sound, though a strided look at the clip misses it: the
    # only usable clip, it is the one drawn (its crop holds the click or is refused as silence).
    click = torch.zeros(1, 100_000)
    click[0, 12_345] = 0.5
    out = recorded_noise([torch.zeros(1, 100_000), click], 100_000, seed=0)
    assert int((out != out[0, 0]).sum()) == 1


@pytest.mark.parametrize("kind", [k for k in NOISE_KINDS if k not in ("original",)])
@pytest.mark.parametrize("snr", [-5.0, 0.0, 20.0])
def test_add_noise_is_exact_for_every_kind(kind, snr):
    clean = speechlike(batch=3)
    others = [speechlike(0.7)[0] * 0.5, speechlike(1.3)[0]]
    noisy = add_noise(
        clean, snr, kind=kind, seed=5, babble_clips=others, noise_clips=[torch.randn(1, 5000)]
    )
    assert noisy.shape == clean.shape
    assert torch.allclose(measure_snr(clean, noisy), torch.full((3,), snr), atol=0.01)
    again = add_noise(
        clean, snr, kind=kind, seed=5, babble_clips=others, noise_clips=[torch.randn(1, 5000)]
    )
    if kind != "recorded":  # the recorded case above passes fresh random recordings
        assert torch.equal(noisy, again)


def test_add_noise_recorded_needs_clips():
    with pytest.raises(ValueError, match="noise_clips"):
        add_noise(speechlike(), 5.0, kind="recorded", seed=0)


def test_corruption_mixes_every_kind_at_exact_snr():
    kinds = ("white", "pink", "brown", "hum", "tones", "machine", "babble", "recorded")
    corruption = Corruption(
        snr_db=(-5.0, 20.0),
        noise=kinds,
        babble_clips=[speechlike(0.9)[0]],
        noise_clips=[torch.randn(1, 3000)],
    )
    clean = speechlike(batch=24)
    noisy, ref = corruption(clean, torch.Generator().manual_seed(0), return_reference=True)
    snr = measure_snr(ref, noisy)
    assert bool(((snr >= -5.01) & (snr <= 20.01)).all())
    # Replaying the same generator reproduces the batch; the drawn kinds are all different
    # spectra, so look for hum (energy at mains harmonics) among the rows.
    again = corruption(clean, torch.Generator().manual_seed(0))
    assert torch.equal(noisy, again)
    freqs, power = power_spectrum((noisy - ref).squeeze(1))
    hum_like = share(
        power, (torch.remainder(freqs + 1, 50) <= 2) | (torch.remainder(freqs + 1, 60) <= 2)
    )
    assert int((hum_like > 0.999).sum()) >= 1


def test_corruption_recorded_needs_clips():
    with pytest.raises(ValueError, match="noise_clips"):
        Corruption(noise=("white", "recorded"))


def test_cli_lists_the_same_kinds_as_noise_py():
    from audio_denoise_utils import cli

    assert cli.SYNTHETIC_KINDS == SYNTHETIC_KINDS
    assert set(cli.TRAIN_NOISE_KINDS) == set(NOISE_KINDS) - {"original"}
    from audio_denoise_utils.losses import LOSSES

    assert set(cli.TRAIN_LOSSES) == set(LOSSES)
    from audio_denoise_utils.engine.trainer import KEEP_CHOICES, MAX_LR

    assert cli.KEEP_CHOICES == KEEP_CHOICES and cli.MAX_LR == MAX_LR


def test_corrupt_file_with_hum_at_the_files_own_rate(tmp_path):
    import soundfile as sf

    from audio_denoise_utils.engine.corrupt_file import corrupt_file

    sr = 44_100
    t = torch.arange(sr, dtype=torch.float64) / sr
    voice = (0.3 * torch.sin(2 * math.pi * 1000 * t) * torch.sin(2 * math.pi * 3 * t)).numpy()
    src = tmp_path / "in.wav"
    sf.write(src, voice, sr, subtype="FLOAT")
    out = tmp_path / "hum.wav"
    realised = corrupt_file(src, out, 10.0, kind="hum", seed=3)
    assert abs(realised - 10.0) < 0.1
    noisy, file_sr = sf.read(out, dtype="float64")
    assert file_sr == sr and noisy.shape == voice.shape
    err = torch.from_numpy(noisy - voice)
    freqs = torch.fft.rfftfreq(err.numel(), 1 / sr)
    power = torch.fft.rfft(err).abs().pow(2)
    comb = (torch.remainder(freqs + 1, 50) <= 2) | (torch.remainder(freqs + 1, 60) <= 2)
    assert float(share(power, comb & (freqs > 0))) > 0.99  # hum at the mains harmonics
    corrupt_file(src, tmp_path / "again.wav", 10.0, kind="hum", seed=3)
    assert (tmp_path / "again.wav").read_bytes() == out.read_bytes()


def test_recorded_noise_with_seconds_of_digital_silence_still_trains(tmp_path):
    import soundfile as sf

    from audio_denoise_utils.engine.noise_tools import drop_silent_runs
    from audio_denoise_utils.errors import AudioDenoiseError
    from audio_denoise_utils.training import TrainConfig, load_noise_dir, make_corruption

    # A game sound as packages ship it: a call, 3 s of exact zeros, another call (4 s in all).
    call = (0.1 * torch.randn(8000, generator=torch.Generator().manual_seed(1))).numpy()
    gap = np.zeros(48000, np.float32)
    folder = tmp_path / "noise"
    folder.mkdir()
    sf.write(folder / "wolf.wav", np.concatenate([call, gap, call]), 16000, subtype="FLOAT")
    (clip,) = load_noise_dir(folder)
    assert clip.shape == (1, 16000)  # the gap is gone, the calls are whole
    assert torch.equal(clip, torch.from_numpy(np.concatenate([call, call])).unsqueeze(0))
    # A crop as long as the clip (1 s) fell wholly inside the gap one time in two: mixing failed.
    config = TrainConfig(noise=("recorded",), noise_dir=str(folder))
    corruption = make_corruption(config)
    clean = speechlike(batch=8)
    for seed in range(8):
        noisy, ref = corruption(clean, torch.Generator().manual_seed(seed), return_reference=True)
        assert bool((measure_snr(ref, noisy) <= 20.01).all())
    # Pauses shorter than a quarter of a second are part of the sound and stay.
    pause = torch.cat([torch.ones(1, 100), torch.zeros(1, 3000), torch.ones(1, 100)], dim=-1)
    assert drop_silent_runs(pause, 16000) is pause
    assert drop_silent_runs(pause, 8000).shape == (1, 200)
    assert drop_silent_runs(torch.zeros(1, 16000), 16000).shape == (1, 0)
    # Several channels: silence is where every channel is silent.
    two = torch.stack([torch.cat([torch.ones(100), torch.zeros(8000)]), torch.ones(8100)])
    assert drop_silent_runs(two, 16000) is two
    both = torch.cat([two, torch.zeros(2, 8000), two], dim=-1)
    assert torch.equal(drop_silent_runs(both, 16000), torch.cat([two, two], dim=-1))
    # A folder of nothing but silence is refused at load time, naming it.
    quiet = tmp_path / "quiet"
    quiet.mkdir()
    sf.write(quiet / "gap.wav", np.zeros(16000, np.float32), 16000)
    with pytest.raises(AudioDenoiseError, match=r"quiet: every noise recording in it is digital"):
        load_noise_dir(quiet)


def test_training_config_reads_recorded_noise_from_a_folder(tmp_path):
    import soundfile as sf

    from audio_denoise_utils.errors import AudioDenoiseError
    from audio_denoise_utils.training import TrainConfig, make_corruption

    folder = tmp_path / "noise"
    folder.mkdir()
    sf.write(folder / "fan.wav", (0.1 * torch.randn(8000)).numpy(), 8000)  # resampled to 16 kHz
    (folder / "notes.txt").write_text("not audio")
    config = TrainConfig(noise=("white", "recorded"), noise_dir=str(folder))
    corruption = make_corruption(config)
    assert len(corruption.noise_clips) == 1 and corruption.noise_clips[0].shape == (1, 16000)
    clean = speechlike(batch=4)
    noisy, ref = corruption(clean, torch.Generator().manual_seed(0), return_reference=True)
    snr = measure_snr(ref, noisy)
    assert bool(((snr >= -5.01) & (snr <= 20.01)).all())
    with pytest.raises(AudioDenoiseError, match="fetch_real_noise"):
        make_corruption(TrainConfig(noise=("recorded",), noise_dir=str(tmp_path / "missing")))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(AudioDenoiseError, match="no audio files"):
        make_corruption(TrainConfig(noise=("recorded",), noise_dir=str(empty)))
