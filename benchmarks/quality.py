"""Quality benchmark: every method at 0 / 5 / 10 dB white noise on speakers the models never saw.

Test sets:
- ``real``: real human speech from Debian packages (``scripts/fetch_real_speech.py`` writes
  data/realspeech; wide-band files only by default, the 8 kHz telephone prompts are scored apart
  with ``--include-narrowband``),
- ``sample``: the held-out test actors of the bundled synthetic sample (or RAVDESS when given).

Methods: the noisy input, spectral gating, spectral subtraction, the oracle ideal ratio mask and
every checkpoint passed with ``--checkpoint NAME=PATH``. Writes a markdown table, JSON and a bar
chart into ``--out`` (default benchmarks/results). Example (what the README quotes)::

    python scripts/fetch_real_speech.py          # once: real human speech into data/realspeech
    python benchmarks/quality.py --checkpoint default=checkpoints/default.pt --train-references
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
    from audio_denoise_utils.training import TrainConfig, train_from_directory

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


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and write its outputs; return 0."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--checkpoint", action="append", default=[], metavar="NAME=PATH")
    p.add_argument("--sets", nargs="+", default=["real", "sample"], choices=["real", "sample"])
    p.add_argument(
        "--data", default=str(ROOT / "data" / "sample"), help="RAVDESS-layout folder for 'sample'"
    )
    p.add_argument("--real", default=str(ROOT / "data" / "realspeech"))
    p.add_argument("--include-narrowband", action="store_true")
    p.add_argument("--snr", type=float, nargs="+", default=[0.0, 5.0, 10.0])
    p.add_argument("--metrics", nargs="+", default=["si_sdr", "pesq", "stoi"])
    p.add_argument("--max-clips", type=int, default=None)
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    p.add_argument("--tag", default="quality", help="output file stem")
    p.add_argument(
        "--train-references",
        action="store_true",
        help="first train the original-recipe dense model and the conv autoencoder into runs/bench/ and add them",
    )
    args = p.parse_args(argv)
    torch.set_num_threads(2)

    methods = {name: fn for name, fn in BASELINES.items()}
    if args.train_references:
        refs = train_references(ROOT / "runs" / "bench", args.data)
        args.checkpoint += [f"{name}={path}" for name, path in refs.items()]
    for spec in args.checkpoint:
        name, _, path = spec.partition("=")
        model, _ = load_checkpoint(path)
        methods[name] = as_method(model.eval())

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    tables = []
    for test_set in args.sets:
        if test_set == "real":
            clips = real_speech_clips(Path(args.real), args.include_narrowband)
        else:
            clips = load_split(args.data, "test", limit=args.max_clips)[1]
        clips = clips[: args.max_clips] if args.max_clips else clips
        print(
            f"{test_set}: {len(clips)} clips, {sum(c.shape[-1] for c in clips) / 16000:.0f} s",
            flush=True,
        )
        table = evaluate(
            methods, clips, snrs=tuple(args.snr), metrics=tuple(args.metrics), progress=False
        )
        table.insert(0, "test_set", test_set)
        tables.append(table)
        print(f"\n### {test_set}\n\n{format_table(table)}\n", flush=True)
    full = pd.concat(tables, ignore_index=True)
    (out / f"{args.tag}.json").write_text(json.dumps(full.to_dict(orient="records"), indent=1))
    md = [f"### {t['test_set'].iloc[0]}\n\n{format_table(t)}\n" for t in tables]
    (out / f"{args.tag}.md").write_text("\n".join(md))
    try:
        from audio_denoise_utils.plots import plot_metric_bars, save_figure

        first = tables[0]
        save_figure(plot_metric_bars(first, metric="si_sdr_i"), out / f"{args.tag}_si_sdr_i.png")
    except Exception as exc:  # a figure is a nice-to-have; the numbers are the result
        print(f"figure skipped: {exc}", file=sys.stderr)
    print(f"wrote {out / args.tag}.md/.json")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
