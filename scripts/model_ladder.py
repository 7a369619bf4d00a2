"""The model ladder of notebook 04, trained longer than the notebook can: one change per rung.

Five models, the same data, the same budget, the same evaluation:

1. dense + sigmoid: the original study's autoencoder (scaled to 16 kHz frames, see notebook 04)
2. dense + linear output: only the output layer changes
3. convolutional autoencoder: convolutions instead of dense layers (linear output, no skips)
4. U-Net: the encoder's outputs are added to the decoder's inputs (skip connections)
5. spectrogram mask network: the network predicts a mask on the noisy STFT

Everything else is held at the original study's recipe for every rung: MSE loss, white noise at
8 dB SNR with every sample then multiplied by a random 1 or 2, a constant learning rate, no
gradient clipping, no extra "voices", AdamW (the package's optimiser) with the same settings, the
same seeds, the same number of steps, and peak level normalisation. Every rung is scored on the
same test clips with the same fixed white noise at 8 dB: SI-SDRi, PESQ, STOI per clip.

    .venv/bin/python scripts/model_ladder.py            # writes benchmarks/results/ladder.{json,md}
    .venv/bin/python scripts/model_ladder.py --quick    # seconds, for a smoke test (prints only)
    # the committed results: trained on a GPU (--save), scored with PESQ on the CPU (--load)
    python scripts/model_ladder.py --device cuda --epochs 15 --steps 100 --batch-size 16 \
        --segment 2 --val-clips 8 --test-clips 20 --metrics si_sdr stoi --save runs/ladder
    .venv/bin/python scripts/model_ladder.py --load runs/ladder --epochs 15 --steps 100 \
        --batch-size 16 --segment 2 --val-clips 8 --test-clips 20

Besides the table, each rung's output on one test clip is written to ladder_audio/ next to it
(with the clean and noisy clip), so notebook 04 can play the longer runs too.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import torch

from audio_denoise_utils import DEFAULT_SR, enhance, metrics, models, noise, ravdess, training
from audio_denoise_utils.audio import save_audio
from audio_denoise_utils.engine.checkpoints import load_checkpoint, save_checkpoint

ROOT = Path(__file__).resolve().parents[1]
SNR_DB = 8.0  # the original study's SNR

RUNGS = models.LADDER  # (rung, change, model name, model kwargs)


def recipe(model: str, model_kwargs: dict, args: argparse.Namespace) -> training.TrainConfig:
    """Return the ladder's training config for one rung: the original study's recipe."""
    return training.TrainConfig(
        model=model,
        model_kwargs=model_kwargs,
        loss="mse",
        noise="original",  # the original study's: white at SNR_DB, then every sample x 1 or 2
        snr_db=(SNR_DB, SNR_DB),
        schedule="constant",
        grad_clip=None,
        speed_perturb=(),
        epochs=args.epochs,
        steps_per_epoch=args.steps,
        batch_size=args.batch_size,
        segment_seconds=args.segment,
        max_val_clips=args.val_clips,
        seed=0,
    )


def summary(values: list[float]) -> dict[str, float]:
    """Return mean, std and count of the finite values."""
    a = np.asarray([v for v in values if v is not None and np.isfinite(v)], dtype=float)
    return {
        "mean": float(a.mean()),
        "std": float(a.std(ddof=1)) if a.size > 1 else 0.0,
        "n": a.size,
    }


def rung_file(folder: str, name: str) -> Path:
    """Return the checkpoint file of rung ``name`` in ``folder``."""
    return Path(folder) / (name.replace(" ", "_").replace("+", "").replace("__", "_") + ".pt")


def noisy_version(clip: torch.Tensor, index: int) -> torch.Tensor:
    """Return ``clip`` (1, time) as (1, 1, time) with white noise at SNR_DB, seeded by its index."""
    return noise.add_noise(
        clip.unsqueeze(0), SNR_DB, generator=torch.Generator().manual_seed(index)
    )


def listening_pair(test: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Return (clean, noisy) (1, 1, time): the first test clip with white noise at SNR_DB, seed 0."""
    return test[0].unsqueeze(0), noisy_version(test[0], 0)


