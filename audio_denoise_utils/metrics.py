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
- ``stoi``: short-time objective intelligibility, 0 to 1 (pystoi resamples to 10 kHz itself).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import torch

from . import DEFAULT_SR
from .engine.checks import check_number, check_sample_rate, check_seed
from .errors import AudioDenoiseError

if TYPE_CHECKING:  # pandas is imported lazily: only evaluate() needs it
    import pandas as pd

Method = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]

METRICS = ("si_sdr", "snr", "pesq", "stoi")


class MetricInputError(AudioDenoiseError, ValueError):
    """Metric inputs have mismatched or unsupported shapes, or a method returned unusable audio."""


def _as_rows(
    estimate: torch.Tensor, target: torch.Tensor, fn: str
) -> tuple[torch.Tensor, torch.Tensor]:
    """Return both inputs as (batch, time) after checking that their shapes agree."""
    if not isinstance(estimate, torch.Tensor) or not isinstance(target, torch.Tensor):
        raise MetricInputError(
            f"{fn}: expected torch tensors, got {type(estimate).__name__} and {type(target).__name__}"
        )
    if estimate.shape != target.shape:
        raise MetricInputError(
            f"{fn}: estimate and target must have the same shape, got {tuple(estimate.shape)} "
            f"and {tuple(target.shape)} (trim or pad the estimate to the target's length)"
        )
    if estimate.ndim == 3 and estimate.shape[1] != 1:
        raise MetricInputError(
            f"{fn}: expected (batch, 1, time) mono audio, got {tuple(estimate.shape)}"
        )
    if estimate.ndim not in (1, 2, 3) or estimate.shape[-1] == 0:
        raise MetricInputError(
            f"{fn}: expected (batch, 1, time) or (1, time) audio, got {tuple(estimate.shape)}"
        )
    return estimate.reshape(-1, estimate.shape[-1]), target.reshape(-1, target.shape[-1])


