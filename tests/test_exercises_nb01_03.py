"""The checks of notebooks 01-03 accept the package's reference and name each typical mistake."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import torch
from torch import nn

from audio_denoise_utils import exercises, losses, metrics, models, noise

ROOT = Path(__file__).resolve().parents[1]
OURS = ["01_explore_ravdess", "02_corrupting_audio", "03_building_the_autoencoder"]


def _rejects(check, fn, hint: str) -> None:
    with pytest.raises(exercises.ExerciseError, match=hint):
        check(fn)


# --- 02: mix_at_snr ---


def _power(x):
    return x.pow(2).mean(dim=-1, keepdim=True)


def test_mix_at_snr_check_accepts_the_reference():
    exercises.check_mix_at_snr(noise.mix_at_snr)


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (
            lambda c, n, s: c + torch.sqrt(_power(c) / (_power(n) * 10 ** (s / 20))) * n,
            "10\\*\\*\\(snr/10\\), not 10\\*\\*\\(snr/20\\)",
        ),
        (
            lambda c, n, s: c + torch.sqrt(_power(c) / _power(n)) / 10 ** (s / 10) * n,
            "amplitude ratio is 10\\*\\*\\(snr/20\\)",
        ),
        (
            lambda c, n, s: c + torch.sqrt(_power(c) * 10 ** (s / 10) / _power(n)) * n,
            "where you should divide",
        ),
        (
            lambda c, n, s: torch.sqrt(_power(c) / (_power(n) * 10 ** (s / 10))) * n,
            "scaled noise alone",
        ),
        (
            lambda c, n, s: (
                c + torch.sqrt(c.pow(2).mean() / (n.pow(2).mean() * 10 ** (s / 10))) * n
            ),
            "per clip",
        ),
        (lambda c, n, s: (c + n)[0], "shape"),
    ],
)
def test_mix_at_snr_check_names_the_mistake(wrong, hint):
    _rejects(exercises.check_mix_at_snr, wrong, hint)


# --- 02: si_sdr ---


def _si_sdr(e, t, zero_mean=True, project_on="target", log=10, sign=1, reduce=False):
    if zero_mean:
        e = e - e.mean(dim=-1, keepdim=True)
        t = t - t.mean(dim=-1, keepdim=True)
    if project_on == "target":
        s = (e * t).sum(-1, keepdim=True) / (t.pow(2).sum(-1, keepdim=True) + 1e-8) * t
        err = e - s
    elif project_on == "estimate":
        s = (e * t).sum(-1, keepdim=True) / (e.pow(2).sum(-1, keepdim=True) + 1e-8) * e
        err = t - s
    else:  # no projection: plain SNR
        s, err = t, e - t
    r = (s.pow(2).sum(-1) + 1e-8) / (err.pow(2).sum(-1) + 1e-8)
    out = sign * log * torch.log10(r).flatten()
    return out.mean() if reduce else out


def test_si_sdr_check_accepts_the_references():
    exercises.check_si_sdr(losses.si_sdr)
    # SI-SDR is symmetric (rho^2 / (1 - rho^2)): projecting on the estimate is not a mistake
    exercises.check_si_sdr(lambda e, t: _si_sdr(e, t, project_on="estimate"))
    exercises.check_si_sdr(metrics.si_sdr)
    exercises.check_si_sdr(_si_sdr)


@pytest.mark.parametrize(
    ("kwargs", "hint"),
    [
        ({"zero_mean": False}, "zero-mean"),
        ({"project_on": None}, "louder copy"),
        ({"log": 20}, "10 log10, not 20 log10"),
        ({"sign": -1}, "sign is flipped"),
        ({"reduce": True}, "one value per clip"),
    ],
)
def test_si_sdr_check_names_the_mistake(kwargs, hint):
    _rejects(exercises.check_si_sdr, lambda e, t: _si_sdr(e, t, **kwargs), hint)


# --- 02: end exercise ---


def test_snr_of_random_factors_check():
    exercises.check_snr_of_random_factors(exercises.snr_of_random_factors)
    assert exercises.snr_of_random_factors([1, 2]) == pytest.approx(3.0103, abs=1e-4)
    assert exercises.snr_of_random_factors([0.9, 1.1]) == pytest.approx(20.0, abs=1e-6)

    def abs_mean(factors):
        f = torch.tensor(factors, dtype=torch.float64)
        return (-20 * torch.log10((f - 1).abs().mean())).item()

    _rejects(exercises.check_snr_of_random_factors, abs_mean, "mean of the squares")
    _rejects(
        exercises.check_snr_of_random_factors,
        lambda f: -exercises.snr_of_random_factors(f),
        "sign is flipped",
    )


# --- 03: dense autoencoder with a signed output ---


def _dense(f, h, b, last=nn.Tanh, extra=()):
    return nn.Sequential(
        nn.Linear(f, h),
        nn.ReLU(),
        nn.Dropout(0.2),
        nn.Linear(h, b),
        nn.ReLU(),
        nn.Linear(b, h),
        nn.ReLU(),
        nn.Dropout(0.2),
        nn.Linear(h, f),
        *extra,
        last(),
    )


def test_dense_check_accepts_reference_tanh_and_linear():
    exercises.check_dense_autoencoder(exercises.dense_autoencoder)
    exercises.check_dense_autoencoder(_dense)
    exercises.check_dense_autoencoder(lambda f, h, b: _dense(f, h, b, last=nn.Identity))


def test_dense_check_names_the_mistake():
    check = exercises.check_dense_autoencoder
    _rejects(check, lambda f, h, b: _dense(f, h, b, last=nn.Sigmoid), "still cannot produce")
    _rejects(
        check,
        lambda f, h, b: models.DenseAutoencoder(f, h, b, level="none"),
        "still cannot produce",
    )
    _rejects(check, lambda f, h, b: _dense(f, h, b, extra=(nn.PReLU(),)), "should not add")
    _rejects(check, lambda f, h, b: _dense(f, b, h), "Linear layers should be")


# --- 03: the mask model's forward pass ---


def _mask_forward(net, x, features="compressed", complex_mask=True, length=True):
    batch, _, n = x.shape
    window = torch.hann_window(net.n_fft)
    spec = torch.stft(
        x.reshape(batch, n), net.n_fft, net.hop_length, window=window, return_complex=True
    )
    feat = {"compressed": spec.abs() ** net.compress, "plain": spec.abs()}[features]
    mask = torch.sigmoid(net.out(net.blocks(net.inp(feat))))
    if not complex_mask:  # masks the magnitude and throws the phase away
        spec = spec.abs().to(spec.dtype)
    y = torch.istft(
        spec * mask, net.n_fft, net.hop_length, window=window, length=n if length else None
    )
    return y.reshape(batch, 1, -1)


def test_mask_forward_check_accepts_the_reference_and_a_learner_version():
    exercises.check_mask_forward(models.MaskNet._denoise)
    exercises.check_mask_forward(_mask_forward)


def test_mask_forward_check_names_the_mistake():
    check = exercises.check_mask_forward
    _rejects(check, lambda net, x: _mask_forward(net, x, features="plain"), "COMPRESSED magnitude")
    _rejects(check, lambda net, x: _mask_forward(net, x, length=False), "length")
    _rejects(check, lambda net, x: 0.5 * x, "scaled copy of the input")
    _rejects(
        check, lambda net, x: _mask_forward(net, x, complex_mask=False), "differs from MaskNet"
    )


def test_checks_leave_the_global_random_state_alone():
    state = torch.random.get_rng_state()
    exercises.check_mask_forward(_mask_forward)
    assert torch.equal(state, torch.random.get_rng_state())


# --- lesson cells carry no test plumbing ---

PLUMBING = [
    (re.compile(r"^\s*assert\b", re.M), "an assert"),
    (re.compile(r"re\.sub\(|<\[\^>\]\+>"), "an HTML regex"),
]


@pytest.mark.parametrize("stem", OURS)
def test_lesson_cells_carry_no_test_plumbing(stem):
    cells = json.loads((ROOT / "notebooks" / f"{stem}.ipynb").read_text())["cells"]
    budgets = []
    for i, cell in enumerate(cells):
        if cell["cell_type"] != "code":
            continue
        src = "".join(cell["source"])
        for pattern, what in PLUMBING:
            assert not pattern.search(src), f"{stem} cell {i} holds {what}: move it to tests/"
        if "course.budget(" in src:
            budgets.append(i)
    assert len(budgets) <= 1, f"{stem}: course.budget in cells {budgets}; keep one settings cell"
    if budgets:
        settings = "".join(cells[budgets[0]]["source"]).strip().splitlines()
        assert len(settings) == 1, f"{stem}: the settings cell should be a single line"


@pytest.mark.parametrize("stem", OURS)
def test_notebook_ends_with_exercises_that_have_solutions(stem):
    cells = json.loads((ROOT / "notebooks" / f"{stem}.ipynb").read_text())["cells"]
    start = max(i for i, c in enumerate(cells) if "## Exercises" in "".join(c["source"]))
    tail = "".join("".join(c["source"]) for c in cells[start:])
    solutions = tail.count("<summary>")
    assert 2 <= solutions <= 4, f"{stem}: {solutions} revealable solutions after '## Exercises'"
    assert "seed study" not in "".join("".join(c["source"]) for c in cells)


def test_largest_frame_length_check():
    exercises.check_largest_frame_length(exercises.largest_frame_length)
    f = exercises.largest_frame_length(4 * 2**30)
    mem = models.parameter_memory_bytes
    assert mem(models.DenseAutoencoder.expected_parameters(f)) <= 4 * 2**30
    assert mem(models.DenseAutoencoder.expected_parameters(f + 1)) > 4 * 2**30
    _rejects(
        exercises.check_largest_frame_length,
        lambda b: exercises.largest_frame_length(4 * b),
        "16 bytes",
    )
    _rejects(exercises.check_largest_frame_length, lambda b: 1000, "look for the largest")


def test_rms_db_check():
    exercises.check_rms_db(exercises.rms_db)
    exercises.check_rms_db(lambda w: 20 * torch.log10(w.pow(2).mean().sqrt()))
    _rejects(exercises.check_rms_db, lambda w: 10 * torch.log10(w.pow(2).mean().sqrt()), "half")
    _rejects(exercises.check_rms_db, lambda w: 20 * torch.log10(w.pow(2).mean()), "twice")
    _rejects(exercises.check_rms_db, lambda w: 20 * torch.log10(w.abs().mean()), "mean absolute")
