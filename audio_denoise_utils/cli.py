"""``audio-denoise``: download, corrupt, train, denoise and evaluate from the command line.

A thin layer over the package: every subcommand parses arguments and calls one or two functions.
Errors the user can act on (:class:`AudioDenoiseError`) become one ``error: ...`` line on stderr and
a non-zero exit, never a traceback.

CLI glue: not course material.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path

from .engine.paths import check_writable_dir, check_writable_file, refuse_input_overwrite
from .engine.signals import Terminated, terminate_gracefully
from .errors import AudioDenoiseError, AudioLevelWarning

# noise.NOISE_KINDS / SYNTHETIC_KINDS, losses.LOSSES and engine.trainer.KEEP_CHOICES and MAX_LR,
# spelled out so `--help` need not import torch (a test keeps them equal).
SYNTHETIC_KINDS = ("white", "pink", "brown", "hum", "tones", "machine")
TRAIN_NOISE_KINDS = (*SYNTHETIC_KINDS, "babble", "recorded")
TRAIN_LOSSES = ("mse", "si_sdr", "si_sdr+stft")
KEEP_CHOICES = ("best", "last")
MAX_LR = 1.0

EXIT_ERROR = 1
EXIT_USAGE = 2


def _err(msg: str) -> None:
    print(f"error: {msg}", file=sys.stderr)


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Print the package's level notes as one ``note:`` line, other warnings as one ``warning:`` line.

    Python's own format adds the file and source line that raised it, which mean nothing to a user
    of the command; AUDIO_DENOISE_DEBUG=1 brings them back.
    """
    if issubclass(category, AudioLevelWarning):
        print(f"note: {message}", file=sys.stderr)
    elif os.environ.get("AUDIO_DENOISE_DEBUG"):
        _default_showwarning(message, category, filename, lineno, file, line)
    else:
        text = " ".join(str(message).split())  # one line, whatever the library wrote
        print(f"warning: {text}", file=sys.stderr)


_default_showwarning = warnings.showwarning


def cmd_download(args: argparse.Namespace) -> int:
    """Download and extract RAVDESS (a quick no-op when already complete)."""
    import warnings

    from . import ravdess

    kwargs = {"dest": args.dest, "progress": not args.quiet}
    if args.url is not None:
        # A custom URL has no known size or checksum unless one is given.
        kwargs.update(url=args.url, md5=args.md5, size=None)
    elif args.md5 is not None:
        kwargs["md5"] = args.md5
    with warnings.catch_warnings():  # said below as one line, once something was written
        warnings.simplefilter("ignore", ravdess.UnreadLocationWarning)
        dest = ravdess.download_ravdess(**kwargs)
    print(f"RAVDESS ready in {dest}")
    note = ravdess.unread_location_note(dest)
    if note:
        print(f"warning: {note}", file=sys.stderr)
    return 0


def cmd_corrupt(args: argparse.Namespace) -> int:
    """Write a noisy copy of one file at an exact SNR."""
    from .engine.corrupt_file import corrupt_file

    refuse_input_overwrite([args.output], [args.input])
    check_writable_file(args.output)
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


def _train_overrides(args: argparse.Namespace) -> dict:
    """The TrainConfig fields the user set on the command line."""
    overrides = {
        "model": args.model,
        "epochs": args.epochs,
        "seed": args.seed,
        "batch_size": args.batch_size,
        "steps_per_epoch": args.steps_per_epoch,
        "noise": tuple(args.noise) if args.noise else None,
        "noise_dir": args.noise_dir,
        "extra_speech_dir": args.extra_speech,
        "loss": args.loss,
        "lr": args.lr,
        "init_from": args.init_from,
        "keep": args.keep,
    }
    return {key: value for key, value in overrides.items() if value is not None}


def run_folder(out: Path) -> Path:
    """Return the folder beside ``out`` that keeps last.pt/best.pt for ``--resume``."""
    return out.parent / f"{out.stem}.run"


