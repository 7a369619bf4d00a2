"""Figures for the notebooks (waveforms, spectrograms, comparisons, loss curves, result tables) and
the short text beside them (actor lists).

Every function takes one clip as a torch tensor ((1, time), (time,) or (1, 1, time)) or a numpy
array, plus its sample rate. Functions that draw on one panel take an optional ``ax``: without it
they create a figure through pyplot and return the :class:`~matplotlib.figure.Figure`; with it they
draw there and return the Axes. Nothing here calls ``plt.show()``, so the module works headless
with the Agg backend. In a notebook, end the cell with ``;`` or assign the result, otherwise
Jupyter shows the returned figure a second time.

Spectrograms use an absolute scale (0 dB = a full-scale sine), so clips drawn with the same
``vmin`` and ``vmax`` share one colour scale and can be compared by eye.

Plotting plumbing: not course material (the notebooks call it; they do not teach it).
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from .engine.checks import check_sample_rate
from .errors import InvalidArgumentError
from .files import atomic_write

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

Wave = torch.Tensor | np.ndarray | Sequence[float]

#: Colours by role, so "clean" is the same green in every figure of the course.
COLORS: dict[str, str] = {
    "clean": "#2a9d8f",
    "noisy": "#8d8d8d",
    "denoised": "#1f5fa8",
    "noise": "#d1495b",
    "train": "#1f5fa8",
    "val": "#e07a1f",
    "metric": "#6a4c93",
}
_CYCLE = ("#1f5fa8", "#e07a1f", "#2a9d8f", "#d1495b", "#6a4c93", "#8c564b", "#e377c2", "#7f7f7f")
_INTENSITY_COLORS = ("#2a9d8f", "#6a4c93")
_NOISE_COLORS = {
    "white": "#8d8d8d",
    "pink": "#e377c2",
    "brown": "#8c564b",
    "babble": "#e07a1f",
    "hum": "#1f77b4",
    "tones": "#9467bd",
    "machine": "#2ca02c",
}
#: Spectrogram colour map and the default top of its scale (dB relative to a full-scale sine).
CMAP = "magma"
VMAX_DB = 0.0
#: Above this many samples a waveform is drawn as a min/max envelope (fast for long files).
_ENVELOPE_ABOVE = 60_000
_ENVELOPE_BINS = 4_000
#: A screen cannot show more spectrogram columns; long files get a larger hop (bounded memory).
MAX_FRAMES = 4_000
_METRIC_LABELS = {
    "si_sdr": "SI-SDR (dB)",
    "si_sdr_i": "SI-SDR improvement (dB)",
    "snr": "SNR (dB)",
    "snr_i": "SNR improvement (dB)",
    "pesq": "PESQ",
    "pesq_i": "PESQ improvement",
    "stoi": "STOI",
    "stoi_i": "STOI improvement",
}
_SNR_COLUMNS = ("input_snr", "snr_in", "snr_db", "in_snr")


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------


def format_actors(actors: Iterable[int]) -> str:
    """Return actor numbers as short readable text: runs of three or more as ranges ("1-18")."""
    nums = sorted({int(a) for a in actors})
    parts: list[str] = []
    i = 0
    while i < len(nums):
        j = i
        while j + 1 < len(nums) and nums[j + 1] == nums[j] + 1:
            j += 1
        if j - i >= 2:
            parts.append(f"{nums[i]}-{nums[j]}")
        else:
            parts.extend(str(n) for n in nums[i : j + 1])
        i = j + 1
    return ", ".join(parts)


def as_numpy(wav: Wave, name: str = "wav") -> np.ndarray:
    """Return one clip as a 1-D float32 numpy array (channels are averaged)."""
    if isinstance(wav, torch.Tensor):
        arr = wav.detach().float().cpu().numpy()
    else:
        arr = np.asarray(wav, dtype=np.float32)
    while arr.ndim > 1 and arr.shape[0] == 1:
        arr = arr[0]
    if arr.ndim == 2:  # (channels, time): plots show what a listener hears on one speaker
        arr = arr.mean(axis=0)
    if arr.ndim != 1:
        raise InvalidArgumentError(
            f"{name}: expected one clip (1, time) or (time,), got shape {arr.shape}"
        )
    if arr.size == 0:
        raise InvalidArgumentError(f"{name}: the clip holds no samples")
    if not np.isfinite(arr).all():
        raise InvalidArgumentError(f"{name}: the clip holds NaN or infinite samples")
    return arr.astype(np.float32, copy=False)


def color_for(name: str, index: int = 0) -> str:
    """Return the course colour for a clip name ("clean", "noisy", "denoised", ...)."""
    key = name.lower()
    for role in ("clean", "noisy", "denoised", "noise"):
        if role in key:
            return COLORS[role]
    for kind, color in _NOISE_COLORS.items():
        if kind in key:
            return color
    return _CYCLE[index % len(_CYCLE)]


def _subplots(
    nrows: int = 1, ncols: int = 1, figsize: tuple[float, float] = (8, 3), **kw: Any
) -> tuple[Figure, Any]:
    """Return ``(fig, axes)`` from pyplot, constrained layout, so notebooks show them inline."""
    import matplotlib.pyplot as plt

    return plt.subplots(nrows, ncols, figsize=figsize, layout="constrained", squeeze=False, **kw)


def new_figure(figsize: tuple[float, float] = (8, 3)) -> Figure:
    """Return a Figure that pyplot does not track (for widgets: never shown twice, never leaked)."""
    from matplotlib.figure import Figure

    return Figure(figsize=figsize, layout="constrained")


def figure_png(fig: Figure, dpi: int = 100) -> bytes:
    """Return the figure rendered as PNG bytes."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def _result(fig: Figure, ax: Axes, own: bool) -> Figure | Axes:
    return fig if own else ax


