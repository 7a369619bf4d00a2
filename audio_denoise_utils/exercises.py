"""Course support, not course material: run a learner's exercise against its check.

Every exercise in the notebooks has four cells: a stub the learner fills in, a solution hidden in
a ``<details>`` block, and a check cell that calls :func:`use`::

    mix_at_snr = exercises.use(mix_at_snr, reference=noise.mix_at_snr, check=checks.mix_at_snr)

:func:`use` runs the check on the learner's function and returns it when it passes, else the
package's reference (printing which one the notebook continues with), so "Run all" works whether
or not the stub was filled in. ``scripts/solve_notebooks.py`` writes copies of the notebooks with
every stub replaced by its solution; there ``AUDIO_DENOISE_EXPECT_SOLVED=1`` turns a failing check
into an error, so CI proves that every solution passes its check.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TypeVar

import torch

F = TypeVar("F", bound=Callable)
EXPECT_SOLVED_ENV = "AUDIO_DENOISE_EXPECT_SOLVED"


class ExerciseError(AssertionError):
    """A check found a mistake; the message is the hint shown to the learner."""


def expect(condition: bool, hint: str) -> None:
    """Raise :class:`ExerciseError` with ``hint`` unless ``condition`` holds."""
    if not condition:
        raise ExerciseError(hint)


def expect_close(got: torch.Tensor | float, want: torch.Tensor | float, hint: str, tol=1e-4):
    """Raise :class:`ExerciseError` with ``hint`` (and both values) unless ``got`` ~= ``want``."""
    got_t = torch.as_tensor(got, dtype=torch.float64)
    want_t = torch.as_tensor(want, dtype=torch.float64)
    if got_t.shape != want_t.shape:
        raise ExerciseError(f"{hint} (shape {tuple(got_t.shape)}, expected {tuple(want_t.shape)})")
    if not torch.allclose(got_t, want_t, rtol=tol, atol=tol):
        worst = (got_t - want_t).abs().max().item()
        raise ExerciseError(f"{hint} (largest difference {worst:.3g})")


def _expect_solved() -> bool:
    return os.environ.get(EXPECT_SOLVED_ENV, "0").strip().lower() in {"1", "true", "yes"}


def use(yours: F, *, reference: F, check: Callable[[F], object], name: str | None = None) -> F:
    """Return ``yours`` when ``check(yours)`` passes, else ``reference``; print which one is used."""
    name = name or getattr(yours, "__name__", "your function")
    ref_name = f"{reference.__module__}.{reference.__qualname__}"
    try:
        check(yours)
    except NotImplementedError:
        verdict = f"{name}: not written yet, so the notebook continues with {ref_name}."
    except ExerciseError as exc:
        verdict = f"{name}: not yet right: {exc}\nThe notebook continues with {ref_name}."
    except Exception as exc:  # the learner's code may fail in any way: show it, do not stop
        verdict = (
            f"{name}: raised {type(exc).__name__}: {exc}\nThe notebook continues with {ref_name}."
        )
    else:
        print(f"{name}: passes every check. The notebook continues with your version.")
        return yours
    if _expect_solved():
        raise ExerciseError(f"the solution did not pass its check: {verdict}")
    print(verdict)
    return reference


# --- checks for notebooks 01-03 (one function per exercise, named after it) ---


# --- checks for notebooks 04-06 (one function per exercise, named after it) ---


class _TinyDenoiser(torch.nn.Module):
    """A few hundred weights with dropout: enough to tell a right training loop from a wrong one."""

    def __init__(self, seed: int = 0) -> None:
        super().__init__()
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.conv = torch.nn.Conv1d(1, 8, 9, padding=4)
            self.out = torch.nn.Conv1d(8, 1, 9, padding=4)
        self.drop = torch.nn.Dropout(0.5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.drop(torch.relu(self.conv(x))))


def _asymmetric_loss(estimate: torch.Tensor, clean: torch.Tensor) -> torch.Tensor:
    # Swapping the arguments changes the value, so a check can tell loss_fn(clean, estimate).
    return (estimate - clean).pow(2).mean() + 0.5 * estimate.pow(2).mean()


def _batch(seed: int, n: int = 4, length: int = 256) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    clean = torch.randn(n, 1, length, generator=g) * 0.3
    return clean + 0.1 * torch.randn(n, 1, length, generator=g), clean


def _run_steps(fn: Callable, steps: int = 2) -> tuple[list, torch.nn.Module]:
    model = _TinyDenoiser()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    returned = []
    for step in range(steps):
        torch.manual_seed(step)  # the same dropout masks for the learner's run and the reference's
        noisy, clean = _batch(step)
        returned.append(fn(model, noisy, clean, _asymmetric_loss, optimizer))
    return returned, model


def check_train_step(fn: Callable) -> None:
    """Check a learner's train_step(model, noisy, clean, loss_fn, optimizer) -> float."""
    from .training import train_step

    with torch.random.fork_rng(devices=[]):
        got, model = _run_steps(fn)
        want, ref = _run_steps(train_step)
    start = _TinyDenoiser()
    expect(
        all(isinstance(v, float) for v in got),
        f"train_step returned {type(got[0]).__name__}, not a number: return loss.item(), so the "
        "loop keeps no computation graph alive",
    )
    unchanged = all(
        torch.equal(p, q) for p, q in zip(model.parameters(), start.parameters(), strict=True)
    )
    expect(
        not unchanged,
        "the weights did not change: call optimizer.step() after loss.backward() (and "
        "optimizer.zero_grad() before backward, never between backward and step)",
    )
    expect_close(
        got[0],
        want[0],
        "the first loss differs: compute loss_fn(model(noisy), clean), the estimate first and "
        "the clean target second",
        tol=1e-5,
    )
    expect_close(
        got[1],
        want[1],
        "the first step is right but the second step's loss differs: one forward, one loss, "
        "one backward and one optimizer.step() per call",
        tol=1e-5,
    )
    for p, q in zip(model.parameters(), ref.parameters(), strict=True):
        expect_close(
            p.detach(),
            q.detach(),
            "the weights after two steps differ: gradients add up across steps unless you call "
            "optimizer.zero_grad() before loss.backward()",
            tol=1e-5,
        )


