"""Speech-quality metrics (SNR, SI-SDR, PESQ, STOI) and :func:`evaluate`, which builds the results table.

The metrics wrap ``torchmetrics.functional.audio`` so that every one takes the package's audio layout,
(batch, 1, time) or (1, time) for one clip, and returns one value per clip, shape (batch,). Higher is
better for all four:

- ``snr``: 10 log10(|target|^2 / |target - estimate|^2), in dB. Punishes any gain change.
- ``si_sdr``: scale-invariant signal-to-distortion ratio in dB: the estimate is first projected on
  the target, so a louder or quieter but otherwise perfect estimate scores very high. It is the
  training loss's own function (zero-mean, Le Roux et al. 2019).
- ``pesq``: ITU-T P.862 perceptual quality, about -0.5 to 4.64 in wide-band mode. Runs at 16 kHz only
  (8 kHz for narrow-band), so other rates are resampled first (with a warning).
- ``stoi``: short-time objective intelligibility, a mean of correlations, so -1 to 1 (negative when
  the output's envelopes move against the speech; pystoi resamples to 10 kHz itself).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import torch

from . import DEFAULT_SR
from .engine.checks import check_sample_rate

# Metric names, input checks, timing and table plumbing (engine code, not course material):
from .engine.evaluation import (
    METRICS,
    audio_rows,
    check_metric_names,
    checked_inputs,
    progress_bar,
    run_method,
    summarise,
)
from .engine.evaluation import format_table as format_table  # re-exported: notebooks use it
from .errors import MetricInputError as MetricInputError  # re-exported: raised by evaluate

if TYPE_CHECKING:  # pandas is imported lazily: only evaluate() needs it
    import pandas as pd

Method = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def snr(estimate: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Return the signal-to-noise ratio of ``estimate`` against ``target`` in dB, shape (batch,)."""
    from torchmetrics.functional.audio import signal_noise_ratio

    est, tgt = audio_rows(estimate, target, "snr")
    # float64: the error energy of a near-perfect estimate vanishes in float32 rounding.
    return signal_noise_ratio(est.double(), tgt.double()).float()


