"""Quality benchmark: every method, per noise type, at 0 / 5 / 10 dB, on speakers no model saw.

Test sets:
- ``real`` (default): real human speech from Debian packages (``scripts/fetch_real_speech.py``
  writes data/realspeech; wide-band files only by default, the 8 kHz telephone prompts are scored
  apart with ``--include-narrowband``),
- ``sample``: the held-out test actors of the bundled synthetic sample (or RAVDESS when given).

Noise types (``--noise``): white, pink, brown, hum, tones, machine (noise.py's generators),
babble (4 talkers drawn from the *other* speakers of the test set) and real (crops of the
benchmark's own noise recordings, data/realnoise/bench from ``scripts/fetch_real_noise.py``,
never trained on). The noise of clip i at SNR s is fixed by (seed, s, i): every method and every
run gets the same inputs.

Methods: the noisy input, the classical baselines (spectral gating, spectral subtraction, the
oracle ideal ratio mask), the learned peers DeepFilterNet3 and RNNoise when installed
(``benchmarks/peers.py``; skipped with a note otherwise) and every ``--checkpoint NAME=PATH``.
Metrics: SI-SDR(i), PESQ (wide-band), STOI, and the real-time factor on this machine. With
``--pitch`` also a breakdown by the clip's median f0 (below / from 165 Hz). Writes
``<tag>.md`` / ``.json`` / ``_per_clip.csv`` into ``--out`` (default benchmarks/results)::

    python scripts/fetch_real_speech.py; python scripts/fetch_real_noise.py   # once
    pip install -r benchmarks/requirements-peers.txt                          # optional peers
    python benchmarks/quality.py --checkpoint default=checkpoints/default.pt --pitch
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

import pandas as pd
import torch

from audio_denoise_utils.audio import load_audio
from audio_denoise_utils.baselines import BASELINES
from audio_denoise_utils.enhance import as_method
from audio_denoise_utils.metrics import evaluate, format_table
from audio_denoise_utils.ravdess import load_split, project_root
from audio_denoise_utils.training import load_checkpoint

ROOT = project_root()

#: Reference models trained by ``--train-references`` (same data and step budget as the default).
REFERENCES = {
    # The original recipe at CPU scale: dense autoencoder, sigmoid output, MSE, the original study's noise
    # (white at ~10 dB, then every sample x1 or x2), constant learning rate, no augmentation.
    "original_dense": dict(
        model="dense",
        model_kwargs=dict(
            frame_length=1024, hidden=512, bottleneck=64, dropout=0.2, output="sigmoid"
        ),
        loss="mse",
        noise=("original",),
        snr_db=(10.0, 10.0),
        schedule="constant",
        grad_clip=None,
        speed_perturb=(),
    ),
    # The convolutional autoencoder with the course's recipe (everything else default).
    "conv": dict(model="conv"),
}


def _same_recipe(saved: dict, wanted: dict) -> bool:
    """True when a saved train_config matches ``wanted`` (model_kwargs may hold more defaults)."""
    skip = {"out", "time_budget_s", "model_kwargs"}
    kwargs = saved.get("model_kwargs") or {}
    return all(saved.get(k) == v for k, v in wanted.items() if k not in skip) and all(
        kwargs.get(k) == v for k, v in wanted["model_kwargs"].items()
    )


def train_references(out_dir: Path, data_dir: str) -> dict[str, Path]:
    """Train the :data:`REFERENCES` missing from ``out_dir``; return {name: checkpoint path}.

    A checkpoint already in ``out_dir`` trained with the same recipe is reused (delete it to
    retrain).
    """
    from audio_denoise_utils.engine.runs import train_from_directory
    from audio_denoise_utils.training import TrainConfig

    paths = {}
    for name, overrides in REFERENCES.items():
        path, config = out_dir / f"{name}.pt", TrainConfig(**overrides)
        if path.exists():
            saved = torch.load(path, map_location="cpu", weights_only=True).get("train_config")
            if saved and _same_recipe(saved, config.to_dict()):
                print(f"reusing {path}", flush=True)
                paths[name] = path
                continue
        result = train_from_directory(data_dir, config, out=path, device="cpu")
        print(result, flush=True)
        paths[name] = result.checkpoint
    return paths


def real_speech_clips(folder: Path, include_narrowband: bool = False) -> list[torch.Tensor]:
    """Return the real-speech clips listed in ``folder/manifest.csv`` (wide-band unless asked)."""
    manifest = folder / "manifest.csv"
    if not manifest.exists():
        sys.exit(f"{manifest} missing: run `python scripts/fetch_real_speech.py` first")
    clips = []
    with open(manifest, newline="") as f:
        for row in csv.DictReader(f):
            narrow = int(float(row.get("orig_sample_rate") or 16000)) < 16000
            if narrow and not include_narrowband:
                continue
            clips.append(load_audio(folder / row["file"]))
    return clips


def spread(count: int, keep: int) -> list[int]:
    """Return ``keep`` indices evenly spaced over ``count`` items (a set ordered by source: not the
    first ``keep``)."""
    return [round(i * (count - 1) / max(keep - 1, 1)) for i in range(keep)]


NOISES = ("white", "pink", "babble", "hum", "real")
ALL_NOISES = ("white", "pink", "brown", "babble", "hum", "tones", "machine", "real")


def speakers_of(folder: Path, include_narrowband: bool = False) -> list[str]:
    """Return the speaker label of each clip :func:`real_speech_clips` returns, in order."""
    with open(folder / "manifest.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    return [
        f"{r['package']}:{r['speaker']}"
        for r in rows
        if include_narrowband or int(float(r.get("orig_sample_rate") or 16000)) >= 16000
    ]


def noise_function(kind: str, clips: list[torch.Tensor], speakers: list[str], noise_dir: Path):
    """Return evaluate()'s noise argument for ``kind``: a kind name or a callable.

    babble: 4 talkers drawn from the other *speakers* of the test set (never the clip's own);
    real: crops of the benchmark's noise recordings (data/realnoise/bench, never trained on).
    """
    from audio_denoise_utils.noise import add_noise

    if kind == "babble":
        by_key = {
            (c.shape[-1], round(float(c.double().sum()), 6)): s
            for c, s in zip(clips, speakers, strict=True)
        }

        def babble(clean: torch.Tensor, snr: float, g: torch.Generator) -> torch.Tensor:
            me = by_key.get((clean.shape[-1], round(float(clean.double().sum()), 6)))
            others = [c for c, s in zip(clips, speakers, strict=True) if s != me]
            return add_noise(clean, snr, "babble", generator=g, babble_clips=others)

        return babble
    if kind == "real":
        from audio_denoise_utils.training import load_noise_dir

        noises = load_noise_dir(noise_dir)

        def real(clean: torch.Tensor, snr: float, g: torch.Generator) -> torch.Tensor:
            return add_noise(clean, snr, "recorded", generator=g, noise_clips=noises)

        return real
    return kind


def median_f0(clip: torch.Tensor, sr: int = 16000) -> float:
    """Return the median f0 (Hz) of the voiced frames of ``clip`` (librosa.pyin), NaN if none."""
    import librosa
    import numpy as np

    f0, voiced, _ = librosa.pyin(clip.reshape(-1).numpy(), fmin=60, fmax=500, sr=sr)
    f0 = f0[voiced & ~np.isnan(f0)]
    return float(np.median(f0)) if f0.size else float("nan")


def summarise(per_clip: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Return mean metrics per ``keys`` + (method, input_snr), the rtf weighted by duration."""
    df = per_clip.copy()
    df["_proc"] = df["rtf"] * df["audio_s"]
    skip = {*keys, "method", "input_snr", "clip", "rtf", "_proc", "audio_s", "f0", "test_set"}
    values = [c for c in df.columns if c not in skip]
    out = df.groupby([*keys, "method", "input_snr"], sort=False).agg(
        **{c: (c, "mean") for c in values},
        n_clips=("clip", "count"),
        _proc=("_proc", "sum"),
        _dur=("audio_s", "sum"),
    )
    out["rtf"] = out["_proc"] / out["_dur"]
    return out.drop(columns=["_proc", "_dur"]).reset_index()


def si_sdr_matrix(summary: pd.DataFrame, metric: str = "si_sdr_i", digits: int = 1) -> str:
    """Return a markdown table: one row per method, one column per noise, values at each SNR."""
    noises = list(dict.fromkeys(summary["noise"]))
    methods = list(dict.fromkeys(summary["method"]))
    snrs = sorted(set(summary["input_snr"]))
    snr_txt = " / ".join(f"{s:g}" for s in snrs)
    lines = [
        f"| {metric} at {snr_txt} dB | " + " | ".join(noises) + " |",
        "|:--|" + "--:|" * len(noises),
    ]
    for m in methods:
        cells = []
        for n in noises:
            sub = summary[(summary["method"] == m) & (summary["noise"] == n)].set_index("input_snr")
            sign = "+" if metric.endswith("_i") else ""
            cells.append(
                " / ".join(
                    f"{sub.loc[s, metric]:{sign}.{digits}f}" if s in sub.index else "-"
                    for s in snrs
                )
            )
        lines.append(f"| {m} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and write its outputs; return 0."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--checkpoint", action="append", default=[], metavar="NAME=PATH")
    p.add_argument("--sets", nargs="+", default=["real"], choices=["real", "sample"])
    p.add_argument(
        "--data", default=str(ROOT / "data" / "sample"), help="RAVDESS-layout folder for 'sample'"
    )
    p.add_argument("--real", default=str(ROOT / "data" / "realspeech"))
    p.add_argument(
        "--noise-dir",
        default=str(ROOT / "data" / "realnoise" / "bench"),
        help="benchmark noise recordings for the noise 'real' (scripts/fetch_real_noise.py)",
    )
    p.add_argument("--noise", nargs="+", default=list(NOISES), choices=ALL_NOISES)
    p.add_argument("--include-narrowband", action="store_true")
    p.add_argument("--snr", type=float, nargs="+", default=[0.0, 5.0, 10.0])
    p.add_argument("--metrics", nargs="+", default=["si_sdr", "pesq", "stoi"])
    p.add_argument("--max-clips", type=int, default=None, help="evenly spaced subset of the clips")
    p.add_argument(
        "--report", nargs="+", metavar="CSV", help="only merge these *_per_clip.csv into one report"
    )
    p.add_argument(
        "--baselines",
        nargs="*",
        default=None,
        help="classical baselines to run (default: all of baselines.BASELINES)",
    )
    p.add_argument(
        "--no-baselines", action="store_true", help="skip the classical baselines and the oracle"
    )
    p.add_argument("--no-peers", action="store_true", help="skip DeepFilterNet3 and RNNoise")
    p.add_argument(
        "--pitch", action="store_true", help="also break results down by median f0 (165 Hz)"
    )
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    p.add_argument("--tag", default="quality", help="output file stem")
    p.add_argument(
        "--train-references",
        action="store_true",
        help="first train the original-recipe dense model and the conv autoencoder into runs/bench/ and add them",
    )
    args = p.parse_args(argv)
    torch.set_num_threads(2)

    wanted = BASELINES if args.baselines is None else args.baselines
    methods = {} if args.no_baselines else {n: BASELINES[n] for n in wanted}
    notes = []
    if not args.no_peers:
        from peers import available_peers

        peers, notes = available_peers()
        methods.update(peers)
        for note in notes:
            print(note, flush=True)
    if args.train_references:
        refs = train_references(ROOT / "runs" / "bench", args.data)
        args.checkpoint += [f"{name}={path}" for name, path in refs.items()]
    for spec in args.checkpoint:
        name, _, path = spec.partition("=")
        model, _ = load_checkpoint(path)
        methods[name] = as_method(model.eval())

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    command = "python benchmarks/quality.py " + " ".join(argv if argv is not None else sys.argv[1:])
    if args.report:  # merge earlier runs' per-clip tables into one report, no evaluation
        per_clip = pd.concat([pd.read_csv(f) for f in args.report], ignore_index=True)
        write_report(per_clip, out, args.tag, [command], notes)
        return 0
    per_clip_tables = []
    for test_set in args.sets:
        if test_set == "real":
            clips = real_speech_clips(Path(args.real), args.include_narrowband)
            speakers = speakers_of(Path(args.real), args.include_narrowband)
        else:
            clips = load_split(args.data, "test")[1]
            speakers = [f"clip{i}" for i in range(len(clips))]
        if args.max_clips and args.max_clips < len(clips):
            keep = spread(len(clips), args.max_clips)
            clips, speakers = [clips[i] for i in keep], [speakers[i] for i in keep]
        durations = [c.shape[-1] / 16000 for c in clips]
        f0 = [median_f0(c) for c in clips] if args.pitch else [float("nan")] * len(clips)
        print(f"{test_set}: {len(clips)} clips, {sum(durations):.0f} s", flush=True)
        for kind in args.noise:
            noise = noise_function(kind, clips, speakers, Path(args.noise_dir))
            table = evaluate(
                methods,
                clips,
                snrs=tuple(args.snr),
                noise=noise,
                metrics=tuple(args.metrics),
                progress=False,
                per_clip=True,
            )
            table.insert(0, "noise", kind)
            table.insert(0, "test_set", test_set)
            table["audio_s"] = table["clip"].map(dict(enumerate(durations)))
            table["f0"] = table["clip"].map(dict(enumerate(f0)))
            per_clip_tables.append(table)
            pd.concat(per_clip_tables).to_csv(out / f"{args.tag}_per_clip.csv", index=False)
            summary = summarise(table, ["test_set", "noise"])
            print(
                f"\n### {test_set}, {kind} noise\n\n{format_table(summary.drop(columns=['test_set', 'noise']))}\n",
                flush=True,
            )
    write_report(pd.concat(per_clip_tables, ignore_index=True), out, args.tag, [command], notes)
    return 0


def write_report(
    per_clip: pd.DataFrame, out: Path, tag: str, commands: list[str], notes: list[str]
) -> None:
    """Write ``tag``.md/.json/_si_sdr_i.png from a per-clip table (columns as main() makes them)."""
    full = summarise(per_clip, ["test_set", "noise"])
    (out / f"{tag}.json").write_text(json.dumps(full.to_dict(orient="records"), indent=1))
    metrics_there = [m for m in ("si_sdr", "pesq", "stoi") if m in per_clip.columns]
    md = [f"Command: `{c}`\n" for c in commands]
    md += [f"- {n}" for n in notes]
    for test_set in dict.fromkeys(full["test_set"]):
        sub = full[full["test_set"] == test_set]
        n_clips = per_clip[per_clip["test_set"] == test_set]["clip"].nunique()
        md.append(
            f"\n## {test_set} ({n_clips} clips): SI-SDRi (dB) per noise type\n\n{si_sdr_matrix(sub)}\n"
        )
        if "pesq" in metrics_there:
            md.append(
                f"\n## {test_set}: PESQ (wb) per noise type\n\n{si_sdr_matrix(sub, 'pesq', 2)}\n"
            )
        if "stoi" in metrics_there:
            md.append(f"\n## {test_set}: STOI per noise type\n\n{si_sdr_matrix(sub, 'stoi', 3)}\n")
        md.append(
            f"\n## {test_set}: real-time factor (seconds per second of audio, this CPU)\n\n{si_sdr_matrix(sub, 'rtf', 3)}\n"
        )
    df = per_clip[per_clip["f0"].notna()] if "f0" in per_clip.columns else per_clip.iloc[0:0]
    if len(df):
        df = df.assign(pitch=["f0 < 165 Hz" if v < 165 else "f0 >= 165 Hz" for v in df["f0"]])
        clip_f0 = df.drop_duplicates(["test_set", "clip"])["f0"]
        lo, hi = int((clip_f0 < 165).sum()), int((clip_f0 >= 165).sum())
        md.append(
            f"\n## Pitch breakdown (median f0 by pyin: {lo} clips below 165 Hz, {hi} at or above), "
            "mean over clips and SNRs\n"
        )
        cols = [c for c in ("si_sdr_i", "pesq", "stoi") if c in df.columns]
        md += ["| noise | method | " + " | ".join(f"{c} <165 / >=165" for c in cols) + " |"]
        md += ["|:--|:--|" + "--:|" * len(cols)]
        grouped = df.groupby(["noise", "method", "pitch"], sort=False)[cols].mean()
        for (kind, method), g in grouped.groupby(level=[0, 1], sort=False):
            g = g.droplevel([0, 1])
            cells = [
                " / ".join(
                    f"{g.loc[p, c]:.2f}" if p in g.index else "-"
                    for p in ("f0 < 165 Hz", "f0 >= 165 Hz")
                )
                for c in cols
            ]
            md.append(f"| {kind} | {method} | " + " | ".join(cells) + " |")
    for (test_set, kind), t in full.groupby(["test_set", "noise"], sort=False):
        md.append(
            f"\n### {test_set}, {kind} noise\n\n{format_table(t.drop(columns=['test_set', 'noise']))}\n"
        )
    (out / f"{tag}.md").write_text("\n".join(md) + "\n")
    write_figure(per_clip, out / f"{tag}_si_sdr_i.png")


def write_figure(per_clip: pd.DataFrame, path: Path) -> None:
    """Save SI-SDRi bars (mean, error bar: std over clips) of the first test set's first noise."""
    import matplotlib

    matplotlib.use("Agg")
    from audio_denoise_utils.plots import plot_metric_bars

    first = per_clip[
        (per_clip["test_set"] == per_clip["test_set"].iloc[0])
        & (per_clip["noise"] == per_clip["noise"].iloc[0])
    ]
    fig = plot_metric_bars(first, "si_sdr_i")
    ax = fig.axes[0]
    ax.set_title(
        f"SI-SDR improvement (dB), {first['test_set'].iloc[0]} speech, {first['noise'].iloc[0]} "
        f"noise, {first['clip'].nunique()} clips; error bars: std over clips",
        loc="left",
    )
    if first["si_sdr_i"].min() < -20:  # a collapsed model would flatten every other bar
        ax.set_yscale("symlog", linthresh=10)
        ax.set_ylabel("SI-SDR improvement (dB; linear within ±10, log beyond)")
    fig.savefig(path, dpi=110, bbox_inches="tight")


if __name__ == "__main__":
    raise SystemExit(main())
