"""Course support, not course material: run a learner's exercise against its check.

Every exercise in the notebooks has three cells: a stub the learner fills in, a solution hidden in
a ``<details>`` block, and a check cell that calls :func:`use`::

    mix_at_snr = exercises.use(mix_at_snr, reference=noise.mix_at_snr, check=exercises.check_mix_at_snr)

:func:`use` runs the check on the learner's function and returns it when it passes, else the
package's reference (printing which one the notebook continues with), so "Run all" works whether
or not the stub was filled in. ``scripts/solve_notebooks.py`` writes copies of the notebooks with
every stub replaced by its solution; there ``AUDIO_DENOISE_EXPECT_SOLVED=1`` turns a failing check
into an error, so CI proves that every solution passes its check.

End-of-notebook exercises that produce a value have the same three cells, the stub being
``name = ...``; their check cell calls :func:`answer`, which says "not answered yet", "not yet
right: <hint>" or "correct" without stopping the notebook.
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
    _not_passed(verdict)
    return reference


def _not_passed(verdict: str) -> None:
    """Print why an exercise did not pass; raise instead in the solved run (CI)."""
    if _expect_solved():
        raise ExerciseError(f"the solution did not pass its check: {verdict}")
    print(verdict)


def answer(name: str, value: object, check: Callable[[object], object]) -> bool:
    """Check a value the learner computed (an end-of-notebook exercise); return whether it passed.

    ``...`` (the stub's placeholder) means "not answered yet". Prints the verdict instead of raising,
    so "Run all" goes on; under ``AUDIO_DENOISE_EXPECT_SOLVED=1`` a missing or wrong answer raises.
    """
    if value is ...:
        verdict = f"{name}: not answered yet (the solution above computes it)."
    else:
        try:
            check(value)
        except ExerciseError as exc:
            verdict = f"{name}: not yet right: {exc}"
        except Exception as exc:  # an answer of the wrong type or shape: say so, do not stop
            verdict = f"{name}: the check cannot read {value!r}: {type(exc).__name__}: {exc}"
        else:
            print(f"{name}: correct ({value!r}).")
            return True
    _not_passed(verdict)
    return False


# --- checks for notebooks 01-03 (one function per exercise, named after it) ---


def rms_db(wav: torch.Tensor) -> float:
    """Return the RMS level of a clip in dB relative to full scale, 20 log10 sqrt(mean(x^2)) (notebook 01)."""
    return (10 * torch.log10(wav.double().pow(2).mean())).item()


def check_rms_db(fn: Callable) -> None:
    """Check a learner's ``rms_db(wav)`` on a sine and on a quiet noise clip."""
    g = torch.Generator().manual_seed(0)
    sine = 0.5 * torch.sin(2 * torch.pi * 440 * torch.arange(16000) / 16000)[None]
    quiet = 0.01 * torch.randn(1, 8000, generator=g)
    for wav in (sine, quiet):
        got, want = float(fn(wav)), rms_db(wav)
        if abs(got - want / 2) < 0.01:
            raise ExerciseError(
                "half the expected level: 10 log10 of an amplitude (the RMS) must be 20 log10, "
                "or take 10 log10 of the power mean(x**2)"
            )
        if abs(got - 2 * want) < 0.01:
            raise ExerciseError(
                "twice the expected level: mean(x**2) is a power, use 10 log10 (not 20 log10)"
            )
        mean_abs = (20 * torch.log10(wav.double().abs().mean())).item()
        if abs(got - mean_abs) < 0.01:
            raise ExerciseError("that is the mean absolute value: RMS is sqrt(mean(x**2))")
        expect_close(got, want, "the RMS level should be 20 log10(sqrt(mean(x**2)))", tol=1e-3)
    expect(
        abs(float(fn(sine)) - (-9.03)) < 0.01,
        "a sine of peak 0.5 has RMS 0.5 / sqrt(2), -9.03 dB",
    )


def _demo_pair(batch: int = 3, length: int = 4000, seed: int = 0):
    """Return a small (clean, noise) pair (batch, 1, length): clips of different levels."""
    g = torch.Generator().manual_seed(seed)
    t = torch.arange(length, dtype=torch.float32) / 16000
    tones = torch.stack([torch.sin(2 * torch.pi * f * t) for f in (220.0, 330.0, 440.0)[:batch]])
    levels = torch.tensor([0.5, 0.05, 0.2][:batch]).reshape(-1, 1)
    clean = (levels * tones + 0.01 * torch.randn(batch, length, generator=g)).unsqueeze(1)
    noise = torch.randn(batch, 1, length, generator=g) * torch.tensor(
        [1.0, 3.0, 0.1][:batch]
    ).reshape(-1, 1, 1)
    return clean, noise


def _snr_db(clean: torch.Tensor, noisy: torch.Tensor) -> torch.Tensor:
    c, n = clean.double(), noisy.double()
    return 10 * torch.log10(c.pow(2).sum(dim=(-2, -1)) / (n - c).pow(2).sum(dim=(-2, -1)))


def check_mix_at_snr(fn: Callable) -> None:
    """Check a learner's ``mix_at_snr(clean, noise, snr_db)`` (notebook 02)."""
    from .noise import mix_at_snr

    clean, noise = _demo_pair()
    for snr in (10.0, -5.0):
        out = fn(clean.clone(), noise.clone(), snr)
        expect(isinstance(out, torch.Tensor), "return a tensor: clean + a * noise")
        expect(
            tuple(out.shape) == tuple(clean.shape),
            f"the mixture must have the clean's shape {tuple(clean.shape)}, got {tuple(out.shape)}",
        )
        want = mix_at_snr(clean, noise, snr)
        if torch.allclose(out.double(), (want - clean).double(), atol=1e-5):
            raise ExerciseError("you returned the scaled noise alone: return clean + a * noise")
        got = _snr_db(clean, out)
        if torch.allclose(got, torch.full_like(got, -snr), atol=0.05):
            raise ExerciseError(
                f"the SNR is {-snr:g} dB instead of {snr:g} dB: you multiplied by 10**(snr/10) where "
                "you should divide (a higher SNR needs a quieter noise): "
                "a = sqrt(P_clean / (P_noise * 10**(snr/10)))"
            )
        if torch.allclose(got, torch.full_like(got, snr / 2), atol=0.05):
            raise ExerciseError(
                f"the SNR is {snr / 2:g} dB instead of {snr:g} dB: inside the square root the "
                "power ratio is 10**(snr/10), not 10**(snr/20)"
            )
        if torch.allclose(got, torch.full_like(got, 2 * snr), atol=0.05):
            raise ExerciseError(
                f"the SNR is {2 * snr:g} dB instead of {snr:g} dB: you scaled the amplitude by "
                "10**(snr/10); an amplitude ratio is 10**(snr/20) (or take the square root of "
                "the power ratio)"
            )
        whole = _snr_db(clean.reshape(1, 1, -1), out.reshape(1, 1, -1))
        if (
            not torch.allclose(got, torch.full_like(got, snr), atol=0.05)
            and abs(whole - snr) < 0.05
        ):
            raise ExerciseError(
                "the SNR is right for the batch as a whole but wrong per clip: compute the powers "
                "per clip, mean over the last axis with keepdim=True, not over the whole batch"
            )
        expect_close(
            got,
            torch.full_like(got, snr),
            f"the measured SNR per clip should be {snr:g} dB: scale the noise by "
            "a = sqrt(P_clean / (P_noise * 10**(snr/10))) with P the mean of the squares",
            tol=0.01,
        )
        expect_close(
            out, want, "the SNR is right but the mixture differs: add a * noise to clean, unchanged"
        )


def _si_sdr_reference():
    from .losses import si_sdr

    return si_sdr


def check_si_sdr(fn: Callable) -> None:
    """Check a learner's ``si_sdr(estimate, target)`` (notebook 02) against the package's."""
    ref = _si_sdr_reference()
    target, noise = _demo_pair()
    estimate = target + 0.3 * noise
    got = fn(estimate, target)
    expect(isinstance(got, torch.Tensor), "return a tensor of SI-SDRs in dB, one per clip")
    expect(
        got.shape == (target.shape[0],),
        f"return one value per clip, shape ({target.shape[0]},): sum over the time axis only "
        f"(got shape {tuple(got.shape)})",
    )
    want = ref(estimate, target)
    if torch.allclose(got.double(), -want.double(), atol=1e-3):
        raise ExerciseError(
            "the sign is flipped: SI-SDR is 10 log10(|target part|^2 / |error|^2), higher is better"
        )
    if torch.allclose(got.double(), 2 * want.double(), atol=1e-3):
        raise ExerciseError(
            "the values are doubled: a ratio of energies takes 10 log10, not 20 log10"
        )
    loud = fn(3.0 * target, target)
    if bool((loud < 60).any()):
        raise ExerciseError(
            "a louder copy of the target (3 * target) must score very high (it is the same "
            f"signal), got {loud.tolist()}: scale the target by the projection "
            "alpha = <e, t> / <t, t> and count only e - alpha * t as error"
        )
    offset = fn(estimate + 0.5, target)
    if not torch.allclose(offset.double(), want.double(), atol=1e-3):
        raise ExerciseError(
            "adding a constant offset (0.5) to the estimate changed your score: make both signals "
            "zero-mean first, x - x.mean(dim=-1, keepdim=True)"
        )
    expect_close(
        got,
        want,
        "your SI-SDR differs from the reference: zero-mean both, alpha = <e, t> / <t, t>, "
        "s = alpha * t, 10 log10(|s|^2 / |e - s|^2) per clip",
        tol=1e-3,
    )
    perfect = fn(target, target)
    expect(
        bool(torch.isfinite(perfect).all()),
        "a perfect estimate must give a finite number: add a small eps to both energies",
    )


def dense_autoencoder(frame_length: int, hidden: int, bottleneck: int) -> torch.nn.Module:
    """Return the original study's dense autoencoder with a tanh output (reference for notebook 03)."""
    from .models import DenseAutoencoder

    return DenseAutoencoder(frame_length, hidden, bottleneck, output="tanh", level="none")


def check_dense_autoencoder(fn: Callable) -> None:
    """Check a learner's ``dense_autoencoder(frame_length, hidden, bottleneck)`` (notebook 03)."""
    from torch import nn

    from .models import DenseAutoencoder

    f, h, b = 64, 32, 8
    model = fn(f, h, b)
    expect(isinstance(model, nn.Module), "return a torch module, e.g. nn.Sequential(...)")
    shapes = [tuple(m.weight.shape) for m in model.modules() if isinstance(m, nn.Linear)]
    want_shapes = [(h, f), (b, h), (h, b), (f, h)]
    expect(
        shapes == want_shapes,
        "the Linear layers should be frame->hidden, hidden->bottleneck, bottleneck->hidden, "
        f"hidden->frame, i.e. weights {want_shapes}; yours are {shapes}",
    )
    n = sum(p.numel() for p in model.parameters() if p.requires_grad)
    want = DenseAutoencoder.expected_parameters(f, h, b)
    expect(
        n == want,
        f"{n} parameters, expected {want} (the four Linear layers only): the change of output "
        "activation should not add or remove parameters",
    )
    model.eval()
    x = torch.randn(4, 1, f, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        y = model(x)
    expect(
        tuple(y.shape) == tuple(x.shape),
        f"the output must have the input's shape {tuple(x.shape)}, got {tuple(y.shape)}",
    )
    expect(
        bool((y < 0).any()),
        "every output is >= 0: the output layer still cannot produce the negative half of a "
        "waveform; end with nn.Tanh() (or no activation) instead of nn.Sigmoid()",
    )
    relus = sum(isinstance(m, nn.ReLU) for m in model.modules())
    expect(relus == 3, f"keep the three ReLUs between the Linear layers (found {relus})")


def check_mask_forward(fn: Callable) -> None:
    """Check a learner's ``mask_forward(net, x)`` against MaskNet's own forward (notebook 03)."""
    from .models import MaskNet

    with torch.random.fork_rng():  # a fixed small model, the learner's random state untouched
        torch.manual_seed(0)
        net = MaskNet(channels=16, blocks=2, level="none").eval()
    g = torch.Generator().manual_seed(1)
    x = 0.1 * torch.randn(2, 1, 16 * 128, generator=g)
    with torch.no_grad():
        got = fn(net, x)
        want = net(x)
    expect(isinstance(got, torch.Tensor), "return the denoised waveform as a tensor")
    expect(
        tuple(got.shape) == tuple(x.shape),
        f"return (batch, 1, time) of the input's length {tuple(x.shape)}, got {tuple(got.shape)}: "
        "pass length= to torch.istft and reshape to (batch, 1, time)",
    )
    if torch.allclose(got, want, atol=1e-4):
        pass
    elif torch.allclose(got, 0.5 * x, atol=1e-3) or torch.allclose(got, x, atol=1e-3):
        raise ExerciseError(
            "the output is just a scaled copy of the input: the mask must come from the network, "
            "mask = torch.sigmoid(net.out(net.blocks(net.inp(features))))"
        )
    else:
        spec = torch.stft(
            x.reshape(2, -1), net.n_fft, net.hop_length, window=net.window, return_complex=True
        )
        with torch.no_grad():
            for wrong, hint in (
                (spec.abs(), "feed the network the COMPRESSED magnitude |X| ** net.compress"),
                (spec.abs().log1p(), "feed the network |X| ** net.compress, not a log"),
            ):
                m = torch.sigmoid(net.out(net.blocks(net.inp(wrong))))
                y = torch.istft(
                    spec * m, net.n_fft, net.hop_length, window=net.window, length=x.shape[-1]
                )
                if torch.allclose(got, y.reshape(x.shape), atol=1e-4):
                    raise ExerciseError(hint)
        expect_close(
            got,
            want,
            "your output differs from MaskNet's: STFT (n_fft, hop, Hann window, center=True) -> "
            "|X| ** compress -> inp, blocks, out -> sigmoid -> multiply the COMPLEX STFT -> "
            "istft(length=T)",
        )
    odd = 0.1 * torch.randn(1, 1, 3001, generator=g)
    with torch.no_grad():
        out = fn(net, odd)
    expect(
        tuple(out.shape) == (1, 1, 3001),
        f"an input of 3001 samples must give 3001 samples back, got {tuple(out.shape)}: pass "
        "length=x.shape[-1] to torch.istft",
    )


def snr_of_random_factors(factors) -> float:
    """Return the SNR in dB of ``x * f`` with ``f`` drawn uniformly from ``factors`` (notebook 02)."""
    f = torch.tensor([float(v) for v in factors], dtype=torch.float64)
    return (-10 * torch.log10((f - 1).pow(2).mean())).item()


def check_snr_of_random_factors(fn: Callable) -> None:
    """Check a learner's ``snr_of_random_factors(factors)`` on a few factor lists."""
    for factors in ([1, 2], [0.9, 1.1], [0.5, 1.0, 2.0]):
        got = fn(factors)
        want = snr_of_random_factors(factors)
        f = torch.tensor(factors, dtype=torch.float64)
        if (
            abs(float(got) - (-20 * torch.log10((f - 1).abs().mean())).item()) < 1e-3
            and abs(float(got) - want) > 1e-3
        ):
            raise ExerciseError(
                f"{factors}: you averaged |f - 1| and then squared it; the error power is the "
                "mean of the squares, E[(f - 1)^2]"
            )
        if abs(float(got) + want) < 1e-3:
            raise ExerciseError(f"{factors}: the sign is flipped: SNR = -10 log10 E[(f - 1)^2]")
        expect_close(
            float(got),
            want,
            f"{factors}: the SNR should be -10 log10 E[(f - 1)^2] = {want:.2f} dB",
            tol=1e-3,
        )


def largest_frame_length(budget_bytes: int) -> int:
    """Return the largest dense-autoencoder frame_length (4096, 512) that trains in ``budget_bytes``."""
    from .models import DenseAutoencoder, parameter_memory_bytes

    fixed = DenseAutoencoder.expected_parameters(0)
    per_sample = DenseAutoencoder.expected_parameters(1) - fixed
    return int((budget_bytes // parameter_memory_bytes(1) - fixed) // per_sample)


def check_largest_frame_length(fn: Callable) -> None:
    """Check a learner's ``largest_frame_length(budget_bytes)`` (notebook 03)."""
    from .models import DenseAutoencoder, parameter_memory_bytes

    def fits(f: int) -> bool:
        return parameter_memory_bytes(DenseAutoencoder.expected_parameters(f)) <= budget

    for budget in (4 * 2**30, 16 * 2**30):
        got = int(fn(budget))
        want = largest_frame_length(budget)
        if got == largest_frame_length(budget * 4):
            raise ExerciseError(
                "your frame is 4x too long: in training each parameter costs 16 bytes (weight, "
                "gradient and Adam's two moments, 4 bytes each), not 4"
            )
        expect(fits(got), f"frame_length {got:,} does not fit in {budget / 2**30:g} GiB")
        expect(
            not fits(got + 1),
            f"frame_length {got + 1:,} still fits in {budget / 2**30:g} GiB: look for the largest",
        )
        expect(got == want, f"expected {want:,} for {budget / 2**30:g} GiB")


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


def evaluate_si_sdr_reference(method: Callable, clean_clips, snrs, seed: int = 0) -> list[dict]:
    """Return one row per (input SNR, clip): the SI-SDR part of the loop in metrics.evaluate."""
    from .losses import si_sdr
    from .metrics import clip_seed
    from .noise import add_noise

    rows = []
    for snr in snrs:
        for index, clean in enumerate(clean_clips):
            clean = clean.reshape(1, 1, -1)
            generator = torch.Generator().manual_seed(clip_seed(seed, snr, index))
            noisy = add_noise(clean, snr, kind="white", generator=generator)
            improvement = si_sdr(method(noisy, clean), clean) - si_sdr(noisy, clean)
            rows.append({"input_snr": snr, "clip": index, "si_sdr_i": float(improvement)})
    return rows


def _smoother(noisy: torch.Tensor, clean: torch.Tensor | None = None) -> torch.Tensor:
    """A crude low-pass denoiser (5-sample moving average) for the evaluation check."""
    return torch.nn.functional.avg_pool1d(noisy, 5, stride=1, padding=2, count_include_pad=False)


def check_evaluate_si_sdr(fn: Callable) -> None:
    """Check a learner's evaluation loop against metrics.evaluate on the same method and clips."""
    from .metrics import evaluate

    sr = 8000
    t = torch.arange(sr // 4) / sr
    clips = [0.3 * torch.sin(2 * torch.pi * f * t).unsqueeze(0) for f in (150.0, 230.0, 340.0)]
    snrs = (0.0, 5.0)
    got = fn(_smoother, clips, snrs, seed=3)
    if hasattr(got, "to_dict"):  # a pandas DataFrame is a fine answer too
        got = got.to_dict("records")
    got = [dict(r) for r in got]
    want = evaluate(
        {"smoother": _smoother},
        clips,
        snrs,
        seed=3,
        metrics=("si_sdr",),
        progress=False,
        per_clip=True,
    )
    want = want[want["method"] == "smoother"].to_dict("records")
    expect(
        len(got) == len(want),
        f"{len(got)} rows for 2 SNRs x 3 clips: return one row per (input SNR, clip), "
        "looping over the SNRs and, inside, over the clips",
    )
    expect(
        all({"input_snr", "clip", "si_sdr_i"} <= set(r) for r in got),
        'each row is a dict with the keys "input_snr", "clip" and "si_sdr_i"',
    )
    key = {(float(r["input_snr"]), int(r["clip"])): float(r["si_sdr_i"]) for r in got}
    expect(
        len(key) == len(want),
        "two rows have the same (input_snr, clip): use the clip's index from enumerate(clean_clips)",
    )
    for r in want:
        mine = key.get((float(r["input_snr"]), int(r["clip"])))
        expect(mine is not None, f"no row for input SNR {r['input_snr']:g} dB, clip {r['clip']}")
        expect(
            abs(mine - r["si_sdr"]) > 1e-3 or abs(r["si_sdr"] - r["si_sdr_i"]) < 1e-3,
            "that is the output's SI-SDR: SI-SDRi subtracts the noisy input's SI-SDR from it",
        )
        expect(
            abs(mine - r["si_sdr_i"]) > 0.5 or abs(mine - r["si_sdr_i"]) < 1e-3,
            "close but not equal: compute SI-SDR on the (1, 1, time) tensors with si_sdr from "
            "notebook 02, the output's minus the noisy input's",
        )
        expect(
            abs(mine - r["si_sdr_i"]) < 1e-3,
            f"input SNR {r['input_snr']:g} dB, clip {r['clip']}: SI-SDRi {mine:.2f} dB, expected "
            f"{r['si_sdr_i']:.2f} dB. Is it the improvement (output minus noisy input)? Is each "
            "clip's noise drawn from torch.Generator().manual_seed(metrics.clip_seed(seed, snr, "
            'index)) with noise.add_noise(clean, snr, kind="white", generator=...)?',
        )