def si_sdr(estimate: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Return the scale-invariant SDR of ``estimate`` against ``target`` in dB, shape (batch,).

    The training loss's own function (:func:`audio_denoise_utils.losses.si_sdr`, zero-mean as in
    Le Roux et al. 2019), computed in float64 with a float64-sized ``eps`` so that near-perfect
    estimates score precisely.
    """
    from .losses import si_sdr as si_sdr_db

    est, tgt = audio_rows(estimate, target, "si_sdr")
    eps = torch.finfo(torch.float64).eps
    return si_sdr_db(est.double().unsqueeze(1), tgt.double().unsqueeze(1), eps=eps).float()


def pesq(
    estimate: torch.Tensor, target: torch.Tensor, sr: int = DEFAULT_SR, mode: str = "wb"
) -> torch.Tensor:
    """Return PESQ scores (about -0.5 to 4.64) of ``estimate`` against ``target``, shape (batch,).

    PESQ is defined at 8 and 16 kHz only and wide-band mode needs 16 kHz, so other rates are
    resampled to 16 kHz first (with a warning). A clip PESQ cannot score (silent, shorter than
    about 0.25 s, or holding NaN) gets NaN and a warning instead of stopping a whole evaluation.
    """
    from .engine.perceptual import pesq_rows

    est, tgt = audio_rows(estimate, target, "pesq")
    return pesq_rows(est, tgt, sr, mode)


def stoi(
    estimate: torch.Tensor, target: torch.Tensor, sr: int = DEFAULT_SR, extended: bool = False
) -> torch.Tensor:
    """Return STOI (-1 to 1; ESTOI if ``extended``), shape (batch,); NaN with a warning as in pesq.

    A clip under about 0.4 s of speech cannot be scored."""
    from .engine.perceptual import stoi_rows

    return stoi_rows(*audio_rows(estimate, target, "stoi"), sr, extended).float()


def compute_metrics(
    estimate: torch.Tensor,
    target: torch.Tensor,
    sr: int = DEFAULT_SR,
    metrics: Sequence[str] = METRICS,
) -> dict[str, torch.Tensor]:
    """Return ``{metric name: scores (batch,)}`` for each name in ``metrics``."""
    sr = check_sample_rate(sr)
    check_metric_names(metrics)
    fns: dict[str, Callable[[], torch.Tensor]] = {
        "si_sdr": lambda: si_sdr(estimate, target),
        "snr": lambda: snr(estimate, target),
        "pesq": lambda: pesq(estimate, target, sr),
        "stoi": lambda: stoi(estimate, target, sr),
    }
    return {name: fns[name]().detach().cpu() for name in metrics}


def clip_seed(seed: int, snr_db: float, index: int) -> int:
    """Return a seed fixed by (seed, input SNR, clip index), so every run sees the same noise."""
    snr_code = int(round(float(snr_db) * 1000)) + 10**9  # SeedSequence wants non-negative entropy
    return int(np.random.SeedSequence([int(seed), snr_code, int(index)]).generate_state(1)[0])


def _corrupt(
    clean: torch.Tensor, snr_db: float, noise: str | Callable, generator: torch.Generator
) -> torch.Tensor:
    """Return ``clean`` (1, 1, time) mixed with noise at ``snr_db`` (float32, CPU)."""
    if callable(noise):
        noisy = noise(clean, snr_db, generator)
    else:
        from .noise import add_noise

        noisy = add_noise(clean, snr_db, kind=noise, generator=generator)
    noisy = noisy.detach().float().cpu()
    if noisy.shape != clean.shape:
        raise MetricInputError(
            f"evaluate: the noise function returned shape {tuple(noisy.shape)} "
            f"for a clip of shape {tuple(clean.shape)}"
        )
    return noisy


def evaluate(
    methods: Mapping[str, Method],
    clean_clips: Sequence[torch.Tensor],
    snrs: Sequence[float] = (0, 5, 10),
    noise: str | Callable[[torch.Tensor, float, torch.Generator], torch.Tensor] = "white",
    sr: int = DEFAULT_SR,
    seed: int = 0,
    metrics: Sequence[str] = METRICS,
    progress: bool = True,
    per_clip: bool = False,
) -> pd.DataFrame:
    """Return a DataFrame with one row per (method, input SNR): mean metrics, improvements, rtf.

    For every input SNR each clean clip (1, time) is corrupted once with noise fixed by
    (``seed``, SNR, clip index), then every method receives the same noisy clip whole, as
    ``method(noisy (1, 1, time), clean (1, 1, time)) -> (1, 1, time)``. Ordinary methods ignore
    ``clean``; an oracle (for example ``baselines.oracle_irm``) may use it. Inputs are float32 CPU
    tensors: a method that runs on a GPU moves them there itself.

    ``noise`` is a kind for ``noise.add_noise`` ("white", "pink", ...) or a callable
    ``(clean (1, 1, T), snr_db, generator) -> noisy``. Columns: ``method``, ``input_snr``, for each
    metric its mean and ``<metric>_i`` (mean per-clip improvement over the noisy input; the noisy
    input itself is the row ``method == "noisy"`` with improvement 0), ``n_clips`` and ``rtf``
    (processing seconds per second of audio, output copy to CPU included, so GPU work is finished;
    each method first runs once untimed). Clips PESQ or STOI cannot score are left out of
    that metric's means (NaN-aware). With ``per_clip=True`` the table has one row per
    (method, input SNR, clip) instead, with a ``clip`` index column.
    """
    import pandas as pd

    clips, snrs, seed = checked_inputs(methods, clean_clips, snrs, seed, metrics)

    rows: list[dict] = []
    with progress_bar(len(snrs) * len(clips), progress) as bar:
        for snr_db in snrs:
            for index, clean in enumerate(clips):
                gen = torch.Generator().manual_seed(clip_seed(seed, snr_db, index))
                noisy = _corrupt(clean, float(snr_db), noise, gen)
                if not rows:
                    # One untimed call per method first, so lazy imports, CUDA start-up and
                    # cuDNN autotuning do not count against the first clip's real-time factor.
                    for name, method in methods.items():
                        run_method(method, noisy, clean, name)
                info = {"input_snr": snr_db, "clip": index, "audio_seconds": clean.shape[-1] / sr}
                rows += _score_methods(methods, noisy, clean, sr, metrics, info)
                bar.update(1)
    table = pd.DataFrame(rows)
    if per_clip:
        table["rtf"] = table["seconds"] / table["audio_seconds"]
        return table.drop(columns=["seconds", "audio_seconds"])
    return summarise(table, ["noisy", *methods], metrics)


def _score_methods(
    methods: Mapping[str, Method],
    noisy: torch.Tensor,
    clean: torch.Tensor,
    sr: int,
    metrics: Sequence[str],
    info: dict,
) -> list[dict]:
    """Return one row per method (the noisy input first): its scores, improvements and seconds."""
    outputs: dict[str, tuple[torch.Tensor, float]] = {"noisy": (noisy, 0.0)}
    for name, method in methods.items():
        outputs[name] = run_method(method, noisy, clean, name)
    base = compute_metrics(noisy, clean, sr, metrics)
    rows = []
    for name, (out, secs) in outputs.items():
        scores = base if name == "noisy" else compute_metrics(out, clean, sr, metrics)
        row: dict = {"method": name, **info, "seconds": secs}
        for m in metrics:
            row[m] = float(scores[m][0])
            row[f"{m}_i"] = float(scores[m][0] - base[m][0])
        rows.append(row)
    return rows
