"""Gather real noise recordings from a Debian package into data/realnoise/ (train and bench splits).

Source: ``openttd-opensfx`` (OpenSFX 1.0.x, the open sound set of OpenTTD; Debian main). Its
sounds are edited field recordings, most from freesound.org: wind, a helicopter, jets, buses,
a jackhammer, a sawmill, a chainsaw, applause, animals, machinery. The collection is licensed
CC-BY-SA 3.0 (individual files CC-BY 3.0, CC-BY-SA 3.0 or CC0, named in each sound's title,
which the manifest keeps for attribution). Nothing here is committed: data/realnoise/ is
git-ignored, like data/realspeech/ (see ``scripts/fetch_real_speech.py``, the same pattern).

The split is by original recording, never by file: sounds edited from the same source recording
(OpenSFX reuses some, e.g. "wind1.wav" for both "Wind" and "Heavy wind") always land in the same
split. The benchmark's recordings (:data:`BENCH`) are never trained on.

Output: data/realnoise/{train,bench}/<nn>_<slug>.wav (16 kHz mono float WAV, at least 1 s) and
data/realnoise/manifest.csv (file, split, package, version, licence, title, original, seconds).
Needs apt (``apt-get update`` once) and dpkg-deb; about 10 MB of download.

    .venv/bin/python scripts/fetch_real_noise.py [--out data/realnoise]
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
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
FIELDS = ("file", "split", "package", "version", "licence", "title", "original", "seconds")


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


def fetch(work: Path) -> tuple[bytes, str]:
    """Download and unpack the package under ``work``; return (catalogue bytes, version)."""
    work.chmod(0o777)  # apt-get download drops to the _apt user, who must write here
    res = subprocess.run(["apt-get", "download", PACKAGE], cwd=work, capture_output=True, text=True)
    debs = sorted(work.glob(f"{PACKAGE}_*.deb"))
    if res.returncode != 0 or not debs:
        raise SystemExit(f"error: apt-get download {PACKAGE} failed: {res.stderr.strip()[-300:]}")
    subprocess.run(["dpkg-deb", "-x", str(debs[0]), str(work / "root")], check=True)
    version = subprocess.run(
        ["dpkg-deb", "-f", str(debs[0]), "Version"], capture_output=True, text=True
    ).stdout.strip()
    return (work / "root" / CATALOGUE).read_bytes(), version


def remove_previous(out: Path) -> None:
    """Delete the recordings that ``out/manifest.csv`` lists (a previous run's), nothing else."""
    manifest = out / "manifest.csv"
    if not manifest.exists():
        return
    with open(manifest, newline="") as f:
        names = [row.get("file", "") for row in csv.DictReader(f)]
    for name in names:
        split, _, base = name.partition("/")
        # Only <train|bench>/<name>.wav: a hand-edited manifest cannot point anywhere else.
        path = out / split / base
        if (
            split in ("train", "bench")
            and base.endswith(".wav")
            and "/" not in base
            and path.is_file()
        ):
            path.unlink()


def main(argv: list[str] | None = None) -> int:
    """Build data/realnoise/ and return 0."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "data" / "realnoise")
    args = parser.parse_args(argv)
    if not (shutil.which("apt-get") and shutil.which("dpkg-deb")):
        print("error: needs apt-get and dpkg-deb (a Debian/Ubuntu system)", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="realnoise_") as t:
        catalogue, version = fetch(Path(t))
    rows = []
    for split in ("train", "bench"):
        (args.out / split).mkdir(parents=True, exist_ok=True)
    remove_previous(args.out)
    for n, (title, wav_bytes) in enumerate(read_catalogue(catalogue)):
        try:
            wav, sr = sf.read(io.BytesIO(wav_bytes), dtype="float32", always_2d=True)
        except Exception:  # the set has two empty placeholder entries
            continue
        mono = torch.from_numpy(wav.mean(axis=1)).unsqueeze(0)
        mono = resample(mono, sr, SR)
        seconds = mono.shape[-1] / SR
        if seconds < MIN_SECONDS or float(mono.abs().max()) == 0:
            continue
        original = original_of(title)
        split = "bench" if original in BENCH else "train"
        name = f"{n:02d}_{slug(title)}.wav"
        save_audio(args.out / split / name, mono.numpy().astype(np.float32), SR, subtype="FLOAT")
        rows.append(
            dict(
                file=f"{split}/{name}",
                split=split,
                package=PACKAGE,
                version=version,
                licence=LICENCE,
                title=title,
                original=original,
                seconds=f"{seconds:.2f}",
            )
        )
    missing = set(BENCH) - {r["original"] for r in rows if r["split"] == "bench"}
    if missing:
        print(f"warning: benchmark recordings not found in this version: {sorted(missing)}")
    tmp = args.out / ".manifest.csv.part"
    with open(tmp, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    os.replace(tmp, args.out / "manifest.csv")
    for split in ("train", "bench"):
        part = [r for r in rows if r["split"] == split]
        secs = sum(float(r["seconds"]) for r in part)
        print(f"{split}: {len(part)} recordings, {secs:.0f} s")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