def _axes(ax: Axes | None, figsize: tuple[float, float]) -> tuple[Figure, Axes, bool]:
    """Return ``(figure, axes, created)``: the given Axes, or a new single-panel figure."""
    if ax is not None:
        return ax.figure, ax, False
    fig, axes = _subplots(1, 1, figsize=figsize)
    return fig, axes[0, 0], True


# ---------------------------------------------------------------------------------------------
# Waveforms and spectrograms
# ---------------------------------------------------------------------------------------------


def plot_waveform(
    wav: Wave,
    sr: int,
    ax: Axes | None = None,
    title: str | None = None,
    color: str | None = None,
    label: str | None = None,
    alpha: float = 1.0,
) -> Figure | Axes:
    """Return a figure (or the given Axes) with the clip's waveform against time in seconds."""
    sr = check_sample_rate(sr)
    x = as_numpy(wav)
    fig, ax, own = _axes(ax, (8, 2.5))
    overlay = ax.has_data()  # drawing over another clip: keep the axis wide enough for both
    color = color or color_for(title or label or "", 0)
    if x.size > _ENVELOPE_ABOVE:
        # Millions of line segments are slow and look like a solid band anyway: draw min/max per bin.
        edges = np.linspace(0, x.size, _ENVELOPE_BINS + 1).astype(int)
        lo = np.minimum.reduceat(x, edges[:-1])
        hi = np.maximum.reduceat(x, edges[:-1])
        t = edges[:-1] / sr
        ax.fill_between(t, lo, hi, color=color, linewidth=0.4, alpha=alpha, label=label)
    else:
        t = np.arange(x.size) / sr
        ax.plot(t, x, color=color, linewidth=0.7, alpha=alpha, label=label)
    ax.set_xlim(0, max(x.size / sr, 1 / sr))
    peak = max(float(np.abs(x).max()) * 1.05, 1e-3)
    lim = max(ax.get_ylim()[1], peak) if overlay else peak
    ax.set_ylim(-lim, lim)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("amplitude")
    ax.grid(True, alpha=0.25)
    if title:
        ax.set_title(title, loc="left")
    return _result(fig, ax, own)


def display_hop(n_samples: int, hop: int, max_frames: int | None = MAX_FRAMES) -> int:
    """Return ``hop``, enlarged when needed so a clip of ``n_samples`` has at most ``max_frames`` frames."""
    if max_frames is None:
        return hop
    return max(hop, math.ceil(n_samples / max_frames))


