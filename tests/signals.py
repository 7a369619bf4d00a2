"""Synthetic test signals shared by several test modules (real behaviour, no files needed)."""

from __future__ import annotations

import numpy as np
import torch
from scipy.signal import lfilter

SR = 16_000


def speech_like(seed: int, seconds: float = 1.5, sr: int = SR) -> torch.Tensor:
    """A gliding harmonic tone through three formant resonators, gated into syllables: (1, time)."""
    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    t = np.arange(n) / sr
    f0 = rng.uniform(110, 220) * (1 + 0.05 * np.sin(2 * np.pi * rng.uniform(2, 5) * t))
    phase = 2 * np.pi * np.cumsum(f0) / sr
    y = sum(np.sin(k * phase) / k for k in range(1, int(4000 / f0.max())))
    for fc, bw in zip(
        rng.uniform([400, 1100, 2300], [800, 1800, 3000]), (80, 120, 160), strict=True
    ):
        r = np.exp(-np.pi * bw / sr)
        y = lfilter([1 - r], [1, -2 * r * np.cos(2 * np.pi * fc / sr), r * r], y)
    env = np.zeros(n)
    pos = int(0.1 * sr)
    while pos < n - int(0.1 * sr):
        on = min(int(rng.uniform(0.15, 0.3) * sr), n - pos)
        env[pos : pos + on] = np.hanning(on)
        pos += on + int(rng.uniform(0.08, 0.2) * sr)
    y = 0.5 * y * env / np.abs(y * env).max()
    return torch.from_numpy(y.astype(np.float32)).unsqueeze(0)


def with_white_noise(clean: torch.Tensor, snr_db: float, seed: int) -> torch.Tensor:
    """Return ``clean`` plus white noise scaled to exactly ``snr_db`` (independent of noise.py)."""
    noise = torch.randn(clean.shape, generator=torch.Generator().manual_seed(seed))
    scale = torch.sqrt(clean.pow(2).sum() / (noise.pow(2).sum() * 10 ** (snr_db / 10)))
    return clean + scale * noise


def write_tiny_ravdess(root, actors=(1, 2, 3, 4), seconds: float = 1.2):
    """Write a tiny RAVDESS-layout folder (two statements per actor) under ``root``; return it."""
    import soundfile as sf

    for actor in actors:
        folder = root / f"Actor_{actor:02d}"
        folder.mkdir(parents=True)
        for stmt in (1, 2):
            clip = speech_like(actor * 10 + stmt, seconds)[0].numpy()
            sf.write(folder / f"03-01-01-01-0{stmt}-01-{actor:02d}.wav", clip, SR)
    return root