def run_rung(name, change, model_name, kwargs, args, train, val, test) -> dict:
    """Train one rung (or load it with --load) and score it on the CPU; return its record."""
    config = recipe(model_name, kwargs, args)
    wall, cpu = time.perf_counter(), time.process_time()
    if args.load:  # trained earlier (e.g. on a GPU with --save): score only
        model, ckpt = load_checkpoint(rung_file(args.load, name))
        history = training.History.from_dict(ckpt.get("history"))
        previous = (ckpt.get("extra") or {}).get("ladder", {})
        wall, cpu = previous.get("train_wall_s", 0.0), previous.get("train_cpu_s", 0.0)
        trained_on = previous.get("device_name", previous.get("device", "?"))
    else:
        model = training.make_model(config)
        history = training.fit(model, train, val, config, device=args.device, progress=False)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        trained_on = device_name(args.device)
        model = model.cpu()
        if args.save:
            Path(args.save).mkdir(parents=True, exist_ok=True)
            save_checkpoint(
                rung_file(args.save, name),
                model,
                history=history,
                train_config=config,
                extra={
                    "ladder": {
                        "train_wall_s": wall,
                        "train_cpu_s": cpu,
                        "device": args.device,
                        "device_name": trained_on,
                    }
                },
            )
    model.eval()
    table = metrics.evaluate(
        {name: enhance.as_method(model)},
        test,
        snrs=(SNR_DB,),
        metrics=tuple(args.metrics),
        progress=False,
        per_clip=True,
    )
    rows = table[table["method"] == name]
    if not args.quick:  # a listening row: every rung's output on the same noisy clip
        clean, noisy = listening_pair(test)
        folder = Path(args.out).parent / "ladder_audio"
        audio_file = rung_file(folder, name).with_suffix(".flac")
        with torch.no_grad():
            save_audio(audio_file, model(noisy)[0], DEFAULT_SR)
        save_audio(folder / "clean.flac", clean[0], DEFAULT_SR)
        save_audio(folder / "noisy.flac", noisy[0], DEFAULT_SR)
    with torch.no_grad():  # how loud is the output for the noisy clips, next to the clean speech?
        outs = [model(noisy_version(c, i)) for i, c in enumerate(test)]
    peak = max(float(o.abs().max()) for o in outs)
    out_rms = float(np.mean([float(o.pow(2).mean().sqrt()) for o in outs]))
    clean_rms = float(np.mean([float(c.pow(2).mean().sqrt()) for c in test]))
    steps = sum(history.steps)
    record = {
        "rung": name,
        "change": change,
        "model": model_name,
        "model_kwargs": training.TrainConfig.to_dict(config)["model_kwargs"],
        "parameters": models.count_parameters(model),
        "steps": steps,
        "trained_on": trained_on,
        # its output on the listening clip, relative to the results folder (clean/noisy beside it)
        "audio": None if args.quick else f"ladder_audio/{audio_file.name}",
        "train_wall_s": round(wall, 1),
        "train_cpu_s": round(cpu, 1),
        "s_per_step": round(wall / steps, 4),
        "train_loss": [round(v, 6) for v in history.train_loss],
        "val_si_sdr": [round(v, 3) for v in history.val_si_sdr],
        "output_peak": peak,
        "output_rms": out_rms,
        "clean_rms": clean_rms,
    }
    for metric in ("si_sdr_i", "pesq", "stoi"):
        if metric not in rows:
            continue
        record[metric] = summary(rows[metric].tolist())
        record[metric + "_per_clip"] = [round(float(v), 4) for v in rows[metric]]
    return record


