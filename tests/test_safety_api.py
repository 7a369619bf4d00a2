"""The Python API the notebooks use refuses bad arguments with an AudioDenoiseError that says what to do.

Each case is a mistake a learner makes in a notebook cell (numpy instead of torch, int16 PCM,
a wrong shape, NaN, an out-of-range seed or rate); the error must be one line, subclass both
AudioDenoiseError and, where Python expects it, ValueError.
"""

from __future__ import annotations

import pytest
import torch

from audio_denoise_utils import (
    audio,
    baselines,
    enhance,
    metrics,
    models,
    noise,
    plots,
    ravdess,
    training,
)
from audio_denoise_utils.errors import AudioDenoiseError

X = 0.1 * torch.randn(1, 16000, generator=torch.Generator().manual_seed(0))

CASES = {
    "add_noise numpy": (lambda: noise.add_noise(X.numpy(), 5, seed=0), "torch tensor"),
    "add_noise int16": (lambda: noise.add_noise(torch.ones(1, 100, dtype=torch.int16), 5), "float"),
    "add_noise 1-d": (lambda: noise.add_noise(X[0], 5, seed=0), "(1, time)"),
    "add_noise nan snr": (lambda: noise.add_noise(X, float("nan"), seed=0), "finite"),
    "add_noise kind": (lambda: noise.add_noise(X, 5, kind="purple"), "purple"),
    "add_noise seed": (lambda: noise.add_noise(X, 5, seed=-1), "out of range"),
    "mix_at_snr shapes": (lambda: noise.mix_at_snr(X, torch.randn(1, 10), 5), "does not fit"),
    "mix_at_snr nan clean": (
        lambda: noise.mix_at_snr(torch.full((1, 100), float("nan")), torch.randn(1, 100), 5),
        "NaN or Inf",
    ),
    "mix_at_snr str snr": (lambda: noise.mix_at_snr(X, torch.randn(1, 16000), "5"), "number"),
    "add_noise absurd snr": (lambda: noise.add_noise(X, -1000, seed=0), "[-50, 100]"),
    "load_audio sr 0": (lambda: audio.load_audio(__file__, sr=0), "target sample rate"),
    "load_audio sr nan": (lambda: audio.load_audio(__file__, sr=float("nan")), "sample rate"),
    "load_audio sr 1e9": (lambda: audio.load_audio(__file__, sr=10**9), "outside the range"),
    "measure_snr shapes": (lambda: noise.measure_snr(X, X[:, :10]), "differ in shape"),
    "normalize channels": (lambda: noise.normalize(torch.randn(3, 100)), "(3, 100)"),
    "colored_noise size": (lambda: noise.colored_noise(-5), ">= 1"),
    "amplitude_modulation sr": (lambda: noise.amplitude_modulation(X, 0), "sample rate"),
    "Corruption range": (lambda: noise.Corruption(snr_db=(10, 0)), "low > high"),
    "si_sdr shapes": (lambda: metrics.si_sdr(X, X[:, :100]), "same shape"),
    "compute_metrics sr": (lambda: metrics.compute_metrics(X, X, sr=0), "sample rate"),
    "evaluate nan snr": (lambda: metrics.evaluate({}, [X], snrs=(float("nan"),)), "finite"),
    "oracle_irm shapes": (lambda: baselines.oracle_irm(X, X[:, :100]), "shape"),
    "build_model name": (lambda: models.build_model("nope"), "unknown model"),
    "build_model keyword": (lambda: models.build_model("mask", nonsense=3), "nonsense"),
    "build_model size": (lambda: models.build_model("mask", channels=-1), "channels"),
    "describe": (lambda: models.describe(None), "torch model"),
    "denoise shape": (
        lambda: enhance.denoise(models.build_model("conv"), torch.zeros(1, 1, 100), 16000),
        "shape",
    ),
    "TrainConfig seed": (lambda: training.TrainConfig(seed=2**64), "out of range"),
    "seed_everything": (lambda: training.seed_everything(-1), "out of range"),
    "fit clip": (
        lambda: training.fit(
            None, [torch.ones(1, 100, dtype=torch.int64)], [], training.TrainConfig(epochs=1)
        ),
        "train_clips[0]",
    ),
    "split_by_actor": (lambda: ravdess.split_by_actor(None), "list_clips"),
    "plot_comparison sr": (lambda: plots.plot_comparison({"a": X}, sr=0), "sample rate"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_notebook_api_refuses_bad_arguments_clearly(name):
    fn, needle = CASES[name]
    with pytest.raises(AudioDenoiseError) as err:
        fn()
    msg = str(err.value)
    assert needle in msg and "\n" not in msg, msg


def test_seeds_beyond_32_bits_are_refused_not_wrapped():
    """torch's CPU generator keeps 32 bits of a seed: 5 and 5 + 2**32 would give the same noise."""
    for call in (
        lambda: noise.add_noise(X, 5, seed=5 + 2**32),
        lambda: training.seed_everything(2**32),
        lambda: training.TrainConfig(seed=2**40),
        lambda: noise.make_generator(seed=-1),
    ):
        with pytest.raises(AudioDenoiseError, match="out of range"):
            call()
    a = noise.add_noise(X, 5, seed=2**32 - 1)  # the largest seed works and differs from 0
    assert not torch.equal(a, noise.add_noise(X, 5, seed=0))