def _refuse_writing_into_inputs(args: argparse.Namespace, out: Path, run_dir: Path) -> None:
    """Raise OutputError if the checkpoint or its run folder would land inside training inputs."""
    from .errors import OutputError
    from .ravdess import default_data_dir

    folders = [Path(args.data) if args.data is not None else default_data_dir()]
    for extra in (getattr(args, "noise_dir", None), getattr(args, "extra_speech", None)):
        if extra:
            folders.append(Path(extra))
    for folder in folders:
        root = folder.resolve()
        for path, what in ((out, "checkpoint"), (run_dir, "run folder")):
            if path.resolve() == root or path.resolve().is_relative_to(root):
                raise OutputError(
                    f"{path}: the {what} would be written inside the training data {folder}; "
                    "choose an --out outside it"
                )


def _file_state(path: Path) -> tuple[int, int, int] | None:
    """Return (inode, size, mtime in ns) of an existing file, else None: was it (re)written?"""
    if not path.is_file():
        return None
    st = path.stat()
    return st.st_ino, st.st_size, st.st_mtime_ns


def _check_init_from(args: argparse.Namespace, out: Path, run_dir: Path) -> None:
    """Refuse, before any audio is decoded, an --init-from that this run would overwrite or cannot
    use; without --model, the checkpoint's model is the one trained."""
    from .engine.checkpoints import load_checkpoint

    start = Path(args.init_from).resolve()
    if start == out.resolve() or start.is_relative_to(run_dir.resolve()):
        raise AudioDenoiseError(
            f"{args.init_from}: this run writes there (--out {out} and its run folder {run_dir}); "
            "copy the checkpoint elsewhere first, or choose another --out"
        )
    if args.resume:  # the weights come from last.pt; a different --init-from is refused there
        return
    model, _ = load_checkpoint(args.init_from)
    if args.model is not None and args.model != model.model_name:
        raise AudioDenoiseError(
            f"{args.init_from}: holds a {model.model_name!r} model, not --model {args.model!r}; "
            "drop --model (the checkpoint sets the model)"
        )
    args.model = model.model_name


def _check_noise_dir_use(args: argparse.Namespace) -> None:
    """Refuse, before any audio is decoded, a --noise-dir that is missing or would go unread."""
    from .audio import check_noise_dir

    kinds = args.noise or ()
    if args.noise_dir is not None and not args.resume and "recorded" not in kinds:
        raise AudioDenoiseError(
            f"{args.noise_dir}: --noise-dir is read only for the noise kind 'recorded'; add it to "
            "--noise (the default mix plus it: --noise white pink brown hum tones machine babble "
            "recorded)"
        )
    if "recorded" in kinds and args.noise_dir is None:
        raise AudioDenoiseError(
            "--noise ... recorded needs --noise-dir DIR, a folder of noise recordings "
            "(run `python scripts/fetch_real_noise.py` for data/realnoise/train)"
        )
    if args.noise_dir is not None:
        check_noise_dir(args.noise_dir)


