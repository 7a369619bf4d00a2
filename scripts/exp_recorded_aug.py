"""Experiment (issue 11, session 8; not course code): real training noise, varied on the fly.

Training on the 46 recordings of ``data/realnoise/train`` (the kind "recorded"; OpenSFX's, as
``scripts/fetch_real_noise.py --opensfx-only`` makes the folder since session 9) is the only change measured
to move the benchmark's real noise at low SNR, and it cost the other kinds some of their gain. This run asks
whether the recordings help more when each crop is varied, so that the model sees more than 46 noises: the
package's ``recorded_noise`` is patched in memory (the package is not changed) to play the crop 0.5 to 2
times as fast (log-uniform; pitch and tempo move together, like a tape; linear interpolation with no
anti-alias filter, so what a faster crop pushes above 8 kHz folds back down), tilt its spectrum by -6 to +6 dB per
octave around 1 kHz, and on one crop in two mix in a second recording at -10 to 0 dB under the first; all
draws come from the training generator, so runs repeat. It trains the shipped recipe with "recorded" as an
eighth kind and scores like the other rows::

    .venv/bin/python scripts/exp_recorded_aug.py --epochs 80 --seed 0 --out runs/recaug/ra80.pt
    cd benchmarks && python quality.py --checkpoint default=../runs/recaug/ra80.pt --max-clips 14 \\
        --snr -5 0 5 10 20 --no-baselines --no-peers --pitch \\
        --noise white pink babble hum real tones machine --tag ra80 --out ../runs/recaug

The result (it did not pay) is in benchmarks/results/recipes.md, the section of session 8.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from exp_common import train_shipped_recipe_plus

from audio_denoise_utils import noise as N
from audio_denoise_utils.engine.noise_tools import make_generator
from audio_denoise_utils.noise_kinds import recorded_noise

SR = 16000


def _varied_crop(clip: torch.Tensor, length: int, u: list[float]) -> torch.Tensor:
    """Return (length,): a crop of ``clip`` (looped) played ``rate`` times as fast, zero mean."""
    rate = 0.5 * 4 ** u[0]  # 0.5 to 2, log-uniform
    need = math.ceil(length * rate) + 2
    clip = clip.reshape(-1).float()
    start = min(int(u[1] * clip.numel()), clip.numel() - 1)
    raw = clip.repeat(math.ceil((start + need) / clip.numel()))[start : start + need]
    crop = F.interpolate(raw.view(1, 1, -1), size=length, mode="linear", align_corners=False)
    crop = crop.view(-1)
    return crop - crop.mean()


def varied_recorded_noise(clips, length, generator=None, seed=None, device=None) -> torch.Tensor:
    """Return (1, length): a varied crop of the recordings (see the module text), unit RMS."""
    usable = [c for c in clips if c.numel() > 0 and bool((c != 0).any())]
    if not usable:  # the package's own function says what is wrong
        return recorded_noise(clips, length, generator=generator, seed=seed, device=device)
    g = make_generator(generator, seed, device or (generator.device if generator else "cpu"))
    u = torch.rand(8, generator=g, dtype=torch.float64).tolist()

    def pick(x: float) -> torch.Tensor:
        return usable[min(int(x * len(usable)), len(usable) - 1)]

    out = _varied_crop(pick(u[0]), length, u[1:3])
    out = out / out.pow(2).mean().sqrt().clamp_min(1e-12)
    if u[3] < 0.5:
        second = _varied_crop(pick(u[4]), length, u[5:7])
        second = second / second.pow(2).mean().sqrt().clamp_min(1e-12)
        out = out + second * 10 ** (-10 * u[7] / 20)
    tilt = torch.rand(1, generator=g, dtype=torch.float64).item() * 12 - 6  # dB per octave
    f = torch.fft.rfftfreq(length, 1 / SR).clamp_min(20.0)
    gain = (f / 1000) ** (tilt / (20 * math.log10(2)))
    out = torch.fft.irfft(torch.fft.rfft(out) * gain, n=length)
    out = out - out.mean()
    out = out / out.pow(2).mean().sqrt().clamp_min(1e-12)
    return out.unsqueeze(0).to(device or out.device)


def main() -> None:
    N.recorded_noise = varied_recorded_noise  # add_noise looks the name up in its module
    train_shipped_recipe_plus(
        "recorded", __doc__, 80, "runs/recaug/ra80.pt", noise_dir="data/realnoise/train"
    )


if __name__ == "__main__":
    main()