def snr(estimate: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Return the signal-to-noise ratio of ``estimate`` against ``target`` in dB, shape (batch,)."""
    from torchmetrics.functional.audio import signal_noise_ratio

    est, tgt = _as_rows(estimate, target, "snr")
    # float64: the error energy of a near-perfect estimate vanishes in float32 rounding.
    return signal_noise_ratio(est.double(), tgt.double()).float()


def si_sdr(estimate: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Return the scale-invariant SDR of ``estimate`` against ``target`` in dB, shape (batch,).

    The training loss's own function (:func:`audio_denoise_utils.losses.si_sdr`, zero-mean as in
    Le Roux et al. 2019), computed in float64 with a float64-sized ``eps`` so that near-perfect
    estimates score precisely.
    """
    from .losses import si_sdr as si_sdr_db

    est, tgt = _as_rows(estimate, target, "si_sdr")
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

    est, tgt = _as_rows(estimate, target, "pesq")
    return pesq_rows(est, tgt, sr, mode)


def stoi(
    estimate: torch.Tensor, target: torch.Tensor, sr: int = DEFAULT_SR, extended: bool = False
) -> torch.Tensor:
    """Return STOI (0 to 1; ESTOI with ``extended=True``) of ``estimate`` against ``target``, shape (batch,)."""
    from torchmetrics.functional.audio import short_time_objective_intelligibility

    est, tgt = _as_rows(estimate, target, "stoi")
    est, tgt = est.detach().cpu().double(), tgt.detach().cpu().double()
    return short_time_objective_intelligibility(est, tgt, sr, extended=extended).reshape(-1).float()


def compute_metrics(
    estimate: torch.Tensor,
    target: torch.Tensor,
    sr: int = DEFAULT_SR,
    metrics: Sequence[str] = METRICS,
) -> dict[str, torch.Tensor]:
    """Return ``{metric name: scores (batch,)}`` for each name in ``metrics``."""
    sr = check_sample_rate(sr)
    _check_metric_names(metrics)
    fns: dict[str, Callable[[], torch.Tensor]] = {
        "si_sdr": lambda: si_sdr(estimate, target),
        "snr": lambda: snr(estimate, target),
        "pesq": lambda: pesq(estimate, target, sr),
        "stoi": lambda: stoi(estimate, target, sr),
    }
    return {name: fns[name]().detach().cpu() for name in metrics}


def _check_metric_names(metrics: Sequence[str]) -> None:
    unknown = [m for m in metrics if m not in METRICS]
    if unknown or not metrics:
        raise MetricInputError(
            f"evaluate: unknown metric(s) {unknown or list(metrics)}; choose from {list(METRICS)}"
        )


def _clip_seed(seed: int, snr_db: float, index: int) -> int:
    """Return a seed fixed by (seed, input SNR, clip index), so every run sees the same noise."""
    snr_code = int(round(float(snr_db) * 1000)) + 10**9  # SeedSequence wants non-negative entropy
    return int(np.random.SeedSequence([int(seed), snr_code, int(index)]).generate_state(1)[0])


def _as_clip(clip: torch.Tensor, index: int) -> torch.Tensor:
    """Return one clean clip as float32 (1, 1, time)."""
    if not isinstance(clip, torch.Tensor):
        clip = torch.as_tensor(np.asarray(clip))
    if clip.ndim > 3 or clip.numel() != clip.shape[-1] or clip.shape[-1] == 0:
        raise MetricInputError(
            f"evaluate: clean clip {index} must be mono (1, time), got shape {tuple(clip.shape)}"
        )
    return clip.detach().float().cpu().reshape(1, 1, -1)


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
    each method first runs once untimed). Clips PESQ cannot score are left out of
    that metric's means (NaN-aware). With ``per_clip=True`` the table has one row per
    (method, input SNR, clip) instead, with a ``clip`` index column.
    """
    import pandas as pd

    clips, snrs, seed = _checked_inputs(methods, clean_clips, snrs, seed, metrics)

    rows: list[dict] = []
    with _progress(len(snrs) * len(clips), progress) as bar:
        for snr_db in snrs:
            for index, clean in enumerate(clips):
                gen = torch.Generator().manual_seed(_clip_seed(seed, snr_db, index))
                noisy = _corrupt(clean, float(snr_db), noise, gen)
                if not rows:
                    # One untimed call per method first, so lazy imports, CUDA start-up and
                    # cuDNN autotuning do not count against the first clip's real-time factor.
                    for name, method in methods.items():
                        _run_method(method, noisy, clean, name)
                info = {"input_snr": snr_db, "clip": index, "audio_seconds": clean.shape[-1] / sr}
                rows += _score_methods(methods, noisy, clean, sr, metrics, info)
                bar.update(1)
    table = pd.DataFrame(rows)
    if per_clip:
        table["rtf"] = table["seconds"] / table["audio_seconds"]
        return table.drop(columns=["seconds", "audio_seconds"])
    return _summarise(table, ["noisy", *methods], metrics)


def _checked_inputs(methods, clean_clips, snrs, seed, metrics) -> tuple[list, list, int]:
    """Return (clips as (1, 1, T), SNRs, seed) after checking evaluate()'s arguments."""
    _check_metric_names(metrics)
    if "noisy" in methods:
        raise MetricInputError(
            'evaluate: the method name "noisy" is reserved for the unprocessed input'
        )
    if len(clean_clips) == 0:
        raise MetricInputError("evaluate: no clean clips given")
    if len(snrs) == 0:
        raise MetricInputError("evaluate: no input SNRs given")
    snrs = [check_number(v, "evaluate: input SNR", low=-50, high=100, unit="dB") for v in snrs]
    clips = [_as_clip(c, i) for i, c in enumerate(clean_clips)]
    return clips, snrs, check_seed(seed)


def _progress(total: int, show: bool):
    """Return a tqdm bar over ``total`` clips (disabled when not ``show``), usable with ``with``."""
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="evaluate", unit="clip", disable=not show)


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
        outputs[name] = _run_method(method, noisy, clean, name)
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