def train_reference(
    model, train_data, val_pairs, loss_fn, optimizer, epochs, steps_per_epoch, batch_size
):
    """Return [(train loss, val SI-SDR), ...] per epoch: the package's run_epoch and validate."""
    from .training import run_epoch, validate

    history = []
    for epoch in range(epochs):
        batches = train_data.batches(epoch, steps_per_epoch, batch_size)
        history.append((run_epoch(model, batches, loss_fn, optimizer), validate(model, val_pairs)))
    return history


def _loop_setup():
    from .dataset import NoisyCleanDataset
    from .noise import Corruption

    sr = 8000
    t = torch.arange(int(0.25 * sr)) / sr
    clips = [0.3 * torch.sin(2 * torch.pi * f * t).unsqueeze(0) for f in (200.0, 310.0, 450.0)]
    corruption = Corruption(snr_db=(0.0, 10.0), noise="white", sr=sr)
    data = NoisyCleanDataset(clips[:2], corruption, segment=512, seed=0, sr=sr)
    val = NoisyCleanDataset(clips[2:], corruption, train=False, seed=0, sr=sr)
    model = _TinyDenoiser()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    return model, data, list(val), optimizer


def _run_loop(fn: Callable) -> list:
    model, data, val_pairs, optimizer = _loop_setup()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)  # the same dropout masks for both runs
        return list(fn(model, data, val_pairs, _asymmetric_loss, optimizer, 2, 3, 2))


def check_train(fn: Callable) -> None:
    """Check a learner's train(...) -> [(mean train loss, val SI-SDR), ...] per epoch."""
    got, want = _run_loop(fn), _run_loop(train_reference)
    expect(
        len(got) == len(want),
        f"train returned {len(got)} rows for 2 epochs: append one (train loss, val SI-SDR) per epoch",
    )
    expect(
        all(len(row) == 2 for row in got),
        "each row of the history is a pair: (mean training loss, validation SI-SDR)",
    )
    (loss0, val0), (loss1, val1) = got
    (ref_loss0, ref_val0), (ref_loss1, ref_val1) = want
    expect(
        abs(loss0 - ref_loss0 * 3) > 1e-6 or abs(ref_loss0) < 1e-9,
        "the epoch's training loss is the mean over its steps, not their sum",
    )
    expect_close(
        loss0,
        ref_loss0,
        "the first epoch's training loss differs: run train_step on each batch of "
        "train_data.batches(epoch, steps_per_epoch, batch_size) and average the losses",
        tol=1e-4,
    )
    expect_close(
        val0,
        ref_val0,
        "the validation SI-SDR differs: validate with the model in eval mode (model.eval(): "
        "dropout off), under torch.no_grad(), the mean of si_sdr(model(noisy), clean) over the "
        "fixed pairs, and put model.train() back afterwards",
        tol=1e-3,
    )
    expect_close(
        loss1,
        ref_loss1,
        "the second epoch differs: pass the epoch number to train_data.batches (fresh crops and "
        "noise each epoch) and switch back to model.train() after validating",
        tol=1e-4,
    )
    expect_close(val1, ref_val1, "the second epoch's validation SI-SDR differs", tol=1e-3)