def cmd_train(args: argparse.Namespace) -> int:
    """Train a model (defaults: the course's best recipe) and write its checkpoint.

    An existing ``--out`` is never replaced silently: pass ``--resume`` to continue the run that
    wrote it (its run folder keeps last.pt), or ``--overwrite`` to start afresh (the old file stays
    until the new run has a better-than-nothing checkpoint to put in its place).
    """
    from .engine.runs import resume_config, train_from_directory
    from .models import MODELS
    from .training import TrainConfig, is_main_process

    if args.model is not None and args.model not in MODELS:  # before decoding any audio
        raise AudioDenoiseError(
            f"unknown model {args.model!r}; choose one of {', '.join(sorted(MODELS))}"
        )
    if args.resume and args.overwrite:
        raise AudioDenoiseError("--resume and --overwrite exclude each other; choose one")
    if args.extra_speech is not None:  # before any audio is decoded
        from .audio import check_speech_dir

        check_speech_dir(args.extra_speech)
    _check_noise_dir_use(args)
    from . import paths

    out = Path(args.out) if args.out is not None else paths.default_checkpoint_out()
    run_dir = run_folder(out)
    if args.init_from is not None:
        _check_init_from(args, out, run_dir)
    last = run_dir / "last.pt"
    args.interrupt_hint = f"run the same command with --resume to continue from {last}"
    # Every output is checked before any audio is decoded or any step is trained.
    _refuse_writing_into_inputs(args, out, run_dir)
    check_writable_file(out, "checkpoint")
    check_writable_dir(run_dir, "run folder")
    overrides = _train_overrides(args)
    if args.resume:
        if not last.is_file():
            raise AudioDenoiseError(
                f"{last}: nothing to resume (no run folder for {out}); train without --resume"
            )
        config, done = resume_config(last, overrides)
        if done >= config.epochs:
            print(
                f"{last}: the run already finished its {config.epochs} epochs; "
                f"{'last' if config.keep == 'last' else 'best'}: {out}"
            )
            return 0
    else:
        if out.exists() and not args.overwrite:
            raise AudioDenoiseError(
                f"{out}: already exists; add --resume to continue its run, --overwrite to "
                "train a new model in its place, or choose another --out"
            )
        config = TrainConfig(**overrides)
    config.time_budget_s = args.time_budget or None
    before = _file_state(out)
    result = train_from_directory(
        data_dir=args.data,
        config=config,
        out=out,
        device=args.device,
        progress=not args.quiet,
        run_dir=run_dir,
        resume_from=last if args.resume else None,
    )
    after = _file_state(out)
    if result.history.best_epoch is None and (after is None or after == before):
        raise AudioDenoiseError(
            f"{out}: not written: no epoch gave a finite validation score (the training diverged: "
            "try a smaller --lr)" + ("; the file there is unchanged" if before else "")
        )
    if is_main_process():  # under torchrun, one summary line rather than one per process
        # e.g. a resumed run with no better epoch leaves --out as it was
        result.unchanged = before is not None and after == before
        print(result)
    return 0


def _output_paths(inputs: Sequence[Path], output: Path) -> list[Path]:
    """Map inputs to outputs: one input and OUTPUT with an audio extension is a file, else a folder."""
    from .audio import is_audio_name

    looks_like_file = is_audio_name(output) and not output.is_dir()
    if len(inputs) == 1 and looks_like_file:
        return [output]
    if looks_like_file:
        raise AudioDenoiseError(
            f"{output}: several inputs need an output directory, not a {output.suffix} file"
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
    """Denoise files with a checkpoint; bad files are reported and skipped, the rest processed."""
    from .enhance import check_strength, denoise_file
    from .training import load_checkpoint, pick_device

    check_strength(args.strength)  # a bad value is one line before any work, not one per file
    inputs = [Path(p) for p in args.inputs]
    output = Path(args.output)
    outputs = _output_paths(inputs, output)
    # Refused before any work: an output that is an input (or the checkpoint), or unwritable.
    refuse_input_overwrite(outputs, inputs)
    refuse_input_overwrite(outputs, [args.checkpoint], what="checkpoint")
    if outputs == [output]:
        check_writable_file(output)
    else:
        check_writable_dir(output)
    model, _ = load_checkpoint(args.checkpoint, map_location=pick_device(args.device, quiet=True))
    model.eval()
    failures = 0
    for src, dst in zip(inputs, outputs, strict=True):
        try:
            denoise_file(model, src, dst, strength=args.strength)
        except AudioDenoiseError as exc:
            _err(str(exc))
            failures += 1
            continue
        except OSError as exc:  # e.g. an input that vanished, a folder that cannot be written
            _err(f"{exc.filename or dst}: {exc.strerror or exc}")
            failures += 1
            continue
        except Exception as exc:  # never let one odd file stop the batch or print a traceback
            _err(f"{src}: unexpected failure ({type(exc).__name__}: {_first_line(exc)})")
            failures += 1
            continue
        if not args.quiet:
            print(f"{src} -> {dst}")
    return EXIT_ERROR if failures else 0


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0][:200] if lines else ""


