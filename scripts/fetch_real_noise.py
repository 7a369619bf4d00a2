"""Gather real noise recordings from Debian packages into data/realnoise/ (train and bench splits).

Main source: ``openttd-opensfx`` (OpenSFX 1.0.x, the open sound set of OpenTTD; Debian main). Its
sounds are edited field recordings, most from freesound.org: wind, a helicopter, jets, buses,
a jackhammer, a sawmill, a chainsaw, applause, animals, machinery. The collection is licensed
CC-BY-SA 3.0 (individual files CC-BY 3.0, CC-BY-SA 3.0 or CC0, named in each sound's title,
which the manifest keeps for attribution). Nothing here is committed: data/realnoise/ is
git-ignored, like data/realspeech/ (see ``scripts/fetch_real_speech.py``, the same pattern).

The split is by original recording, never by file: sounds edited from the same source recording
(OpenSFX reuses some, e.g. "wind1.wav" for both "Wind" and "Heavy wind") always land in the same
split. The benchmark's recordings (:data:`BENCH`) are never trained on.

More training noise (:data:`EXTRA`, skipped with ``--opensfx-only``) comes from three other game
data packages, all into ``train/``: ``lincity-ng-data`` (city ambiences: industry, mines, farms,
harbour, markets, traffic, fire, crowds; GPL-2+, its sound effects dual-licensed CC-BY-SA 2.0),
``simutrans-pak64`` (arctic/desert/forest/tropic/water ambiences, seagulls, a buzzsaw, engines;
Artistic-1.0) and ``extremetuxracer-data`` (sliding on snow, ice, grass, leaves, mud, rock; GPL-2+).
Many are recorded at 8 or 11 kHz, so they hold nothing above 4 or 5.5 kHz (the manifest's
``orig_sample_rate`` says which). A sound that duplicates another, or that looks like one of the
benchmark's recordings (:func:`same_source`), is left out, so "never trained on" holds across
packages too.

Output: data/realnoise/{train,bench}/<nn>_<slug>.wav (OpenSFX) and
train/{lincity,simutrans,etr}_<slug>.wav (the others), 16 kHz mono float WAVs of at least 1 s, and
data/realnoise/manifest.csv (file, split, package, version, licence, title, original, seconds,
orig_sample_rate).
Needs apt (``apt-get update`` once) and dpkg-deb; about 10 MB of download for OpenSFX, 88 MB more
for the other three.

    .venv/bin/python scripts/fetch_real_noise.py [--out data/realnoise] [--opensfx-only]
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without installing the package

from audio_denoise_utils.audio import resample, save_audio  # noqa: E402

SR = 16_000
PACKAGE = "openttd-opensfx"
CATALOGUE = "usr/share/games/openttd/baseset/opensfx/opensfx.cat"
LICENCE = "CC-BY-SA-3.0 (collection; per-file licence in the title)"
MIN_SECONDS = 1.0
#: Original recordings held out for the benchmark (matched against the title's "Original" or,
#: for sounds made from scratch, the title): wind, a helicopter, applause (crowd), a jackhammer,
#: a sawmill, a bus in traffic, mining machinery and a bird: one of each kind of real noise.
BENCH = (
    "wind1.wav",
    "helicopterRaw_16sec.wav",
    "Approx 850 - Enthusiast Audience.wav",
    "air hammer half close.wav",
    "Circular saw crosscutting.wav",
    "london bus approaches & leaves.wav",
    "L'ascenseur - Elevator",
    "Bird Noise - 12.wav",
)
FIELDS = (
    "file",
    "split",
    "package",
    "version",
    "licence",
    "title",
    "original",
    "seconds",
    "orig_sample_rate",
)
#: A sound whose normalised cross-correlation with a benchmark recording reaches this is taken to be
#: cut from it (a cut of a recording scores about 1; every other sound of these packages scores at
#: most 0.16 against the benchmark's recordings).
SAME_SOURCE = 0.5


@dataclass(frozen=True)
class Extra:
    """A Debian package whose WAV files under ``folder`` are all training noise."""

    package: str
    folder: str
    licence: str  # as the package's debian/copyright states it for these files
    prefix: str  # file-name prefix in train/


EXTRA = (
    Extra(
        "lincity-ng-data",
        "usr/share/games/lincity-ng/sounds",
        "GPL-2+ (sound effects dual-licensed CC-BY-SA 2.0)",
        "lincity",
    ),
    Extra("simutrans-pak64", "usr/share/games/simutrans/pak/sound", "Artistic-1.0", "simutrans"),
    Extra("extremetuxracer-data", "usr/share/games/etr/sounds", "GPL-2+", "etr"),
)


def read_catalogue(data: bytes) -> list[tuple[str, bytes]]:
    """Return (title, RIFF WAV bytes) of each sound in an OpenTTD .cat sound catalogue.

    Layout: a table of (offset, size) uint32 pairs (the first offset, with its top bit masked,
    says how long the table is); each entry is a length-prefixed title, then a WAV file.
    """
    count = (struct.unpack_from("<I", data, 0)[0] & 0x7FFFFFFF) // 8
    sounds = []
    for i in range(count):
        offset, size = struct.unpack_from("<II", data, 8 * i)
        offset &= 0x7FFFFFFF
        name_len = data[offset]
        title = data[offset + 1 : offset + 1 + name_len].rstrip(b"\0").decode("latin-1")
        sounds.append((title, data[offset + 1 + name_len : offset + size]))
    return sounds


def original_of(title: str) -> str:
    """Return the source recording a sound was edited from (its title when made from scratch)."""
    m = re.search(r'Original "([^"]+)"', title) or re.search(r'"([^"]+)" by', title[1:])
    if m:
        return m.group(1)
    return title.split('"')[1] if title.startswith('"') else title


def slug(title: str) -> str:
    """Return a short file-name-safe name for a sound's title."""
    name = title.split('"')[1] if title.startswith('"') else title
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40]


