"""Experiment (issue 11, session 11; not course code): where does a model leave noise, pauses or speech?

For each wide-band benchmark voice (``data/realspeech``, ``scripts/fetch_real_speech.py``) with white noise at
``--snr`` dB, and each checkpoint: the frames where the clean voice is 40 dB below its loudest frame
are "pauses", the rest "speech". Printed per checkpoint:

- the energy of (output − clean) in pauses and in speech, in dB relative to the clean clip's power
  (what SI-SDR sees), and
- per band (0-1, 1-4, 4-8 kHz) the mean of 20 log10(|output| / |clean|) over the STFT bins of pauses and
  speech (what a log-spectral loss sees: above 0 is noise left, below 0 is speech taken away).

    .venv/bin/python scripts/exp_pause_residual.py e160=runs/checkpoint/pretrained.pt \\
        shipped=checkpoints/default.pt

The result is in benchmarks/results/recipes.md.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

from audio_denoise_utils.engine.checkpoints import load_checkpoint
from audio_denoise_utils.noise import add_noise

BANDS = ((0, 1000), (1000, 4000), (4000, 8000))
PAUSE = 1e-4  # frames 40 dB below the clip's loudest
N_FFT, HOP = 512, 128


def magnitudes(x: torch.Tensor) -> torch.Tensor:
    """Return |STFT| (bins, frames) of (1, 1, time) audio, floored at 1e-6."""
    window = torch.hann_window(N_FFT)
    spec = torch.stft(x.reshape(1, -1), N_FFT, HOP, window=window, return_complex=True)
    return spec.abs()[0] + 1e-6


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("checkpoints", nargs="+", metavar="NAME=PATH")
    p.add_argument("--data", default="data/realspeech")
    p.add_argument("--snr", type=float, default=5.0)
    args = p.parse_args()
    models = {}
    for spec in args.checkpoints:
        name, path = spec.split("=", 1)
        models[name] = load_checkpoint(path)[0]
    freqs = np.linspace(0, 8000, N_FFT // 2 + 1)
    rows: dict[str, dict[str, list[float]]] = {name: {} for name in models}
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from quality import real_speech_clips  # the benchmark's 42 wide-band voices

    for i, clip in enumerate(real_speech_clips(Path(args.data))):
        clean = clip.reshape(1, 1, -1)
        noisy = add_noise(clean, args.snr, kind="white", seed=i)
        ref = magnitudes(clean)
        energy = ref.pow(2).sum(0)
        pause = energy < energy.max() * PAUSE
        n = clean.shape[-1] // HOP * HOP
        frame_energy = clean[..., :n].reshape(-1, HOP).pow(2).mean(1)
        sample_pause = frame_energy < frame_energy.max() * PAUSE
        for name, model in models.items():
            with torch.no_grad():
                out = model(noisy)
            err = (out - clean)[..., :n].reshape(-1, HOP).pow(2).mean(1)
            power = clean.pow(2).mean()
            for where, mask in (("pauses", sample_pause), ("speech", ~sample_pause)):
                if mask.any():
                    value = 10 * np.log10((err[mask].mean() / power).item())
                    rows[name].setdefault(f"error energy in {where}, dB", []).append(value)
            ratio = 20 * torch.log10(magnitudes(out) / ref)
            for lo, hi in BANDS:
                band = torch.from_numpy((freqs >= lo) & (freqs < hi))
                for where, mask in (("pauses", pause), ("speech", ~pause)):
                    if mask.any():
                        key = f"{where} {lo / 1000:g}-{hi / 1000:g} kHz, dB"
                        rows[name].setdefault(key, []).append(ratio[band][:, mask].mean().item())
    for name, table in rows.items():
        print(name)
        for key, values in table.items():
            print(f"  {key}: {np.mean(values):+.1f} ({len(values)} clips)")


if __name__ == "__main__":
    main()