def markdown(result: dict) -> str:
    """Return the ladder table as markdown (mean ± std over test clips)."""
    lines = [
        "# The model ladder (notebook 04)",
        "",
        result["how"],
        "",
        "| rung | change | parameters | SI-SDRi (dB) | PESQ | STOI | output peak | s/step |",
        "|:--|:--|--:|--:|--:|--:|--:|--:|",
    ]
    for r in result["rungs"]:
        cell = {
            m: f"{r[m]['mean']:.2f} ± {r[m]['std']:.2f}" if m in r else "-"
            for m in ("si_sdr_i", "pesq", "stoi")
        }
        lines.append(
            f"| {r['rung']} | {r['change']} | {r['parameters']:,} | {cell['si_sdr_i']} | "
            f"{cell['pesq']} | {cell['stoi']} | {r['output_peak']:.2g} | {r['s_per_step']:.3f} |"
        )
    lines += ["", f"Test: {result['test']}; clean RMS {result['rungs'][0]['clean_rms']:.3f}."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Train and score every rung; write the results files (unless --quick)."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--steps", type=int, default=25, help="optimiser steps per epoch")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--segment", type=float, default=1.0, help="seconds per training crop")
    p.add_argument("--val-clips", type=int, default=4)
    p.add_argument("--test-clips", type=int, default=8)
    p.add_argument("--quick", action="store_true", help="tiny budget, nothing written")
    p.add_argument("--device", default="cpu", help="where to train (scoring runs on the CPU)")
    p.add_argument("--metrics", nargs="+", default=["si_sdr", "pesq", "stoi"])
    p.add_argument("--save", metavar="DIR", help="also keep each rung's checkpoint in DIR")
    p.add_argument("--load", metavar="DIR", help="score the rungs saved in DIR, no training")
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "ladder"))
    args = p.parse_args(argv)
    if args.quick:
        args.epochs, args.steps, args.batch_size, args.val_clips, args.test_clips = 1, 2, 2, 2, 2
    data = ravdess.default_data_dir()
    _, train = ravdess.load_split(data, "train")
    _, val = ravdess.load_split(data, "val")
    _, test = ravdess.load_split(data, "test")
    test = test[:: max(1, len(test) // args.test_clips)][: args.test_clips]
    cpu0, wall0 = time.process_time(), time.perf_counter()
    rungs = []
    for name, change, model_name, kwargs in RUNGS:
        rungs.append(run_rung(name, change, model_name, kwargs, args, train, val, test))
        r = rungs[-1]
        print(
            f"{name:18s} SI-SDRi {r['si_sdr_i']['mean']:7.2f} ± {r['si_sdr_i']['std']:.2f} dB  "
            f"PESQ {r.get('pesq', {}).get('mean', float('nan')):.2f}  "
            f"STOI {r.get('stoi', {}).get('mean', float('nan')):.3f}  "
            f"peak {r['output_peak']:.2g}  {r['train_wall_s']:.0f} s",
            flush=True,
        )
        # Written after every rung: an interrupted run still leaves the rungs it finished.
        write(
            args, argv, rungs, test, data, time.process_time() - cpu0, time.perf_counter() - wall0
        )
    return 0


def device_name(device: str) -> str:
    """Return a readable name of the device that trains."""
    if str(device).startswith("cuda") and torch.cuda.is_available():
        return torch.cuda.get_device_name()
    return f"{platform.processor() or platform.machine()} CPU ({torch.get_num_threads()} threads)"


def where(args: argparse.Namespace, rungs: list[dict]) -> str:
    """Say where the rungs were trained and scored."""
    trained = sorted({r.get("trained_on", "?") for r in rungs})
    if args.load:
        return (
            f"rungs trained earlier with --save on {', '.join(trained)}, scored with "
            f"--load {args.load} on {device_name('cpu')}"
        )
    return f"trained on {', '.join(trained)}, scored on {device_name('cpu')}"


def write(args, argv, rungs, test, data, cpu, wall) -> None:
    """Print (--quick) or write the results files for the rungs done so far."""
    command = "python scripts/model_ladder.py " + " ".join(sys.argv[1:] if argv is None else argv)
    how = (
        f"Made by `{command.strip()}` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, "
        f"{where(args, rungs)}: {wall / 60:.1f} min wall, {cpu / 60:.1f} min CPU "
        f"({'scoring only' if args.load else 'training and scoring'}; training: "
        f"{sum(r['train_wall_s'] for r in rungs) / 60:.1f} min for all rungs). "
        f"{ravdess.describe_source(data)}. Every rung: "
        f"{args.epochs} epochs x {args.steps} steps, batch {args.batch_size}, "
        f"{args.segment:g} s crops, MSE loss, the original study's noise (white at "
        f"{SNR_DB:g} dB, every sample x 1 or 2), constant learning rate, AdamW, seed 0. "
        f"Rungs finished: {len(rungs)} of {len(RUNGS)}."
    )
    result = {
        "how": how,
        "command": command.strip(),
        "test": f"{len(test)} test-speaker clips, white noise at {SNR_DB:g} dB fixed per clip",
        "snr_db": SNR_DB,
        "sample_rate": DEFAULT_SR,
        "wall_s": round(wall, 1),
        "cpu_s": round(cpu, 1),
        "rungs": rungs,
    }
    if args.quick:
        print(markdown(result))
        return
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(result, indent=1) + "\n")
    out.with_suffix(".md").write_text(markdown(result))
    print(f"wrote {out.with_suffix('.json')} and {out.with_suffix('.md')}")


if __name__ == "__main__":
    raise SystemExit(main())
