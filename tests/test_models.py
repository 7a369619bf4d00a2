"""Tests for audio_denoise_utils.models: the (batch, 1, time) contract, sizes, level handling."""

from __future__ import annotations

import json
import math

import pytest
import torch

from audio_denoise_utils.models import (
    DEFAULT_MODEL,
    MODELS,
    DenseAutoencoder,
    MaskNet,
    build_model,
    count_parameters,
    describe,
    parameter_memory_bytes,
)

torch.set_num_threads(2)

# Small dense config: the default (16000-sample frames, 4096 hidden) has 135M parameters.
SMALL = {"dense": {"frame_length": 1000, "hidden": 64, "bottleneck": 16}}
NAMES = ["dense", "conv", "unet", "mask"]


def make(name: str, **extra) -> torch.nn.Module:
    torch.manual_seed(0)  # weight init uses the global generator; fix it for reproducible tests
    return build_model(name, **{**SMALL.get(name, {}), **extra}).eval()


def speechlike(batch: int, length: int, seed: int) -> torch.Tensor:
    """Return a bursty harmonic signal plus a little noise, (batch, 1, length), peak < 1."""
    g = torch.Generator().manual_seed(seed)
    t = torch.arange(length) / 16000
    f0 = 120 + 80 * torch.rand(batch, 1, 1, generator=g)
    tone = sum(torch.sin(2 * math.pi * k * f0 * t) / k for k in range(1, 6))
    envelope = 0.5 + 0.5 * torch.sin(2 * math.pi * 3 * t)
    noise = 0.05 * torch.randn(batch, 1, length, generator=g)
    return 0.2 * tone * envelope + noise


def test_registry_holds_all_models_and_default() -> None:
    assert set(NAMES) <= set(MODELS)
    assert DEFAULT_MODEL in MODELS
    with pytest.raises(ValueError, match="unknown model"):
        build_model("nope")


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("length", [1, 137, 16000, 16383, 48001])
def test_shape_contract_any_length(name: str, length: int) -> None:
    model = make(name)
    x = speechlike(2, length, seed=length)
    with torch.no_grad():
        y = model(x)
    assert y.shape == (2, 1, length)
    assert y.dtype == torch.float32
    assert torch.isfinite(y).all()


@pytest.mark.parametrize("name", NAMES)
def test_rejects_wrong_shape(name: str) -> None:
    model = make(name)
    with pytest.raises(ValueError, match=r"\(batch, 1, time\)"):
        model(torch.zeros(2, 1600))
    with pytest.raises(ValueError, match=r"\(batch, 1, time\)"):
        model(torch.zeros(2, 2, 1600))


@pytest.mark.parametrize("name", NAMES)
def test_config_is_json_and_rebuilds_same_model(name: str) -> None:
    model = make(name)
    config = json.loads(json.dumps(model.config))
    assert config["sample_rate"] == 16000
    clone = build_model(name, **config).eval()
    clone.load_state_dict(model.state_dict())
    x = speechlike(1, 3000, seed=1)
    with torch.no_grad():
        torch.testing.assert_close(clone(x), model(x))


@pytest.mark.parametrize("name", NAMES)
def test_parameter_counts_and_describe(name: str) -> None:
    model = make(name)
    n = count_parameters(model)
    assert n > 0
    line = describe(model)
    assert name in line and f"{n:,}" in line and "\n" not in line
    if name != "dense":  # the waveform and mask models are meant to be small enough for a CPU
        assert n < 2_000_000


def test_original_dense_parameter_count_on_meta_device() -> None:
    config = DenseAutoencoder.original_config()
    assert config["frame_length"] == 70000 and config["sample_rate"] == 48000
    with torch.device("meta"):  # no memory is allocated for the ~578M weights
        model = DenseAutoencoder(**config)
    expected = 4096 * 70000 + 4096 + 512 * 4096 + 512 + 4096 * 512 + 4096 + 70000 * 4096 + 70000
    assert count_parameters(model) == expected
    assert DenseAutoencoder.expected_parameters(70000) == expected
    # weights + gradient + two Adam moments, 4 bytes each: more than 9 GB before any activation
    assert parameter_memory_bytes(model) == 16 * expected
    assert parameter_memory_bytes(expected, training=False) == 4 * expected


def test_default_dense_count_matches_formula() -> None:
    with torch.device("meta"):
        model = build_model("dense")
    cfg = model.config
    assert count_parameters(model) == DenseAutoencoder.expected_parameters(
        cfg["frame_length"], cfg["hidden"], cfg["bottleneck"]
    )