def cmd_evaluate(args: argparse.Namespace) -> int:
    """Evaluate a checkpoint against the baselines on the held-out speakers."""
    from .engine.runs import evaluate_checkpoint
    from .metrics import format_table

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


_ARGV: list[str] = []  # the command line being parsed, for _Parser's hints


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one ``error:`` line, like every other error."""

    def error(self, message: str) -> None:  # type: ignore[override]
        hint = ""
        option = re.match(r"argument (?:\S+/)?(--\S+): expected one argument", message)
        if option:  # e.g. "--snr -5": argparse reads "-5" as an option, not as the value
            hint = f" (a value that starts with '-' goes as {option[1]}=VALUE)"
        elif _ARGV and (
            re.search(r"arguments are required: .*\binput\b", message, re.IGNORECASE)
            or message.startswith("unrecognized arguments")
        ):
            dashed = [a for a in _ARGV if a.startswith("-") and len(a) > 1 and os.path.isfile(a)]
            if dashed:  # "-take1.wav" was read as an option, not as the file it is
                hint = f" ({dashed[0]} is a file: a name that starts with '-' goes after '--')"
        self.exit(EXIT_USAGE, f"error: {self.prog}: {message}{hint}; see {self.prog} --help\n")


def _seed(text: str) -> int:
    """argparse type: a seed in [0, 2**32 - 1], refused rather than wrapped."""
    from .engine.checks import check_seed

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid seed {text!r}: not an integer") from None
    try:
        return check_seed(value)
    except AudioDenoiseError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _count(text: str) -> int:
    """argparse type: a whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid count {text!r}: not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _finite(text: str) -> float:
    """argparse type: a finite number (no nan or inf)."""
    import math

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid number {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r}")
    return value