def spectrogram_db(wav: Wave, n_fft: int = 512, hop: int = 128) -> np.ndarray:
    """Return the magnitude spectrogram (freq, frames) in dB where 0 dB is a full-scale sine."""
    import librosa

    x = as_numpy(wav)
    if x.size < n_fft:  # librosa warns and mis-sizes frames on clips shorter than one window
        x = np.pad(x, (0, n_fft - x.size))
    window = np.hanning(n_fft + 1)[:-1]  # periodic Hann, as librosa uses
    spec = np.abs(librosa.stft(x, n_fft=n_fft, hop_length=hop, window="hann", center=True))
    # A sine of amplitude A peaks at A * sum(window) / 2 in its bin: divide so it reads 20log10(A).
    spec /= window.sum() / 2
    return 20.0 * np.log10(np.maximum(spec, 1e-10))


def plot_spectrogram(
    wav: Wave,
    sr: int,
    ax: Axes | None = None,
    title: str | None = None,
    n_fft: int = 512,
    hop: int = 128,
    vmin: float = -80.0,
    vmax: float = VMAX_DB,
    freq_scale: str = "log",
    colorbar: bool | None = None,
    max_frames: int | None = MAX_FRAMES,
) -> Figure | Axes:
    """Return a figure (or the given Axes) with the clip's spectrogram in dB (``freq_scale`` "log"|"linear").

    ``colorbar`` defaults to True for a new figure and False when drawing into ``ax``. For clips
    longer than ``max_frames * hop`` samples the hop grows (see :func:`display_hop`).
    """
    import librosa.display

    if freq_scale not in ("log", "linear"):
        raise InvalidArgumentError(f"freq_scale must be 'log' or 'linear', got {freq_scale!r}")
    x = as_numpy(wav)
    hop = display_hop(x.size, hop, max_frames)
    db = spectrogram_db(x, n_fft, hop)
    fig, ax, own = _axes(ax, (8, 3))
    img = librosa.display.specshow(
        db,
        sr=sr,
        hop_length=hop,
        n_fft=n_fft,
        x_axis="time",
        y_axis=freq_scale,
        ax=ax,
        cmap=CMAP,
        vmin=vmin,
        vmax=vmax,
    )
    ax.set_xlabel("time (s)")
    ax.set_ylabel("frequency (Hz)")
    if title:
        ax.set_title(title, loc="left")
    if colorbar if colorbar is not None else own:
        fig.colorbar(img, ax=ax, format="%+.0f dB", pad=0.01)
    return _result(fig, ax, own)


def plot_wave_and_spec(
    wav: Wave,
    sr: int,
    title: str | None = None,
    n_fft: int = 512,
    hop: int = 128,
    vmin: float = -80.0,
    freq_scale: str = "log",
) -> Figure:
    """Return a two-row figure: waveform on top, spectrogram below, sharing the time axis."""
    sr = check_sample_rate(sr)
    fig, axes = _subplots(2, 1, figsize=(9, 5), sharex=True)
    plot_waveform(wav, sr, ax=axes[0, 0], title=title, color=color_for(title or "", 0))
    axes[0, 0].set_xlabel("")
    plot_spectrogram(wav, sr, ax=axes[1, 0], n_fft=n_fft, hop=hop, vmin=vmin, freq_scale=freq_scale)
    # One colour bar spanning both rows keeps the two time axes aligned.
    fig.colorbar(
        axes[1, 0].collections[0],
        ax=axes[:, 0].tolist(),
        format="%+.0f dB",
        pad=0.01,
        shrink=0.5,
        anchor=(0.0, 0.0),
    )
    return fig


def _si_sdr_db(estimate: np.ndarray, target: np.ndarray) -> float:
    """Return the SI-SDR (dB) of one estimate against one target (cropped to the shorter)."""
    from .metrics import si_sdr

    n = min(estimate.size, target.size)
    est = torch.from_numpy(estimate[:n].copy()).reshape(1, 1, n)
    tgt = torch.from_numpy(target[:n].copy()).reshape(1, 1, n)
    return float(si_sdr(est, tgt)[0])


