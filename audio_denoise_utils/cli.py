"""``audio-denoise``: download, corrupt, train, denoise and evaluate from the command line.

A thin layer over the package: every subcommand parses arguments and calls one or two functions.
Errors the user can act on (:class:`AudioDenoiseError`) become one ``error: ...`` line on stderr and
a non-zero exit, never a traceback.

CLI glue: not course material.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from .errors import AudioDenoiseError

EXIT_ERROR = 1
EXIT_USAGE = 2


def _err(msg: str) -> None:
    print(f"error: {msg}", file=sys.stderr)


def cmd_download(args: argparse.Namespace) -> int:
    """Download and extract RAVDESS (a quick no-op when already complete)."""
    from . import ravdess

    kwargs = {"dest": args.dest, "progress": not args.quiet}
    if args.url is not None:
        # A custom URL has no known size or checksum unless one is given.
        kwargs.update(url=args.url, md5=args.md5, size=None)
    elif args.md5 is not None:
        kwargs["md5"] = args.md5
    dest = ravdess.download_ravdess(**kwargs)
    print(f"RAVDESS ready in {dest}")
    return 0


def cmd_corrupt(args: argparse.Namespace) -> int:
    """Write a noisy copy of one file at an exact SNR."""
    from .noise import corrupt_file

    realised = corrupt_file(
        args.input,
        args.output,
        snr_db=args.snr,
        kind=args.noise,
        multiplicative=args.multiplicative,
        seed=args.seed,
    )
    print(f"wrote {args.output} (SNR {realised:.2f} dB against {args.input})")
    return 0


def _train_config(args: argparse.Namespace):
    from .training import TrainConfig

    cfg = TrainConfig()
    overrides = {
        "model": args.model,
        "epochs": args.epochs,
        "seed": args.seed,
        "time_budget_s": args.time_budget or None,
        "batch_size": args.batch_size,
        "steps_per_epoch": args.steps_per_epoch,
    }
    for key, value in overrides.items():
        if value is not None:
            setattr(cfg, key, value)
    return cfg


def cmd_train(args: argparse.Namespace) -> int:
    """Train a model (defaults: the course's best recipe) and write its checkpoint."""
    from .models import MODELS
    from .training import is_main_process, train_from_directory

    if args.model is not None and args.model not in MODELS:  # before decoding any audio
        raise AudioDenoiseError(
            f"unknown model {args.model!r}; choose one of {', '.join(sorted(MODELS))}"
        )
    result = train_from_directory(
        data_dir=args.data,
        config=_train_config(args),
        out=args.out,
        device=args.device,
        progress=not args.quiet,
    )
    if is_main_process():  # under torchrun, one summary line rather than one per process
        print(result)
    return 0


def _output_paths(inputs: Sequence[Path], output: Path) -> list[Path]:
    """Map inputs to outputs: one input and OUTPUT ending in .wav is a file, else a directory."""
    if len(inputs) == 1 and output.suffix.lower() == ".wav" and not output.is_dir():
        return [output]
    if output.suffix.lower() == ".wav" and not output.is_dir():
        raise AudioDenoiseError(
            f"{output}: several inputs need an output directory, not a .wav file"
        )
    if output.exists() and not output.is_dir():
        raise AudioDenoiseError(f"{output}: exists and is not a directory")
    names = [p.name for p in inputs]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise AudioDenoiseError(
            f"several inputs share the name {dupes[0]!r}; denoise them separately"
        )
    return [output / p.name for p in inputs]


def cmd_denoise(args: argparse.Namespace) -> int:
    """Denoise files with a checkpoint; bad files are reported and skipped."""
    from .enhance import denoise_file
    from .training import load_checkpoint, pick_device

    inputs = [Path(p) for p in args.inputs]
    outputs = _output_paths(inputs, Path(args.output))
    model, _ = load_checkpoint(args.checkpoint, map_location=pick_device(args.device, quiet=True))
    model.eval()
    failures = 0
    for src, dst in zip(inputs, outputs, strict=True):
        try:
            denoise_file(model, src, dst)
        except AudioDenoiseError as exc:
            _err(str(exc))
            failures += 1
            continue
        except OSError as exc:  # e.g. an output folder that cannot be written
            _err(f"{dst}: cannot write ({exc.strerror or exc})")
            failures += 1
            continue
        if not args.quiet:
            print(f"{src} -> {dst}")
    return EXIT_ERROR if failures else 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    """Evaluate a checkpoint against the baselines on the held-out speakers."""
    from .metrics import evaluate_checkpoint, format_table

    table = evaluate_checkpoint(
        args.checkpoint,
        data_dir=args.data,
        snrs=tuple(args.snr),
        noise=args.noise,
        max_clips=args.max_clips,
        include_baselines=not args.no_baselines,
        progress=not args.quiet and not args.json,
    )
    if args.json:
        print(json.dumps(table.to_dict(orient="records"), indent=2))
    else:
        print(format_table(table))
    return 0


def build_parser() -> argparse.ArgumentParser:
    """Return the ``audio-denoise`` argument parser."""
    p = argparse.ArgumentParser(prog="audio-denoise", description=__doc__.splitlines()[0])
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars or chatter")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    d = sub.add_parser("download", help="download and extract RAVDESS speech (about 200 MB)")
    d.add_argument(
        "--dest", default="data/ravdess", help="destination folder (default: %(default)s)"
    )
    d.add_argument("--url", default=None, help="archive URL (default: the Zenodo RAVDESS archive)")
    d.add_argument("--md5", default=None, help="expected md5 of the archive")
    d.set_defaults(func=cmd_download)

    c = sub.add_parser("corrupt", help="add noise to a file at an exact SNR")
    c.add_argument("input")
    c.add_argument("-o", "--output", required=True)
    c.add_argument("--snr", type=float, required=True, help="signal-to-noise ratio in dB")
    c.add_argument("--noise", choices=["white", "pink", "brown"], default="white")
    c.add_argument(
        "--multiplicative",
        action="store_true",
        help="also apply random gain + slow amplitude modulation",
    )
    c.add_argument("--seed", type=int, default=0)
    c.set_defaults(func=cmd_corrupt)

    t = sub.add_parser("train", help="train a denoiser (defaults: the course's best recipe)")
    t.add_argument(
        "--data",
        default=None,
        help="data folder (default: data/ravdess if present, else data/sample)",
    )
    t.add_argument("--model", default=None, help="model name (default: the course's best)")
    t.add_argument("--epochs", type=int, default=None)
    t.add_argument("--steps-per-epoch", type=int, default=None)
    t.add_argument("--batch-size", type=int, default=None)
    t.add_argument(
        "--time-budget",
        type=float,
        default=570.0,
        help="stop cleanly (and keep the best checkpoint) after this many seconds, so a CPU run "
        "stays under 10 minutes; 0 for no limit (default: %(default)s)",
    )
    t.add_argument(
        "--out", default="checkpoints/model.pt", help="checkpoint to write (default: %(default)s)"
    )
    t.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda", "mps"])
    t.add_argument("--seed", type=int, default=None)
    t.set_defaults(func=cmd_train)

    n = sub.add_parser("denoise", help="denoise audio files with a trained checkpoint")
    n.add_argument("--checkpoint", required=True)
    n.add_argument("inputs", nargs="+", metavar="INPUT")
    n.add_argument("-o", "--output", required=True, help="a .wav file (one input) or a directory")
    n.add_argument("--device", default="cpu", choices=["auto", "cpu", "cuda", "mps"])
    n.set_defaults(func=cmd_denoise)

    e = sub.add_parser("evaluate", help="score a checkpoint against classical baselines")
    e.add_argument("--checkpoint", required=True)
    e.add_argument("--data", default=None, help="data folder (default as for train)")
    e.add_argument("--snr", type=float, nargs="+", default=[0.0, 5.0, 10.0])
    e.add_argument("--noise", choices=["white", "pink", "brown"], default="white")
    e.add_argument(
        "--max-clips", type=int, default=None, help="evaluate at most this many test clips"
    )
    e.add_argument("--no-baselines", action="store_true")
    e.add_argument("--json", action="store_true", help="print the table as JSON")
    e.set_defaults(func=cmd_evaluate)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except AudioDenoiseError as exc:
        _err(str(exc))
        return EXIT_ERROR
    except KeyboardInterrupt:
        _err("interrupted")
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