def download(package: str, work: Path) -> tuple[Path, str]:
    """Download and unpack ``package`` under ``work``; return (its root folder, its version).

    Raises RuntimeError naming the package when apt-get cannot download it or dpkg-deb unpack it.
    """
    work.mkdir(parents=True, exist_ok=True)
    work.chmod(0o777)  # apt-get download drops to the _apt user, who must write here
    res = subprocess.run(["apt-get", "download", package], cwd=work, capture_output=True, text=True)
    debs = sorted(work.glob(f"{package}_*.deb"))
    if res.returncode != 0 or not debs:
        raise RuntimeError(f"apt-get download {package} failed: {res.stderr.strip()[-300:]}")
    root = work / "root"
    res = subprocess.run(
        ["dpkg-deb", "-x", str(debs[0]), str(root)], capture_output=True, text=True
    )
    if res.returncode != 0:
        raise RuntimeError(f"dpkg-deb could not unpack {debs[0].name}: {res.stderr.strip()[-300:]}")
    version = subprocess.run(
        ["dpkg-deb", "-f", str(debs[0]), "Version"], capture_output=True, text=True
    ).stdout.strip()
    return root, version


def to_mono16k(wav_source: str | io.BytesIO) -> tuple[np.ndarray, int]:
    """Return (float32 mono audio at 16 kHz, original rate); ValueError says why it cannot."""
    try:
        wav, sr = sf.read(wav_source, dtype="float32", always_2d=True)
    except Exception as exc:
        raise ValueError(f"not a readable sound file ({exc})") from None
    if wav.shape[0] == 0:
        raise ValueError("no samples")
    if not np.isfinite(wav).all():
        raise ValueError("non-finite samples")
    try:
        mono = resample(torch.from_numpy(wav.mean(axis=1)).unsqueeze(0), sr, SR)[0].numpy()
    except Exception as exc:
        raise ValueError(f"cannot resample it ({exc})") from None
    return mono, sr


def digest(mono: np.ndarray) -> str:
    """Return a hash that is equal for equal sounds (rounded to 1e-4, below 16-bit resolution)."""
    return hashlib.sha1(np.round(mono, 4).tobytes()).hexdigest()