def plot_comparison(
    clips: Mapping[str, Wave],
    sr: int,
    kind: str = "both",
    reference: str = "clean",
    n_fft: int = 512,
    hop: int = 128,
    vmin: float = -80.0,
    freq_scale: str = "log",
) -> Figure:
    """Return stacked rows (one per clip, in the mapping's order) with shared axes and colour scale.

    ``kind`` is "waveform", "spectrogram" or "both" (two columns). When ``clips`` holds the
    ``reference`` key ("clean"), every other row's title carries its SI-SDR against it.
    """
    sr = check_sample_rate(sr)
    if kind not in ("waveform", "spectrogram", "both"):
        raise InvalidArgumentError(
            f"kind must be 'waveform', 'spectrogram' or 'both', got {kind!r}"
        )
    if not clips:
        raise InvalidArgumentError("plot_comparison: no clips given")
    arrays = {name: as_numpy(w, name) for name, w in clips.items()}
    titles = {}
    ref = arrays.get(reference)
    for name, x in arrays.items():
        if ref is not None and name != reference:
            titles[name] = f"{name}  (SI-SDR {_si_sdr_db(x, ref):.1f} dB)"
        else:
            titles[name] = name
    n = len(arrays)
    ncols = 2 if kind == "both" else 1
    fig, axes = _subplots(n, ncols, figsize=(11 if ncols == 2 else 8, 1.7 * n + 0.8), sharex=True)
    spec_col = 1 if kind == "both" else 0
    if kind != "spectrogram":  # one amplitude scale for every waveform row
        for ax in axes[1:, 0]:
            ax.sharey(axes[0, 0])
    images = []
    peak = max(float(np.abs(x).max()) for x in arrays.values()) * 1.05
    for row, (name, x) in enumerate(arrays.items()):
        if kind in ("waveform", "both"):
            ax = axes[row, 0]
            plot_waveform(x, sr, ax=ax, title=titles[name], color=color_for(name, row))
            ax.set_ylim(-max(peak, 1e-3), max(peak, 1e-3))
        if kind in ("spectrogram", "both"):
            ax = axes[row, spec_col]
            plot_spectrogram(x, sr, ax=ax, n_fft=n_fft, hop=hop, vmin=vmin, freq_scale=freq_scale)
            if kind == "spectrogram":
                ax.set_title(titles[name], loc="left")
            images.append(ax.collections[0])
        for ax in axes[row]:
            if row < n - 1:
                ax.set_xlabel("")
    # Shared x axes take the last row's limits: show the longest clip in full instead.
    axes[0, 0].set_xlim(0, max(max(x.size for x in arrays.values()) / sr, 1 / sr))
    if images:
        fig.colorbar(
            images[0],
            ax=axes[:, spec_col].tolist(),
            format="%+.0f dB",
            pad=0.01,
            shrink=min(1.0, 2.5 / n),
        )
    return fig


def plot_snr_demo(
    clean: Wave, noisy: Wave, sr: int, ax: Axes | None = None, title: str | None = None
) -> Figure | Axes:
    """Return a figure (or the given Axes) overlaying the noisy and clean waveforms, titled with the measured SNR."""
    from .metrics import snr

    c, y = as_numpy(clean, "clean"), as_numpy(noisy, "noisy")
    n = min(c.size, y.size)
    c, y = c[:n], y[:n]
    measured = float(
        snr(torch.from_numpy(y.copy()).view(1, 1, n), torch.from_numpy(c.copy()).view(1, 1, n))[0]
    )
    fig, ax, own = _axes(ax, (8, 2.8))
    plot_waveform(y, sr, ax=ax, color=COLORS["noisy"], label="noisy", alpha=0.9)
    plot_waveform(c, sr, ax=ax, color=COLORS["clean"], label="clean", alpha=0.9)
    peak = max(float(np.abs(y).max()), float(np.abs(c).max()), 1e-3) * 1.05
    ax.set_ylim(-peak, peak)
    ax.legend(loc="upper right", fontsize=8)
    text = (
        f"measured SNR: {measured:.1f} dB"
        if math.isfinite(measured)
        else "measured SNR: inf (no noise)"
    )
    ax.set_title(f"{title}  ({text})" if title else text, loc="left")
    return _result(fig, ax, own)


