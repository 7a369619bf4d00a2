"""Tests for audio_denoise_utils.plots: every figure builds headless from tensors, numpy and short clips."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from audio_denoise_utils import plots  # noqa: E402

SR = 8000


def tone(seconds: float = 0.5, sr: int = SR, f0: float = 220.0) -> torch.Tensor:
    """A harmonic tone with vibrato and a smooth fade, (1, time)."""
    t = torch.arange(int(seconds * sr), dtype=torch.float64) / sr
    freq = f0 * (1 + 0.02 * torch.sin(2 * math.pi * 5 * t))
    phase = 2 * math.pi * torch.cumsum(freq, 0) / sr
    wav = sum(torch.sin(k * phase) / k for k in range(1, 5)) * torch.hann_window(
        t.numel(), dtype=torch.float64
    )
    return (0.3 * wav).float().unsqueeze(0)


def noise(seconds: float = 0.5, seed: int = 0, scale: float = 0.05) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return scale * torch.randn(1, int(seconds * SR), generator=g)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.mark.parametrize(
    "wav",
    [tone(), tone()[0].numpy(), tone()[None], tone(0.01), np.zeros(40, dtype=np.float32)],
    ids=["tensor(1,T)", "numpy(T,)", "tensor(1,1,T)", "short", "silent"],
)
def test_waveform_and_spectrogram_accept_tensors_numpy_and_short_clips(wav):
    fig = plots.plot_waveform(wav, SR, title="clean")
    assert isinstance(fig, Figure) and len(fig.axes) == 1
    n = np.asarray(plots.as_numpy(wav)).size
    line = fig.axes[0].lines[0]
    assert len(line.get_xdata()) == n
    assert line.get_xdata()[-1] == pytest.approx((n - 1) / SR)

    fig = plots.plot_spectrogram(wav, SR, title="clean")
    assert len(fig.axes) == 2  # spectrogram + colour bar
    fig = plots.plot_spectrogram(wav, SR, colorbar=False, freq_scale="linear")
    assert len(fig.axes) == 1

    fig = plots.plot_wave_and_spec(wav, SR, "clip")
    assert len(fig.axes) == 3  # waveform, spectrogram, shared colour bar


def test_draws_into_given_axes_and_returns_them():
    fig, (a, b) = plt.subplots(2)
    assert plots.plot_waveform(tone(), SR, ax=a) is a
    assert plots.plot_spectrogram(tone(), SR, ax=b) is b
    assert len(fig.axes) == 2  # no colour bar added by default when drawing into an ax


def test_spectrogram_scale_is_absolute():
    # A full-scale sine reads about 0 dB and a sine 20 dB quieter about -20 dB.
    t = np.arange(SR) / SR
    loud = np.sin(2 * np.pi * 1000 * t).astype(np.float32)
    assert plots.spectrogram_db(loud).max() == pytest.approx(0.0, abs=0.5)
    assert plots.spectrogram_db(0.1 * loud).max() == pytest.approx(-20.0, abs=0.5)


def test_long_clips_are_drawn_with_bounded_cost():
    long = torch.randn(1, 20 * SR, generator=torch.Generator().manual_seed(1)) * 0.1
    fig = plots.plot_waveform(long, SR)
    assert len(fig.axes[0].lines) == 0 and len(fig.axes[0].collections) == 1  # min/max envelope
    ax = plots.plot_spectrogram(long, SR, ax=plt.subplots()[1], max_frames=500)
    assert ax.collections[0].get_array().shape[-1] <= 501 * 257


def test_rejects_bad_input():
    with pytest.raises(ValueError, match="no samples"):
        plots.plot_waveform(np.zeros(0), SR)
    with pytest.raises(ValueError, match="NaN"):
        plots.plot_spectrogram(np.array([0.0, np.nan, 0.0]), SR)
    with pytest.raises(ValueError, match="freq_scale"):
        plots.plot_spectrogram(tone(), SR, freq_scale="mel")


@pytest.mark.parametrize("kind, axes", [("waveform", 3), ("spectrogram", 4), ("both", 7)])
def test_comparison_rows_share_axes_and_report_si_sdr(kind, axes):
    clean = tone()
    noisy = clean + noise()
    denoised = 0.8 * clean + noise(scale=0.005, seed=1)
    fig = plots.plot_comparison(
        {"noisy": noisy, "denoised": denoised.numpy(), "clean": clean}, SR, kind=kind
    )
    assert len(fig.axes) == axes
    titles = [ax.get_title(loc="left") for ax in fig.axes]
    # SI-SDR is scale-invariant, so the 0.8-scaled estimate scores far above the noisy one.
    scores = [float(t.split("SI-SDR ")[1].split(" dB")[0]) for t in titles if "SI-SDR" in t]
    assert len(scores) == 2 and scores[1] > scores[0] + 10
    assert "clean" in titles and not any("clean" in t and "SI-SDR" in t for t in titles)
    main = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]
    assert len({ax.get_xlim() for ax in main}) == 1
    if kind != "waveform":
        meshes = [ax.collections[0] for ax in main if ax.collections]
        assert {m.get_clim() for m in meshes} == {(-80.0, 0.0)}


def test_comparison_without_clean_has_plain_titles():
    fig = plots.plot_comparison({"a": tone(), "b": tone(0.3)}, SR, kind="waveform")
    assert [ax.get_title(loc="left") for ax in fig.axes] == ["a", "b"]
    with pytest.raises(ValueError):
        plots.plot_comparison({"a": tone()}, SR, kind="mel")


def test_snr_demo_reports_the_measured_snr():
    clean = tone()
    n = noise()
    n = n * torch.sqrt(clean.pow(2).sum() / n.pow(2).sum() / 10 ** (7.0 / 10))  # exactly 7 dB
    fig = plots.plot_snr_demo(clean, clean + n, SR)
    assert len(fig.axes) == 1 and len(fig.axes[0].lines) == 2
    assert "7.0 dB" in fig.axes[0].get_title(loc="left")


def test_noise_spectra_slopes():
    g = torch.Generator().manual_seed(0)
    white = torch.randn(4 * SR, generator=g)
    brown = torch.cumsum(torch.randn(4 * SR, generator=g), 0)
    fig = plots.plot_noise_spectra({"white": white, "brown": (brown - brown.mean()).numpy()}, SR)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    slopes = [float(lbl.split("slope ")[1].rstrip(")")) for lbl in labels]
    assert abs(slopes[0]) < 0.3 and -2.3 < slopes[1] < -1.6
    short = plots.plot_noise_spectra({"short": noise(0.002), "constant": np.ones(5)}, SR).axes[0]
    assert len(short.lines) == 1  # a constant has no spectrum above DC: skipped, not an error


def history_dict(n: int = 4) -> dict[str, list[float]]:
    return {
        "epoch": list(range(1, n + 1)),
        "train_loss": [1.0 / (e + 1) for e in range(n)],
        "val_loss": [1.2 / (e + 1) for e in range(n)],
        "val_si_sdr": [2.0 + e for e in range(n)],
    }


@pytest.mark.parametrize("form", ["dict", "frame", "history"])
def test_loss_curves_from_dict_frame_and_history(form):
    data = history_dict()
    if form == "frame":
        data = pd.DataFrame(data)
    elif form == "history":
        training = pytest.importorskip("audio_denoise_utils.training")
        hist = training.History()
        for e in range(4):
            hist.append(
                epoch=e + 1,
                train_loss=1.0 / (e + 1),
                val_loss=1.2 / (e + 1),
                val_si_sdr=2.0 + e,
                lr=1e-3,
                epoch_time=1.0,
                data_time_share=0.1,
                steps=10,
            )
        data = hist
    fig = plots.plot_loss_curves(data)
    assert len(fig.axes) == 2  # loss axis + twin SI-SDR axis
    ax, twin = fig.axes
    assert list(ax.lines[0].get_xdata()) == [1, 2, 3, 4]
    assert list(ax.lines[1].get_ydata()) == pytest.approx([1.2, 0.6, 0.4, 0.3])
    assert list(twin.lines[0].get_ydata()) == [2.0, 3.0, 4.0, 5.0]
    assert "epoch 4" in " ".join(t.get_text() for t in ax.get_legend().get_texts())


def test_loss_curves_without_validation_or_epochs():
    fig = plots.plot_loss_curves({"train_loss": [0.5, 0.4]})
    assert len(fig.axes) == 1 and list(fig.axes[0].lines[0].get_xdata()) == [1, 2]
    fig = plots.plot_loss_curves({"train_loss": []})
    assert len(fig.axes) == 1
    with pytest.raises(TypeError):
        plots.plot_loss_curves([1, 2, 3])


def test_live_loss_plot_updates_headless():
    live = plots.LiveLossPlot()
    hist = {k: v[:1] for k, v in history_dict().items()}
    first = live.update(hist)
    second = live(history_dict(), "extra", epoch=3)  # usable as a callback with extra arguments
    assert live.updates == 2 and live.figure is second and first is not second
    assert len(second.axes[0].lines[0].get_xdata()) == 4
    assert plt.get_fignums() == []  # live figures are not left open in pyplot
    assert plots.figure_png(second)[:8] == b"\x89PNG\r\n\x1a\n"


def results_table(per_clip: bool) -> pd.DataFrame:
    rows = []
    for method, gain in (("noisy", 0.0), ("gating", 3.0), ("model", 8.0)):
        for snr in (0, 5, 10):
            for clip in range(3 if per_clip else 1):
                value = gain + clip * (gain > 0) - 0.1 * snr * (gain > 0)
                rows.append(
                    {
                        "method": method,
                        "input_snr": snr,
                        "clip": clip,
                        "si_sdr": snr + value,
                        "si_sdr_i": value,
                    }
                )
    return pd.DataFrame(rows)


@pytest.mark.parametrize("per_clip", [False, True])
def test_metric_bars_group_methods_by_snr(per_clip):
    table = results_table(per_clip)
    fig = plots.plot_metric_bars(table)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0 dB", "5 dB", "10 dB"]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "gating",
        "model",
    ]  # noisy: 0 by definition
    heights = [p.get_height() for p in ax.patches]
    expected = (
        table[table.method != "noisy"]
        .groupby(["method", "input_snr"], sort=False)["si_sdr_i"]
        .mean()
    )
    assert heights == pytest.approx(list(expected))
    fig = plots.plot_metric_bars(table, metric="si_sdr")
    assert len(fig.axes[0].patches) == 9  # the noisy input is a bar for absolute metrics
    with pytest.raises(ValueError, match="pesq"):
        plots.plot_metric_bars(table, metric="pesq")


def test_dataset_stats_grid():
    rows = []
    for actor in (1, 2, 3, 4):
        for emotion in ("neutral", "happy", "sad"):
            for intensity in ("normal",) if emotion == "neutral" else ("normal", "strong"):
                for statement in (1, 2):
                    rows.append(
                        {
                            "actor": actor,
                            "gender": "male" if actor % 2 else "female",
                            "emotion": emotion,
                            "intensity": intensity,
                            "statement": statement,
                            "duration": 3.0 + 0.1 * actor,
                        }
                    )
    table = pd.DataFrame(rows)
    fig = plots.plot_dataset_stats(table)
    assert len(fig.axes) == 4
    emotions = fig.axes[0]
    assert [t.get_text() for t in emotions.get_xticklabels()] == ["neutral", "happy", "sad"]
    stacked = {}
    for p in emotions.patches:
        x = round(p.get_x() + p.get_width() / 2)
        stacked[x] = stacked.get(x, 0) + p.get_height()
    assert [stacked[i] for i in range(3)] == [8, 16, 16]
    assert sum(p.get_height() for p in fig.axes[1].patches) == len(table)
    # Without optional columns the panels explain what is missing instead of failing.
    fig = plots.plot_dataset_stats(table.drop(columns=["duration", "intensity"]))
    assert len(fig.axes) == 4 and "duration" in fig.axes[3].texts[0].get_text()


def test_save_figure_writes_atomically(tmp_path):
    fig = plots.plot_waveform(tone(), SR)
    out = plots.save_figure(fig, tmp_path / "sub" / "wave.png")
    assert out.read_bytes()[:4] == b"\x89PNG"
    svg = plots.save_figure(fig.axes[0], tmp_path / "wave.svg")
    assert b"<svg" in svg.read_bytes()[:500]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sub", "wave.svg"]


@pytest.mark.parametrize("kind", ["waveform", "spectrogram", "both"])
def test_comparison_shows_the_longest_clip_in_full(kind):
    long, short = tone(1.8), tone(1.0)
    fig = plots.plot_comparison({"long": long, "short": short}, SR, kind=kind)
    for ax in fig.axes[:2]:
        assert ax.get_xlim()[1] == pytest.approx(long.shape[-1] / SR, rel=1e-3)


def test_loss_curve_legend_names_each_curve_once():
    hist = {
        "epoch": [1, 2, 3],
        "train_loss": [3, 2, 1],
        "val_loss": [3.5, 2.5, 2],
        "val_si_sdr": [5, 9, 8],
    }
    fig = plots.plot_loss_curves(hist)
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels == ["train loss", "val loss", "val SI-SDR", "best (epoch 2)"]