def same_source(a: np.ndarray, b: np.ndarray) -> float:
    """Return how alike ``a`` and ``b`` are at their best alignment: 0 (unrelated) to 1 (the same).

    The shorter is placed at every offset that keeps it wholly inside the longer, and compared
    with the stretch under it by normalised correlation (both centred on their whole length). A
    cut of a recording, even rescaled, scores near 1 against it; two different recordings score
    near 0. A sound that only partly overlaps a recording (runs past its start or end), or a
    resampled or pitch-shifted copy, is not caught. Keeps copies of the benchmark's recordings
    out of ``train/``.
    """
    if len(a) == 0 or len(b) == 0:
        return 0.0
    short, long = (a, b) if len(a) <= len(b) else (b, a)
    short = (short - short.mean()).astype(np.float64)
    long = (long - long.mean()).astype(np.float64)
    n, m = len(short), len(long)
    energy = float(short @ short)
    if energy == 0:
        return 0.0
    size = 1 << (n + m - 1).bit_length()  # a power of two: fast, and no wrap-around
    corr = np.fft.irfft(np.conj(np.fft.rfft(short, size)) * np.fft.rfft(long, size), size)[
        : m - n + 1
    ]
    window = np.cumsum(np.concatenate([[0.0], long**2]))
    window = window[n:] - window[:-n]  # energy of long[k : k + n] for every offset k
    ok = window > 1e-9 * max(float(window.max()), 1e-30)
    if not ok.any():
        return 0.0
    return float((np.abs(corr[ok]) / np.sqrt(energy * window[ok])).max())


def previous_files(out: Path) -> set[str]:
    """Return the files ``out/manifest.csv`` lists (a previous run's), as "<split>/<name>.wav".

    Only <train|bench>/<name>.wav entries count: a hand-edited manifest cannot point anywhere else.
    """
    manifest = out / "manifest.csv"
    if not manifest.exists():
        return set()
    with open(manifest, newline="") as f:
        names = {row.get("file", "") for row in csv.DictReader(f)}
    return {
        n
        for n in names
        if n.partition("/")[0] in ("train", "bench")
        and n.endswith(".wav")
        and "/" not in n.partition("/")[2]
    }


def remove_previous(out: Path) -> None:
    """Delete the recordings that ``out/manifest.csv`` lists (a previous run's), nothing else."""
    for name in previous_files(out):
        if (out / name).is_file():
            (out / name).unlink()


def manifest_row(
    file: str,
    package: str,
    version: str,
    licence: str,
    title: str,
    mono: np.ndarray,
    sr: int,
    original: str | None = None,
) -> dict[str, str]:
    """Return the manifest row (:data:`FIELDS`) of the 16 kHz sound ``mono`` saved as ``file``."""
    return dict(
        file=file,
        split=file.split("/")[0],
        package=package,
        version=version,
        licence=licence,
        title=title,
        original=title if original is None else original,
        seconds=f"{len(mono) / SR:.2f}",
        orig_sample_rate=str(sr),
    )


def gather_extra(
    extra: Extra, root: Path, version: str, bench: dict[str, np.ndarray], seen: set[str]
) -> list[tuple[dict[str, str], np.ndarray]]:
    """Return (manifest row, 16 kHz audio) for each of ``extra``'s sounds unpacked under ``root``.

    Skips sounds under :data:`MIN_SECONDS`, silent ones, unreadable ones (one line each), exact
    duplicates of one already kept (``seen`` holds their :func:`digest`) and any that
    :func:`same_source` ties to a recording in ``bench`` (name: audio).
    """
    folder = root / extra.folder
    paths = (
        sorted(p for p in folder.glob("*") if p.suffix.lower() == ".wav") if folder.is_dir() else []
    )
    if not paths:
        print(
            f"warning: {extra.package} has no WAV files in /{extra.folder}; nothing taken from it"
        )
    kept: list[tuple[dict[str, str], np.ndarray]] = []
    used: set[str] = set()
    for path in paths:
        try:
            mono, sr = to_mono16k(str(path))
        except ValueError as exc:
            print(f"skipped {extra.package} {path.name}: {exc}")
            continue
        if len(mono) < MIN_SECONDS * SR or float(np.abs(mono).max()) == 0:
            continue
        if (key := digest(mono)) in seen:
            continue
        seen.add(key)
        scores = {name: same_source(mono, wav) for name, wav in bench.items()}
        match = max(scores, key=scores.__getitem__, default=None)
        if match is not None and scores[match] >= SAME_SOURCE:
            print(f"left out {extra.package} {path.name}: looks cut from the benchmark's {match}")
            continue
        base = f"{extra.prefix}_{slug(path.stem)}"
        name, k = f"{base}.wav", 2
        while name in used:  # "Water.wav" and "water.wav" must not land in one file
            name, k = f"{base}-{k}.wav", k + 1
        used.add(name)
        row = manifest_row(
            f"train/{name}", extra.package, version, extra.licence, path.name, mono, sr
        )
        kept.append((row, mono))
    return kept