def _summarise(table: pd.DataFrame, order: Sequence[str], metrics: Sequence[str]) -> pd.DataFrame:
    """Return the per-(method, input SNR) means of a per-clip table, methods in ``order``."""
    value_cols = [c for m in metrics for c in (m, f"{m}_i")]
    summary = (
        table.groupby(["method", "input_snr"], sort=False)
        .agg(
            **{c: (c, "mean") for c in value_cols},  # mean skips NaN (clips PESQ could not score)
            n_clips=("clip", "count"),
            seconds=("seconds", "sum"),
            audio_seconds=("audio_seconds", "sum"),
        )
        .reset_index()
    )
    summary["rtf"] = summary["seconds"] / summary["audio_seconds"]
    summary["_order"] = summary["method"].map({name: i for i, name in enumerate(order)})
    summary = summary.sort_values(["_order", "input_snr"], kind="stable")
    return summary.drop(columns=["_order", "seconds", "audio_seconds"]).reset_index(drop=True)


def _run_method(
    method: Method, noisy: torch.Tensor, clean: torch.Tensor, name: str
) -> tuple[torch.Tensor, float]:
    """Return (checked output (1, 1, time), seconds taken) of one method call on copies of the inputs."""
    noisy_in, clean_in = (
        noisy.clone(),
        clean.clone(),
    )  # a method that edits its input in place harms no one
    start = time.perf_counter()
    with torch.no_grad():
        out = method(noisy_in, clean_in)
    out = _check_output(out, clean, name)  # the copy to CPU inside waits for pending GPU work
    return out, time.perf_counter() - start


def _check_output(out: torch.Tensor, clean: torch.Tensor, name: str) -> torch.Tensor:
    """Return a method's output as float32 CPU (1, 1, time), or raise naming the method and problem."""
    if not isinstance(out, torch.Tensor):
        raise MetricInputError(
            f"evaluate: method {name!r} returned {type(out).__name__}, expected a tensor"
        )
    out = out.detach().float().cpu()
    if out.numel() != clean.shape[-1]:
        raise MetricInputError(
            f"evaluate: method {name!r} returned shape {tuple(out.shape)} for input (1, 1, {clean.shape[-1]}); "
            "it must keep the input's length"
        )
    out = out.reshape(clean.shape)
    if not torch.isfinite(out).all():
        raise MetricInputError(f"evaluate: method {name!r} returned NaN or infinite samples")
    return out


_TABLE_COLUMNS = (
    ("method", "method"),
    ("input_snr", "SNR in (dB)"),
    ("si_sdr", "SI-SDR"),
    ("si_sdr_i", "SI-SDRi"),
    ("pesq", "PESQ"),
    ("stoi", "STOI"),
)


def format_table(df: pd.DataFrame, digits: int = 2) -> str:
    """Return a compact markdown table (method, SNR, SI-SDR, SI-SDRi, PESQ, STOI) of an evaluate() result."""
    cols = [(key, title) for key, title in _TABLE_COLUMNS if key in df.columns]
    lines = ["| " + " | ".join(title for _, title in cols) + " |"]
    lines.append("|" + "|".join(":---" if key == "method" else "---:" for key, _ in cols) + "|")
    for _, row in df.iterrows():
        cells = []
        for key, _ in cols:
            value = row[key]
            if key == "method":
                cells.append(str(value))
            elif key == "input_snr":
                v = float(value)
                cells.append(f"{v:g}")
            elif value is None or (isinstance(value, float) and math.isnan(value)):
                cells.append("n/a")
            else:
                cells.append(f"{float(value):.{3 if key == 'stoi' else digits}f}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def __getattr__(name: str):
    # The CLI's evaluation of a checkpoint is engine code; its old name still works here.
    if name == "evaluate_checkpoint":
        from .engine.runs import evaluate_checkpoint

        return evaluate_checkpoint
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