def plot_noise_spectra(
    noises: Mapping[str, Wave], sr: int, ax: Axes | None = None, nperseg: int = 2048
) -> Figure | Axes:
    """Return a figure (or the given Axes) with each noise's average PSD (Welch) on log-log axes.

    The legend gives each spectrum's fitted slope: about 0 for white, -1 for pink, -2 for brown.
    """
    from scipy.signal import welch

    if not noises:
        raise InvalidArgumentError("plot_noise_spectra: no noises given")
    fig, ax, own = _axes(ax, (7, 4))
    for i, (name, w) in enumerate(noises.items()):
        x = as_numpy(w, name).astype(np.float64)
        freqs, psd = welch(x, fs=sr, nperseg=min(nperseg, x.size))
        keep = (freqs > 0) & (psd > 0)
        freqs, psd = freqs[keep], psd[keep]
        if freqs.size == 0:
            continue
        label = name
        # Fit above 50 Hz and below 90 % of Nyquist: Welch's lowest bins and the edge are biased.
        band = (freqs >= min(50.0, freqs[-1])) & (freqs <= 0.45 * sr)
        if band.sum() >= 3:
            slope = np.polyfit(np.log10(freqs[band]), np.log10(psd[band]), 1)[0]
            label = f"{name} (slope {slope:+.1f})"
        ax.loglog(freqs, psd, color=color_for(name, i), linewidth=1.2, label=label)
    ax.set_xlabel("frequency (Hz)")
    ax.set_ylabel("power spectral density (1/Hz)")
    ax.grid(True, which="both", alpha=0.25)
    if ax.lines:  # a constant or tiny clip has no positive spectrum to draw
        ax.legend(fontsize=8)
    ax.set_title("average noise spectra (Welch)", loc="left")
    return _result(fig, ax, own)


# ---------------------------------------------------------------------------------------------
# Training and results
# ---------------------------------------------------------------------------------------------


def history_frame(history: Any) -> pd.DataFrame:
    """Return a training history (History, DataFrame or dict of lists) as a DataFrame with an ``epoch`` column."""
    import pandas as pd

    if hasattr(history, "to_frame"):
        frame = history.to_frame()
    elif isinstance(history, pd.DataFrame):
        frame = history.copy()
    elif isinstance(history, Mapping):
        frame = pd.DataFrame({k: list(v) for k, v in history.items()})
    else:
        raise TypeError(
            f"expected a History, DataFrame or dict of lists, got {type(history).__name__}"
        )
    if "epoch" not in frame.columns:
        if frame.index.name == "epoch":  # History.to_frame() indexes by epoch
            return frame.reset_index()
        frame.insert(0, "epoch", range(1, len(frame) + 1))
    return frame.reset_index(drop=True)


def plot_loss_curves(
    history: Any, ax: Axes | None = None, title: str | None = None
) -> Figure | Axes:
    """Return a figure (or the given Axes) with train/val loss and, on a twin axis, val SI-SDR per epoch."""
    frame = history_frame(history)
    fig, ax, own = _axes(ax, (7, 3.5))
    marker = "o" if len(frame) < 30 else None  # a single epoch must still be visible
    handles = []
    for col, key, label in (("train_loss", "train", "train loss"), ("val_loss", "val", "val loss")):
        if col in frame.columns and frame[col].notna().any():
            (h,) = ax.plot(
                frame["epoch"],
                frame[col],
                color=COLORS[key],
                marker=marker,
                markersize=3,
                label=label,
            )
            handles.append(h)
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.grid(True, alpha=0.25)
    if "val_si_sdr" in frame.columns and frame["val_si_sdr"].notna().any():
        ax2 = ax.twinx()
        (line,) = ax2.plot(
            frame["epoch"],
            frame["val_si_sdr"],
            color=COLORS["metric"],
            linestyle="--",
            marker=marker,
            markersize=3,
            label="val SI-SDR",
        )
        # The checkpoint kept by fit() is the epoch with the best validation SI-SDR: mark it.
        best = frame["val_si_sdr"].idxmax()
        star = ax2.scatter(
            [frame["epoch"][best]],
            [frame["val_si_sdr"][best]],
            marker="*",
            s=130,
            color=COLORS["metric"],
            edgecolor="black",
            zorder=5,
            label=f"best (epoch {frame['epoch'][best]:g})",
        )
        handles += [line, star]
        ax2.set_ylabel("val SI-SDR (dB)", color=COLORS["metric"])
        ax2.tick_params(axis="y", colors=COLORS["metric"])
    if len(frame):
        from matplotlib.ticker import MaxNLocator

        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        # Below the axes: curves can go anywhere inside, and the twin axis rules out "best".
        ax.legend(
            handles=handles,
            loc="upper center",
            bbox_to_anchor=(0.5, -0.2),
            ncols=len(handles),
            fontsize=8,
            frameon=False,
        )
    else:
        ax.text(
            0.5,
            0.5,
            "no epochs yet",
            ha="center",
            va="center",
            transform=ax.transAxes,
            color="gray",
        )
    ax.set_title(title or "training curves", loc="left")
    return _result(fig, ax, own)