def opensfx_sounds(catalogue: bytes, version: str) -> list[tuple[dict[str, str], np.ndarray]]:
    """Return (manifest row, 16 kHz audio) for each usable sound of the OpenSFX catalogue."""
    kept = []
    for n, (title, wav_bytes) in enumerate(read_catalogue(catalogue)):
        if not wav_bytes:  # the set has two empty placeholder entries
            continue
        try:
            mono, sr = to_mono16k(io.BytesIO(wav_bytes))
        except ValueError as exc:
            print(f"skipped {PACKAGE} sound {n} ({title[:40]}): {exc}")
            continue
        seconds = len(mono) / SR
        if seconds < MIN_SECONDS or float(np.abs(mono).max()) == 0:
            continue
        original = original_of(title)
        split = "bench" if original in BENCH else "train"
        name = f"{n:02d}_{slug(title)}.wav"
        row = manifest_row(f"{split}/{name}", PACKAGE, version, LICENCE, title, mono, sr, original)
        kept.append((row, mono))
    return kept


def main(argv: list[str] | None = None) -> int:
    """Build data/realnoise/; return 0, or 1 (one error line) without apt or without OpenSFX.

    Everything is downloaded and decoded before the previous run's files are touched, so a
    failure or Ctrl-C on the way leaves the previous set (files and manifest) as it was.
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "data" / "realnoise")
    parser.add_argument(
        "--opensfx-only", action="store_true", help="skip the three extra training packages"
    )
    args = parser.parse_args(argv)
    if not (shutil.which("apt-get") and shutil.which("dpkg-deb")):
        print("error: needs apt-get and dpkg-deb (a Debian/Ubuntu system)", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="realnoise_") as t:
        tmp = Path(t)
        # apt-get download drops to the _apt user, who must reach the package folders in here.
        tmp.chmod(0o755)
        try:
            root, version = download(PACKAGE, tmp / PACKAGE)
        except RuntimeError as e:
            print(f"error: {e}", file=sys.stderr)
            return 1
        try:
            catalogue = (root / CATALOGUE).read_bytes()
        except OSError as e:
            print(f"error: {PACKAGE} {version}: no sound catalogue ({e})", file=sys.stderr)
            return 1
        sounds = opensfx_sounds(catalogue, version)
        missing = set(BENCH) - {r["original"] for r, _ in sounds if r["split"] == "bench"}
        if missing:
            print(f"warning: benchmark recordings not found in this version: {sorted(missing)}")
        bench = {r["file"]: mono for r, mono in sounds if r["split"] == "bench"}
        seen = {digest(mono) for _, mono in sounds}
        for extra in () if args.opensfx_only else EXTRA:
            try:
                root, version = download(extra.package, tmp / extra.package)
            except RuntimeError as e:  # the benchmark does not need them: say so and go on
                print(f"warning: {e}; its sounds are not in train/", file=sys.stderr)
                continue
            sounds += gather_extra(extra, root, version, bench, seen)
            shutil.rmtree(tmp / extra.package)
    # All decoded: only now replace the previous run's files, never a file it did not write. The new
    # manifest goes first, so that a run stopped while writing leaves nothing a rerun would not remove.
    rows = [row for row, _ in sounds]
    ours = previous_files(args.out)
    for r in rows:
        if (args.out / r["file"]).exists() and r["file"] not in ours:
            print(
                f"error: {args.out / r['file']} is not from a previous run (not in manifest.csv): "
                "move it away and run again",
                file=sys.stderr,
            )
            return 1
    for split in ("train", "bench"):
        (args.out / split).mkdir(parents=True, exist_ok=True)
    remove_previous(args.out)
    part = args.out / ".manifest.csv.part"
    with open(part, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    os.replace(part, args.out / "manifest.csv")
    for row, mono in sounds:
        save_audio(args.out / row["file"], mono.astype(np.float32), SR, subtype="FLOAT")
    for split in ("train", "bench"):
        chosen = [r for r in rows if r["split"] == split]
        secs = sum(float(r["seconds"]) for r in chosen)
        print(f"{split}: {len(chosen)} recordings, {secs:.0f} s")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