def test_sigmoid_output_cannot_go_negative_but_tanh_can() -> None:
    x = torch.randn(4, 1, 5000, generator=torch.Generator().manual_seed(3)).clamp(-1, 1)
    with torch.no_grad():
        seed_like = make("dense", output="sigmoid")(x)
        fixed = make("dense", output="tanh")(x)
    assert seed_like.min() >= 0  # half of every waveform is out of reach
    assert fixed.min() < 0 < fixed.max()


def test_dense_frames_are_denoised_independently_and_stitched() -> None:
    model = make("dense", level="none")
    x = speechlike(2, 2500, seed=4)  # frames of 1000: two full ones and a padded third
    with torch.no_grad():
        whole = model(x)
        first = model(x[..., :1000])
        second = model(x[..., 1000:2000])
    torch.testing.assert_close(whole[..., :1000], first)
    torch.testing.assert_close(whole[..., 1000:2000], second)


@pytest.mark.parametrize("name", NAMES)
def test_level_invariance(name: str) -> None:
    model = make(name)
    x = speechlike(2, 8000, seed=5)
    with torch.no_grad():
        y = model(x)
        y_loud = model(10 * x)
        y_quiet = model(0.01 * x)
    torch.testing.assert_close(y_loud, 10 * y, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(y_quiet, 0.01 * y, rtol=1e-4, atol=1e-7)


@pytest.mark.parametrize("name", NAMES)
def test_silence_gives_finite_near_silence(name: str) -> None:
    model = make(name)
    with torch.no_grad():
        y = model(torch.zeros(2, 1, 4000))
    assert torch.isfinite(y).all()
    assert y.abs().max() < 1e-3


def test_empty_input_gives_empty_output() -> None:
    y = make("mask")(torch.zeros(2, 1, 0))
    assert y.shape == (2, 1, 0)


@pytest.mark.parametrize("name", NAMES)
def test_gradients_reach_every_parameter(name: str) -> None:
    model = make(name).train()
    noisy = speechlike(2, 4000, seed=6)
    clean = speechlike(2, 4000, seed=7)
    noisy[1] = 0  # a silent clip in the batch must not poison the gradients
    loss = (model(noisy) - clean).abs().mean()
    loss.backward()
    for pname, p in model.named_parameters():
        assert p.grad is not None, pname
        assert torch.isfinite(p.grad).all(), pname
    total = sum(p.grad.abs().sum() for p in model.parameters())
    assert total > 0


@pytest.mark.parametrize("length", [137, 16383])
def test_mask_of_ones_reconstructs_the_input(length: int) -> None:
    """With the mask forced to 1, STFT -> iSTFT must give the input back (same length)."""
    model = make("mask")
    with torch.no_grad():
        model.out[-1].weight.zero_()
        model.out[-1].bias.fill_(30.0)  # sigmoid(30) == 1 in float32
        x = speechlike(2, length, seed=8)
        torch.testing.assert_close(model(x), x, rtol=1e-4, atol=1e-5)


def test_mask_bound_limits_the_gain() -> None:
    model = make("mask", mask_bound=2.0)
    assert isinstance(model, MaskNet)
    with torch.no_grad():
        model.out[-1].weight.zero_()
        model.out[-1].bias.fill_(30.0)
        x = speechlike(1, 4000, seed=9)
        torch.testing.assert_close(model(x), 2 * x, rtol=1e-4, atol=1e-5)


def test_bad_hyperparameters_raise() -> None:
    with pytest.raises(ValueError, match="output"):
        build_model("dense", output="relu")
    with pytest.raises(ValueError, match="level"):
        build_model("conv", level="loudness")
    with pytest.raises(ValueError, match="kernel_size"):
        build_model("unet", kernel_size=7, stride=4)


def test_trace_shapes_lists_blocks_and_keeps_the_model_clean():
    from audio_denoise_utils import models

    torch.manual_seed(0)
    model = models.build_model("conv")
    table = models.trace_shapes(model, 4000)
    assert table.iloc[0]["output shape"] == (1, 1, 4000)
    assert table.iloc[-1]["output shape"] == (1, 1, 4000)
    assert len(table) > 4  # the encoder/decoder blocks are listed between input and output
    assert all(not m._forward_hooks for m in model.modules())  # hooks removed afterwards
