"""Tests for dataset.py: reproducible crops and noise, padding, and the on-device ClipBank."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import soundfile as sf
import torch
from torch.utils.data import DataLoader

from audio_denoise_utils.audio import AudioCache
from audio_denoise_utils.dataset import ClipBank, NoisyCleanDataset, collate_pad
from audio_denoise_utils.noise import Corruption, measure_snr

SR = 16_000
DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def chirp(samples: int, f0: float) -> torch.Tensor:
    """A rising tone (1, samples): every crop position looks different."""
    t = torch.arange(samples, dtype=torch.float64) / SR
    return (0.3 * torch.sin(2 * math.pi * (f0 + 200 * t) * t)).float().unsqueeze(0)


@pytest.fixture
def clips() -> list[torch.Tensor]:
    return [chirp(n, f) for n, f in [(6000, 200.0), (3000, 300.0), (9000, 150.0), (1500, 400.0)]]


CORRUPTION = Corruption(snr_db=(0.0, 20.0), noise=("white", "pink"))


def test_train_items_fresh_per_epoch_and_reproducible(clips: list[torch.Tensor]) -> None:
    ds = NoisyCleanDataset(clips, CORRUPTION, segment=2000, train=True, seed=1)
    assert len(ds) == 4
    noisy0, clean0 = ds[0]
    assert noisy0.shape == clean0.shape == (1, 2000)
    again = ds[0]
    assert torch.equal(again[0], noisy0) and torch.equal(again[1], clean0)
    ds.set_epoch(1)
    noisy1, clean1 = ds[0]
    assert not torch.equal(clean1, clean0) and not torch.allclose(noisy1, noisy0)
    ds.set_epoch(0)
    assert torch.equal(ds[0][0], noisy0)
    # A new dataset with the same seed repeats the run; another seed does not.
    assert torch.equal(NoisyCleanDataset(clips, CORRUPTION, segment=2000, seed=1)[0][0], noisy0)
    assert not torch.equal(NoisyCleanDataset(clips, CORRUPTION, segment=2000, seed=2)[0][0], noisy0)


def test_train_crop_is_a_slice_and_short_clips_are_padded(clips: list[torch.Tensor]) -> None:
    ds = NoisyCleanDataset(clips, CORRUPTION, segment=2000, train=True, seed=0)
    offsets = set()
    for epoch in range(4):
        ds.set_epoch(epoch)
        _, clean = ds[2]
        start = next(
            s for s in range(9000 - 2000 + 1) if torch.equal(clips[2][:, s : s + 2000], clean)
        )
        assert 0 <= start <= 7000
        _, short = ds[3]  # 1500 samples in a 2000-sample segment
        offset = next(o for o in range(501) if torch.equal(short[:, o : o + 1500], clips[3]))
        outside = torch.cat([short[:, :offset], short[:, offset + 1500 :]], dim=-1)
        assert outside.abs().sum() == 0  # zeros around the whole clip
        offsets.add(offset)
    assert len(offsets) > 1  # placed at a random offset, not always at the start


def test_eval_noise_fixed_across_epochs(clips: list[torch.Tensor]) -> None:
    ds = NoisyCleanDataset(clips, CORRUPTION, train=False, seed=3)
    first = [ds[i] for i in range(len(ds))]
    ds.set_epoch(5)
    for i, (noisy, clean) in enumerate(first):
        assert clean.shape == clips[i].shape and torch.equal(clean, clips[i])  # whole clip
        assert torch.equal(ds[i][0], noisy)
        assert 0.0 - 0.01 <= float(measure_snr(clean, noisy)[0]) <= 20.0 + 0.01


def test_eval_segment_is_centre_crop(clips: list[torch.Tensor]) -> None:
    ds = NoisyCleanDataset(clips, CORRUPTION, segment=2000, train=False)
    _, clean = ds[0]
    assert torch.equal(clean, clips[0][:, 2000:4000])
    _, short = ds[3]
    assert torch.equal(short[:, :1500], clips[3]) and short[:, 1500:].abs().sum() == 0


def test_paths_decoded_once_through_cache(tmp_path: Path, clips: list[torch.Tensor]) -> None:
    paths = []
    for i, clip in enumerate(clips[:3]):
        paths.append(tmp_path / f"clip{i}.wav")
        sf.write(paths[-1], clip[0].numpy(), SR, subtype="FLOAT")
    cache = AudioCache(SR)
    ds = NoisyCleanDataset(paths, CORRUPTION, segment=1000, cache=cache)
    for epoch in range(2):
        ds.set_epoch(epoch)
        for i in range(len(ds)):
            noisy, clean = ds[i]
            assert noisy.shape == clean.shape == (1, 1000)
    assert cache.decodes == 3
    assert torch.allclose(ds.clip(1), clips[1])


def test_collate_pad_and_dataloader(clips: list[torch.Tensor]) -> None:
    ds = NoisyCleanDataset(clips, CORRUPTION, train=False)
    noisy, clean, lengths = collate_pad([ds[i] for i in range(len(ds))])
    assert noisy.shape == clean.shape == (4, 1, 9000)
    assert lengths.tolist() == [6000, 3000, 9000, 1500]
    for i, n in enumerate(lengths.tolist()):
        assert torch.equal(clean[i, :, :n], clips[i])
        assert noisy[i, :, n:].abs().sum() == 0 and clean[i, :, n:].abs().sum() == 0
    loader = DataLoader(ds, batch_size=2, collate_fn=collate_pad)
    shapes = [tuple(b[0].shape) for b in loader]
    assert shapes == [(2, 1, 6000), (2, 1, 9000)]


def test_dataset_rejects_bad_clips() -> None:
    with pytest.raises(ValueError):
        NoisyCleanDataset([], CORRUPTION)
    with pytest.raises(ValueError, match="clip 0"):
        NoisyCleanDataset([torch.zeros(2, 100)], CORRUPTION)[0]
    with pytest.raises(IndexError):
        NoisyCleanDataset([torch.zeros(1, 100)], CORRUPTION)[1]


@pytest.mark.parametrize("device", DEVICES)
def test_clip_bank_crops_lie_within_one_clip(device: str) -> None:
    sizes = [500, 1200, 3000, 800, 2000]
    clips = [torch.full((1, n), float(i + 1)) for i, n in enumerate(sizes)]
    bank = ClipBank(clips, device=device, sr=SR)
    assert len(bank) == 5 and bank.audio.numel() == sum(sizes)
    crops = bank.sample(256, 1000, generator=torch.Generator(device).manual_seed(0))
    assert crops.shape == (256, 1, 1000) and crops.device.type == device
    seen = set()
    for crop in crops.cpu()[:, 0]:
        values = crop[crop != 0].unique()
        assert values.numel() == 1  # one clip per crop, zeros aside
        which = int(values.item()) - 1
        seen.add(which)
        # Long clips fill the crop; short ones appear whole, contiguous, among zeros.
        nz = crop.nonzero().flatten()
        assert nz.numel() == min(sizes[which], 1000)
        assert int(nz[-1] - nz[0]) + 1 == nz.numel()
    assert seen == set(range(5))


def test_clip_bank_crops_are_contiguous_slices_and_reproducible() -> None:
    sizes = [700, 1500, 400]
    # Value = 1000 * (clip + 1) + position: a crop must step by exactly 1 inside one clip.
    clips = [
        (1000.0 * (i + 1) + torch.arange(n, dtype=torch.float32)).unsqueeze(0)
        for i, n in enumerate(sizes)
    ]
    bank = ClipBank(clips)
    crops = bank.sample(64, 600, seed=5)[:, 0]
    starts = set()
    for crop in crops:
        vals = crop[crop != 0]
        assert bool((vals.diff() == 1).all())
        clip = int(vals[0].item()) // 1000 - 1
        assert vals.numel() == min(sizes[clip], 600)
        starts.add(int(vals[0].item()))
    assert len(starts) > 10  # random starts, not a fixed one
    assert torch.equal(bank.sample(64, 600, seed=5)[:, 0], crops)
    assert not torch.equal(bank.sample(64, 600, seed=6)[:, 0], crops)


def test_clip_bank_feeds_corruption(clips: list[torch.Tensor]) -> None:
    bank = ClipBank(clips)
    gen = torch.Generator().manual_seed(0)
    clean = bank.sample(8, 1000, gen)
    noisy = Corruption(snr_db=5.0)(clean, gen)
    assert torch.allclose(measure_snr(clean, noisy), torch.full((8,), 5.0), atol=0.01)


def test_speed_perturb_changes_length_and_pitch_but_not_the_originals():
    from audio_denoise_utils.engine.clipbank import speed_perturb

    sr = 16000
    t = torch.arange(sr) / sr
    clip = torch.sin(2 * torch.pi * 400 * t).unsqueeze(0)
    extra = speed_perturb([clip], (0.8, 1.0, 1.25), sr)
    assert len(extra) == 2  # factor 1.0 is skipped
    slow, fast = extra
    assert slow.shape[-1] == round(0.8 * sr) and fast.shape[-1] == round(1.25 * sr)

    def peak_hz(x: torch.Tensor) -> float:
        spec = torch.fft.rfft(x[0]).abs()
        return float(spec.argmax()) * sr / x.shape[-1]

    assert abs(peak_hz(slow) - 400 / 0.8) < 5 and abs(peak_hz(fast) - 400 / 1.25) < 5
    assert torch.equal(clip, torch.sin(2 * torch.pi * 400 * t).unsqueeze(0))


def test_clip_bank_with_speed_perturbation_equals_the_list_it_replaces():
    # The in-place build must hold exactly what ClipBank(clips + speed_perturb(clips)) held.
    from audio_denoise_utils.engine.clipbank import speed_perturb

    gen = torch.Generator().manual_seed(3)
    clips = [torch.randn(1, n, generator=gen) for n in (1, 7, 999, 16000, 23457)]
    factors = (0.85, 0.92, 1.0, 1.08, 1.15)
    expected = ClipBank(clips + speed_perturb(clips, factors, SR), sr=SR)
    bank = ClipBank.with_speed_perturbation(clips, factors, sr=SR)
    assert len(bank) == len(clips) * 5
    assert torch.equal(bank.lengths, expected.lengths)
    assert torch.equal(bank.offsets, expected.offsets)
    assert torch.equal(bank.audio, expected.audio)
    assert torch.equal(bank.sample(16, 500, seed=1), expected.sample(16, 500, seed=1))
    with pytest.raises(ValueError, match="no clips"):
        ClipBank.with_speed_perturbation([], factors)