def _positive(text: str) -> float:
    """argparse type: a finite number above 0."""
    value = _finite(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be above 0, got {text!r}")
    return value


def _seconds(text: str) -> float:
    """argparse type: a finite number of seconds, 0 or more."""
    value = _finite(text)
    if value < 0:
        raise argparse.ArgumentTypeError(
            f"must be 0 (no limit) or a number of seconds, got {text!r}"
        )
    return value


def _learning_rate(text: str) -> float:
    """argparse type: a peak learning rate, above 0 and at most :data:`MAX_LR`."""
    value = _positive(text)
    if value > MAX_LR:
        raise argparse.ArgumentTypeError(
            f"must be at most {MAX_LR:g} (a larger AdamW step is certainly a mistake; the default "
            f"is 1e-3), got {text!r}"
        )
    return value


def _add_download(sub: argparse._SubParsersAction) -> None:
    """Add the ``download`` command to ``sub``."""
    from . import paths

    d = sub.add_parser("download", help="download and extract RAVDESS speech (about 200 MB)")
    d.add_argument(
        "--dest",
        default=None,
        help=f"destination folder (default: {paths.ravdess_dir()}, where train and evaluate look)",
    )
    d.add_argument("--url", default=None, help="archive URL (default: the Zenodo RAVDESS archive)")
    d.add_argument("--md5", default=None, help="expected md5 of the archive")
    d.set_defaults(func=cmd_download)


def _add_corrupt(sub: argparse._SubParsersAction) -> None:
    """Add the ``corrupt`` command to ``sub``."""
    c = sub.add_parser("corrupt", help="add noise to a file at an exact SNR")
    c.add_argument("input")
    c.add_argument("-o", "--output", required=True)
    c.add_argument(
        "--snr", type=_finite, required=True, help="signal-to-noise ratio in dB (-50 to 100)"
    )
    c.add_argument("--noise", choices=SYNTHETIC_KINDS, default="white")
    c.add_argument(
        "--multiplicative",
        action="store_true",
        help="also apply random gain + slow amplitude modulation",
    )
    c.add_argument("--seed", type=_seed, default=0, help="0 to 2**32 - 1 (default: 0)")
    c.set_defaults(func=cmd_corrupt)


def _add_train(sub: argparse._SubParsersAction) -> None:
    """Add the ``train`` command to ``sub``."""
    from . import paths

    t = sub.add_parser("train", help="train a denoiser (defaults: the course's best recipe)")
    t.add_argument(
        "--data",
        default=None,
        help=f"data folder (default: {paths.ravdess_dir()} if downloaded, else the bundled sample)",
    )
    t.add_argument("--model", default=None, help="model name (default: the course's best)")
    t.add_argument("--epochs", type=_count, default=None)
    t.add_argument("--steps-per-epoch", type=_count, default=None)
    t.add_argument("--batch-size", type=_count, default=None)
    t.add_argument(
        "--time-budget",
        type=_seconds,
        default=570.0,
        help="stop cleanly (and keep the checkpoint --keep names) after this many seconds, so a CPU run "
        "stays under 10 minutes; 0 for no limit (default: %(default)s)",
    )
    t.add_argument(
        "--out",
        default=None,
        help=f"checkpoint to write (default: {paths.default_checkpoint_out()})",
    )
    t.add_argument(
        "--resume",
        action="store_true",
        help="continue the interrupted (or time-budgeted) run that wrote --out, from its run "
        "folder <out stem>.run/last.pt; --out is replaced only by a better model (with --keep "
        "last, by every epoch's)",
    )
    t.add_argument(
        "--overwrite",
        action="store_true",
        help="train a new model even though --out exists (without it an existing --out is refused)",
    )
    t.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda", "mps"])
    t.add_argument("--seed", type=_seed, default=None)
    _add_train_recipe(t)
    t.set_defaults(func=cmd_train)


def _add_train_recipe(t: argparse.ArgumentParser) -> None:
    """Add ``train``'s options for what is learned: loss, learning rate, start, kept epoch, data."""
    t.add_argument(
        "--loss",
        default=None,
        choices=TRAIN_LOSSES,
        help="training loss (default: si_sdr; si_sdr+stft adds a spectral term that raises PESQ, "
        "the shipped model's fine-tuning stage)",
    )
    t.add_argument(
        "--lr", type=_learning_rate, default=None, help="peak learning rate (default: 1e-3)"
    )
    t.add_argument(
        "--init-from",
        default=None,
        metavar="CHECKPOINT",
        help="start from this checkpoint's model and weights instead of fresh ones (fine-tuning, "
        "e.g. checkpoints/default.pt on your own kind of noise; the checkpoint sets the model; "
        "--resume continues from the run's last.pt and needs no --init-from)",
    )
    t.add_argument(
        "--keep",
        default=None,
        choices=KEEP_CHOICES,
        help="what --out receives: the best epoch by validation SI-SDR (default) or the last one "
        "with a finite score (a fine-tuning run whose validation voices or noises are not the ones "
        "you care about); a resumed run keeps its own setting",
    )
    t.add_argument(
        "--noise",
        nargs="+",
        default=None,
        choices=TRAIN_NOISE_KINDS,
        help="noise kinds to train on, one drawn per clip (default: the course's mix); a kind "
        "listed twice is drawn twice as often",
    )
    t.add_argument(
        "--noise-dir",
        default=None,
        help="folder of real noise recordings for --noise ... recorded "
        "(e.g. data/realnoise/train from scripts/fetch_real_noise.py)",
    )
    t.add_argument(
        "--extra-speech",
        default=None,
        metavar="DIR",
        help="folder of extra clean voices to train on as well, never validated on "
        "(e.g. data/realspeech_train from scripts/fetch_real_speech.py --set train); kept in "
        "the checkpoint as given, so --resume a relative path from the same folder",
    )


def _add_denoise(sub: argparse._SubParsersAction) -> None:
    """Add the ``denoise`` command to ``sub``."""
    n = sub.add_parser("denoise", help="denoise audio files with a trained checkpoint")
    n.add_argument("--checkpoint", required=True)
    n.add_argument("inputs", nargs="+", metavar="INPUT")
    n.add_argument("-o", "--output", required=True, help="a .wav file (one input) or a directory")
    n.add_argument("--device", default="cpu", choices=["auto", "cpu", "cuda", "mps"])
    n.add_argument(
        "--strength",
        type=float,
        default=1.0,
        help="how much of the model's output to use, 0..1: below 1 the original is mixed back in "
        "(0.8 = 80%% denoised + 20%% original, a lighter touch for faint noise); default 1",
    )
    n.set_defaults(func=cmd_denoise)


def _add_evaluate(sub: argparse._SubParsersAction) -> None:
    """Add the ``evaluate`` command to ``sub``."""
    e = sub.add_parser("evaluate", help="score a checkpoint against classical baselines")
    e.add_argument("--checkpoint", required=True)
    e.add_argument("--data", default=None, help="data folder (default as for train)")
    e.add_argument("--snr", type=_finite, nargs="+", default=[0.0, 5.0, 10.0])
    e.add_argument("--noise", choices=SYNTHETIC_KINDS, default="white")
    e.add_argument(
        "--max-clips", type=_count, default=None, help="evaluate at most this many test clips"
    )
    e.add_argument("--no-baselines", action="store_true")
    e.add_argument("--json", action="store_true", help="print the table as JSON")
    e.set_defaults(func=cmd_evaluate)


def build_parser() -> argparse.ArgumentParser:
    """Return the ``audio-denoise`` argument parser."""
    from . import paths

    p = _Parser(
        prog="audio-denoise",
        description=__doc__.splitlines()[0],
        epilog=f"Default folders do not depend on the working folder: data and runs live under "
        f"{paths.home()} ({paths.HOME_ENV} moves them), the decode cache in {paths.cache_dir()} "
        f"({paths.CACHE_ENV} moves it).",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars or chatter")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_download(sub)
    _add_corrupt(sub)
    _add_train(sub)
    _add_denoise(sub)
    _add_evaluate(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return the exit status."""
    parser = build_parser()
    _ARGV[:] = list(sys.argv[1:] if argv is None else argv)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, or a usage error already printed as one line
        return int(exc.code or 0)
    old_show = warnings.showwarning
    warnings.showwarning = _show_warning
    try:
        with terminate_gracefully():  # SIGTERM unwinds like Ctrl-C: no temporary files left
            return int(args.func(args))
    except AudioDenoiseError as exc:
        _err(str(exc))
        return EXIT_ERROR
    except KeyboardInterrupt as exc:
        hint = getattr(args, "interrupt_hint", "")
        _err(
            ("terminated" if isinstance(exc, Terminated) else "interrupted")
            + (f"; {hint}" if hint else "")
        )
        return 143 if isinstance(exc, Terminated) else 130
    except OSError as exc:  # a file system refusal the package did not foresee: still one line
        _err(f"{exc.filename or 'file system'}: {exc.strerror or exc}")
        return EXIT_ERROR
    except Exception as exc:
        if os.environ.get("AUDIO_DENOISE_DEBUG"):
            raise
        _err(
            f"unexpected {type(exc).__name__}: {_first_line(exc)} (this is a bug: please report "
            "it; set AUDIO_DENOISE_DEBUG=1 to see the traceback)"
        )
        return EXIT_ERROR
    finally:
        warnings.showwarning = old_show


if __name__ == "__main__":
    raise SystemExit(main())