def _in_notebook() -> bool:
    """Return True inside a Jupyter kernel (where display handles exist)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


class LiveLossPlot:
    """Loss curves redrawn in place during training: pass ``update`` (or the object) as a callback.

    In Jupyter the first :meth:`update` displays the plot and later ones replace it (a display
    handle, so no flicker and no growing output). Headless it only keeps ``.figure`` up to date.
    """

    def __init__(
        self, figsize: tuple[float, float] = (7, 3.5), title: str | None = None, dpi: int = 90
    ):
        self.figsize = figsize
        self.title = title
        self.dpi = dpi
        self.figure: Figure | None = None
        self.updates = 0
        self._handle: Any = None

    def update(self, history: Any, *args: Any, **kwargs: Any) -> Figure:
        """Redraw from ``history`` (History, DataFrame or dict of lists) and return the new Figure.

        Extra arguments are ignored, so the method fits callback signatures that pass more.
        """
        fig = new_figure(self.figsize)
        plot_loss_curves(history, ax=fig.add_subplot(), title=self.title)
        self.figure = fig
        self.updates += 1
        if _in_notebook():
            from IPython.display import Image, display

            image = Image(data=figure_png(fig, self.dpi), format="png")
            if self._handle is None:
                self._handle = display(image, display_id=True)
            else:
                self._handle.update(image)
        return fig

    __call__ = update


def _snr_column(table: pd.DataFrame, snr_col: str | None) -> str | None:
    if snr_col is not None:
        if snr_col not in table.columns:
            raise InvalidArgumentError(
                f"column {snr_col!r} not in the table (columns: {list(table.columns)})"
            )
        return snr_col
    return next((c for c in _SNR_COLUMNS if c in table.columns), None)


def plot_metric_bars(
    table: pd.DataFrame,
    metric: str = "si_sdr_i",
    ax: Axes | None = None,
    snr_col: str | None = None,
    labels: bool = True,
) -> Figure | Axes:
    """Return a figure (or the given Axes) of grouped bars: one group per input SNR, one bar per method.

    ``table`` is an ``metrics.evaluate`` result (mean rows, or per-clip rows whose spread is drawn
    as error bars). For an improvement metric (``*_i``) the "noisy" row, zero by definition, is left out.
    """
    if metric not in table.columns:
        raise InvalidArgumentError(
            f"metric {metric!r} not in the table (columns: {list(table.columns)})"
        )
    if "method" not in table.columns:
        raise InvalidArgumentError(
            f"the table needs a 'method' column (columns: {list(table.columns)})"
        )
    snr_col = _snr_column(table, snr_col)
    data = table
    if metric.endswith("_i") and (table["method"] != "noisy").any():
        data = table[table["method"] != "noisy"]
    methods = list(dict.fromkeys(data["method"]))
    groups = sorted(dict.fromkeys(data[snr_col])) if snr_col else [None]
    keys = ["method", snr_col] if snr_col else ["method"]
    stats = data.groupby(keys, sort=False)[metric].agg(["mean", "std", "count"])
    fig, ax, own = _axes(ax, (max(5.0, 1.2 * len(groups) * max(1, len(methods)) ** 0.5 + 3), 3.5))
    width = 0.8 / max(1, len(methods))
    x = np.arange(len(groups))
    for i, method in enumerate(methods):
        means, errs = [], []
        for g in groups:
            key = (method, g) if snr_col else method
            row = stats.loc[key] if key in stats.index else None
            means.append(float(row["mean"]) if row is not None else np.nan)
            errs.append(float(row["std"]) if row is not None and row["count"] > 1 else 0.0)
        bars = ax.bar(
            x + (i - (len(methods) - 1) / 2) * width,
            means,
            width * 0.95,
            yerr=errs if any(errs) else None,
            # Methods get distinct colours (a name like 'rnnoise' is not the role 'noise').
            color=COLORS["noisy"] if method == "noisy" else _CYCLE[i % len(_CYCLE)],
            label=method,
            capsize=2,
            error_kw={"linewidth": 0.8},
        )
        if labels:
            ax.bar_label(bars, fmt="%.1f", fontsize=7, padding=1)
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set_xticks(
        x,
        [f"{g:g} dB" if isinstance(g, int | float) else str(g) for g in groups]
        if snr_col
        else [""],
    )
    ax.set_xlabel("input SNR" if snr_col else "")
    ax.set_ylabel(_METRIC_LABELS.get(metric, metric))
    ax.grid(True, axis="y", alpha=0.25)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), title="method")
    ax.set_title(f"{_METRIC_LABELS.get(metric, metric)} by method", loc="left")
    return _result(fig, ax, own)


def _ordered(values: Sequence[Any], known: Sequence[Any]) -> list[Any]:
    """Return the distinct ``values``, ordered as in ``known`` first, then the rest sorted."""
    present = set(values)
    head = [v for v in known if v in present]
    return head + sorted((v for v in present if v not in set(known)), key=str)


#: Colours of the two genders in the dataset plots.
_GENDER_COLORS = {"female": COLORS["val"], "male": COLORS["train"]}


def _missing(ax: Axes, what: str) -> None:
    """Mark an empty panel: the table has no ``what`` column."""
    ax.text(
        0.5,
        0.5,
        f"no '{what}' column",
        ha="center",
        va="center",
        transform=ax.transAxes,
        color="gray",
    )
    ax.set_xticks([])
    ax.set_yticks([])


def _emotion_panel(ax: Axes, table: pd.DataFrame) -> None:
    """Clips per emotion, stacked by intensity."""
    from .ravdess import EMOTIONS, INTENSITIES

    if "emotion" in table.columns:
        emotions = _ordered(list(table["emotion"]), list(EMOTIONS.values()))
        split = "intensity" if "intensity" in table.columns else None
        levels = _ordered(list(table[split]), list(INTENSITIES.values())) if split else [None]
        bottom = np.zeros(len(emotions))
        for i, level in enumerate(levels):
            sub = table if level is None else table[table[split] == level]
            counts = sub["emotion"].value_counts().reindex(emotions, fill_value=0).to_numpy()
            ax.bar(emotions, counts, bottom=bottom, color=_INTENSITY_COLORS[i % 2], label=level)
            bottom += counts
        ax.set_ylim(0, bottom.max() * 1.25 + 1)  # headroom for the legend
        if split:
            ax.legend(title="intensity", fontsize=8, ncols=len(levels), loc="upper left")
        ax.tick_params(axis="x", rotation=35)
        ax.set_ylabel("clips")
        ax.set_title("clips per emotion", loc="left")
    else:
        _missing(ax, "emotion")


def _actor_panel(ax: Axes, table: pd.DataFrame) -> None:
    """Clips per actor, coloured by gender."""
    if "actor" in table.columns:
        counts = table["actor"].value_counts().sort_index()
        genders = table.groupby("actor")["gender"].first() if "gender" in table.columns else None
        colors = [
            _GENDER_COLORS.get(genders[a], _CYCLE[0]) if genders is not None else _CYCLE[0]
            for a in counts.index
        ]
        ax.bar([str(a) for a in counts.index], counts.to_numpy(), color=colors)
        if genders is not None:
            from matplotlib.patches import Patch

            ax.legend(
                handles=[Patch(color=c, label=g) for g, c in _GENDER_COLORS.items()],
                fontsize=8,
                ncols=2,
                loc="upper left",
            )
        ax.set_ylim(0, counts.max() * 1.25 + 1)
        ax.tick_params(axis="x", labelsize=7)
        ax.set_xlabel("actor")
        ax.set_ylabel("clips")
        ax.set_title("clips per actor", loc="left")
    else:
        _missing(ax, "actor")


def _statement_panel(ax: Axes, table: pd.DataFrame) -> None:
    """Clips per statement, side by side by gender."""
    col = (
        "text" if "text" in table.columns else "statement" if "statement" in table.columns else None
    )
    if col:
        cats = _ordered(list(table[col]), [])
        groups = (
            _ordered(list(table["gender"]), list(_GENDER_COLORS))
            if "gender" in table.columns
            else [None]
        )
        width = 0.8 / len(groups)
        for i, g in enumerate(groups):
            sub = table if g is None else table[table["gender"] == g]
            counts = sub[col].value_counts().reindex(cats, fill_value=0).to_numpy()
            ax.bar(
                np.arange(len(cats)) + (i - (len(groups) - 1) / 2) * width,
                counts,
                width * 0.95,
                color=_GENDER_COLORS.get(g, _CYCLE[i]),
                label=g,
            )
        ax.set_xticks(np.arange(len(cats)), [str(c) for c in cats], fontsize=8)
        ax.set_ylim(0, ax.get_ylim()[1] * 1.2)
        if groups != [None]:
            ax.legend(fontsize=8, ncols=len(groups), loc="upper left")
        ax.set_ylabel("clips")
        ax.set_title("clips per statement", loc="left")
    else:
        _missing(ax, "statement")


def _duration_panel(ax: Axes, table: pd.DataFrame) -> None:
    """Histogram of clip durations, by gender, with the median."""
    if "duration" in table.columns and table["duration"].notna().any():
        dur = table["duration"].dropna().to_numpy(dtype=float)
        bins = np.linspace(dur.min(), dur.max() + 1e-6, 25)
        if "gender" in table.columns:
            for g, c in _GENDER_COLORS.items():
                sub = table.loc[table["gender"] == g, "duration"].dropna().to_numpy(dtype=float)
                if sub.size:
                    ax.hist(sub, bins=bins, histtype="step", linewidth=1.5, color=c, label=g)
            ax.legend(fontsize=8)
        else:
            ax.hist(dur, bins=bins, color=_CYCLE[0])
        ax.axvline(float(np.median(dur)), color="black", linestyle="--", linewidth=0.8)
        ax.set_xlabel("duration (s)")
        ax.set_ylabel("clips")
        ax.set_title(f"clip durations (median {np.median(dur):.2f} s)", loc="left")
    else:
        _missing(ax, "duration")


def plot_dataset_stats(table: pd.DataFrame) -> Figure:
    """Return a 2x2 figure for a RAVDESS metadata table: emotions, actors, statements, durations.

    Panels whose column is missing say so instead of failing; ``duration`` comes from
    ``ravdess.list_clips(root, with_duration=True)``.
    """
    fig, axes = _subplots(2, 2, figsize=(11, 7))
    _emotion_panel(axes[0, 0], table)
    _actor_panel(axes[0, 1], table)
    _statement_panel(axes[1, 0], table)
    _duration_panel(axes[1, 1], table)
    fig.suptitle(f"{len(table)} clips", x=0.01, ha="left")
    return fig


# ---------------------------------------------------------------------------------------------
# Saving
# ---------------------------------------------------------------------------------------------


def save_figure(fig: Figure | Axes, path: str | os.PathLike, dpi: int = 150) -> Path:
    """Write the figure (format from the extension, PNG when none) atomically and return its path."""
    figure = getattr(fig, "figure", None) if not hasattr(fig, "savefig") else fig
    if figure is None:
        raise TypeError(f"expected a matplotlib Figure or Axes, got {type(fig).__name__}")
    p = Path(path)
    fmt = p.suffix.lstrip(".").lower() or "png"
    with atomic_write(p) as tmp:
        figure.savefig(tmp, format=fmt, dpi=dpi, bbox_inches="tight")
    return p
