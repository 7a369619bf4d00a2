"""The plumbing of :func:`audio_denoise_utils.metrics.evaluate`: argument checks, running and
timing one method safely, the summary table and its markdown.

Engine code: not course material (the loop itself is in metrics.evaluate).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np
import torch

from ..errors import MetricInputError
from .checks import check_clip_layout, check_number, check_seed

if TYPE_CHECKING:
    import pandas as pd

#: The metrics metrics.compute_metrics knows (re-exported there as ``metrics.METRICS``).
METRICS = ("si_sdr", "snr", "pesq", "stoi")


def audio_rows(
    estimate: torch.Tensor, target: torch.Tensor, fn: str
) -> tuple[torch.Tensor, torch.Tensor]:
    """Return both inputs as (batch, time) after checking that their shapes agree."""
    for wav in (estimate, target):
        check_clip_layout(wav, fn, MetricInputError)
    if estimate.shape != target.shape:
        raise MetricInputError(
            f"{fn}: estimate and target must have the same shape, got {tuple(estimate.shape)} "
            f"and {tuple(target.shape)} (trim or pad the estimate to the target's length)"
        )
    return estimate.reshape(-1, estimate.shape[-1]), target.reshape(-1, target.shape[-1])


def check_metric_names(metrics: Sequence[str]) -> None:
    """Raise MetricInputError unless ``metrics`` is a non-empty list of known metric names."""
    unknown = [m for m in metrics if m not in METRICS]
    if unknown or not metrics:
        raise MetricInputError(
            f"evaluate: unknown metric(s) {unknown or list(metrics)}; choose from {list(METRICS)}"
        )


def as_clip(clip: torch.Tensor, index: int) -> torch.Tensor:
    """Return one clean clip as float32 (1, 1, time)."""
    if not isinstance(clip, torch.Tensor):
        clip = torch.as_tensor(np.asarray(clip))
    if clip.ndim > 3 or clip.numel() != clip.shape[-1] or clip.shape[-1] == 0:
        raise MetricInputError(
            f"evaluate: clean clip {index} must be mono (1, time), got shape {tuple(clip.shape)}"
        )
    return clip.detach().float().cpu().reshape(1, 1, -1)


def checked_inputs(methods, clean_clips, snrs, seed, metrics) -> tuple[list, list, int]:
    """Return (clips as (1, 1, T), SNRs, seed) after checking evaluate()'s arguments."""
    check_metric_names(metrics)
    if "noisy" in methods:
        raise MetricInputError(
            'evaluate: the method name "noisy" is reserved for the unprocessed input'
        )
    if len(clean_clips) == 0:
        raise MetricInputError("evaluate: no clean clips given")
    if len(snrs) == 0:
        raise MetricInputError("evaluate: no input SNRs given")
    snrs = [check_number(v, "evaluate: input SNR", low=-50, high=100, unit="dB") for v in snrs]
    clips = [as_clip(c, i) for i, c in enumerate(clean_clips)]
    return clips, snrs, check_seed(seed)


def progress_bar(total: int, show: bool):
    """Return a tqdm bar over ``total`` clips (disabled when not ``show``), usable with ``with``."""
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="evaluate", unit="clip", disable=not show)


def summarise(table: pd.DataFrame, order: Sequence[str], metrics: Sequence[str]) -> pd.DataFrame:
    """Return the per-(method, input SNR) means of a per-clip table, methods in ``order``."""
    value_cols = [c for m in metrics for c in (m, f"{m}_i")]
    summary = (
        table.groupby(["method", "input_snr"], sort=False)
        .agg(
            # mean skips NaN: clips PESQ or STOI could not score
            **{c: (c, "mean") for c in value_cols},
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


def run_method(
    method: Callable, noisy: torch.Tensor, clean: torch.Tensor, name: str
) -> tuple[torch.Tensor, float]:
    """Return (checked output (1, 1, time), seconds taken) of one method call on copies of the inputs."""
    noisy_in, clean_in = (
        noisy.clone(),
        clean.clone(),
    )  # a method that edits its input in place harms no one
    start = time.perf_counter()
    with torch.no_grad():
        out = method(noisy_in, clean_in)
    out = check_output(out, clean, name)  # the copy to CPU inside waits for pending GPU work
    return out, time.perf_counter() - start


def check_output(out: torch.Tensor, clean: torch.Tensor, name: str) -> torch.Tensor:
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
