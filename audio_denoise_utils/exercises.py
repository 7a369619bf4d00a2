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
