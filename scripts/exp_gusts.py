"""Experiment (issue 11, session 7; not course code): a synthetic non-stationary noise kind, "gusts".

Real recorded noise (wind, applause, a jackhammer, a helicopter) is the kind the course model gains least
on, and none of its synthetic kinds changes level over time. This adds one that does, only for this run
(the package is patched in memory, not changed): coloured noise (random slope from white to brown, random
low-pass between 1 and 8 kHz) under a random envelope, either slow log-normal gusts (0.3 to 4 Hz, 3 to 15 dB
deep) or trains of decaying bursts (2 to 20 per second, 5 to 60 ms decay), seeded like the other kinds.
It trains the shipped recipe with "gusts" as an eighth kind and scores like the other rows::

    .venv/bin/python scripts/exp_gusts.py --epochs 40 --seed 0 --out runs/gusts/g40.pt
    cd benchmarks && python quality.py --checkpoint default=../runs/gusts/g40.pt --max-clips 14 \\
        --snr -5 0 5 10 20 --no-baselines --no-peers --pitch \\
        --noise white pink babble hum real tones machine --tag g40 --out ../runs/gusts

The result (it did not pay) is in benchmarks/results/recipes.md.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from exp_common import train_shipped_recipe_plus

from audio_denoise_utils import noise as N
from audio_denoise_utils.engine.noise_tools import make_generator
from audio_denoise_utils.noise_kinds import _rows_and_draws, _unit_rows

ENVELOPE_RATE = 1000  # Hz: envelopes are drawn at this rate, then interpolated


def gusts_noise(shape, sr=16000, generator=None, device=None, dtype=torch.float32, seed=None):
    """Return unit-variance non-stationary noise of ``shape`` (last axis time)."""
    if device is None:
        device = generator.device if generator is not None else torch.device("cpu")
    g = make_generator(generator, seed, device)
    shape, u = _rows_and_draws(shape, g, 8)
    u = u.float()
    rows, time_len = u.shape[0], shape[-1]
    f = torch.fft.rfftfreq(time_len, 1 / sr, device=g.device).clamp_min(sr / time_len)
    gain = f ** (-u[:, 0:1]) / torch.sqrt(1 + (f / (1000 * 8 ** u[:, 1:2])) ** 8)
    spectrum = torch.fft.rfft(torch.randn(rows, time_len, generator=g, device=g.device), dim=-1)
    spectrum = spectrum * gain
    spectrum[:, 0] = 0
    base = torch.fft.irfft(spectrum, n=time_len, dim=-1)
    base = base / base.std(dim=-1, keepdim=True).clamp_min(1e-12)
    er = ENVELOPE_RATE
    n_env = max(4, math.ceil(time_len * er / sr) + 1)
    fe = torch.fft.rfftfreq(n_env, 1 / er, device=g.device)
    # (a) slow gusts: low-passed Gaussian noise as the log amplitude
    rate = (0.3 * (4 / 0.3) ** u[:, 2:3]).clamp_min(float(fe[1]))
    w = torch.randn(rows, n_env, generator=g, device=g.device)
    slow = torch.fft.irfft(torch.fft.rfft(w, dim=-1) * ((fe > 0) & (fe <= rate)), n=n_env, dim=-1)
    slow = slow / slow.std(dim=-1, keepdim=True).clamp_min(1e-12)
    env_a = torch.exp(slow * (3 + 12 * u[:, 3:4]) / 20 * math.log(10))
    # (b) bursts: Bernoulli impulses of random height, each decaying exponentially, over a floor
    hits = torch.rand(rows, n_env, generator=g, device=g.device) < (2 + 18 * u[:, 4:5]) / er
    height = 0.3 + 0.7 * torch.rand(rows, n_env, generator=g, device=g.device)
    kernel = torch.exp(-torch.arange(n_env, device=g.device) / er / (0.005 + 0.055 * u[:, 5:6]))
    env_b = torch.fft.irfft(
        torch.fft.rfft(hits * height, dim=-1) * torch.fft.rfft(kernel, dim=-1), n=n_env, dim=-1
    )
    peak = env_b.abs().amax(dim=-1, keepdim=True).clamp_min(1e-3)
    env_b = env_b + (0.02 + 0.2 * u[:, 6:7]) * peak
    env = torch.where(u[:, 7:8] < 0.5, env_a, env_b.clamp_min(0))
    env = F.interpolate(env.unsqueeze(1), size=time_len, mode="linear", align_corners=False)
    return _unit_rows(base * env.squeeze(1), shape, dtype)


def add_gusts_kind() -> None:
    """Make "gusts" a synthetic noise kind for this process (Corruption, TrainConfig accept it)."""
    synthetic = N.synthetic_noise

    def patched(kind, shape, sr=16000, generator=None, device=None, dtype=torch.float32, seed=None):
        if kind == "gusts":
            return gusts_noise(shape, sr, generator, device, dtype, seed)
        return synthetic(kind, shape, sr, generator, device, dtype, seed)

    N.synthetic_noise = patched
    N.SYNTHETIC_KINDS = (*N.SYNTHETIC_KINDS, "gusts")
    N.NOISE_KINDS = (*N.NOISE_KINDS, "gusts")


def main() -> None:
    add_gusts_kind()
    train_shipped_recipe_plus("gusts", __doc__, 40, "runs/gusts/g40.pt")


if __name__ == "__main__":
    main()
