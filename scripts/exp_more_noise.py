"""Experiment (issue 11, session 13; not course code): more real noise recordings for training.

The shipped model's fine-tuning draws real noise from the 200 recordings of
``data/realnoise/train``; every benchmark recording is still behind DeepFilterNet3 at -5 and 0 dB
(birdsong by 8.6 dB, wind by 3.9). This builds a larger training folder: a copy of those 200 plus
the ambiences, animals and workshop sounds of three more Debian game-data packages (about 770 MB
of download):

- megaglest-data (CC-BY-SA-3.0): the map styles' ambiences (forests by day and night, rain, desert,
  winter wind) and water sounds;
- widelands-data (GPL-2+): birds, crickets and other animals; saws, stone cutting, smithies, metal
  work, hammering, woodcutting, mills, a sawmill and farm work;
- wesnoth-1.16-data (GPL-2+): birds, morning and night, a campfire, a ship, war drums.

Each sound is made 16 kHz mono as ``scripts/fetch_real_noise.py`` does, its runs of digital silence
of 0.5 s or more are cut (Widelands pads its sounds with up to 90 s of zeros), and it is left out
when under 1 s, a duplicate, or tied to a benchmark recording by
:func:`fetch_real_noise.same_source` (none was: every score is below 0.3). A ``manifest.csv`` beside
the recordings names each one's package, file and licence (for attribution)::

    .venv/bin/python scripts/exp_more_noise.py --out runs/morenoise/train  # 312 recordings, 1839 s
    audio-denoise -q train --data data/sample --extra-speech data/realspeech_train \\
        --init-from runs/checkpoint/pretrained.pt --loss si_sdr+stft --lr 3e-4 --epochs 20 \\
        --noise white pink brown hum tones machine babble \\
                white pink brown hum tones machine babble recorded \\
        --noise-dir runs/morenoise/train --keep last --out runs/ftrn2/ftrn2.pt --seed 1 --time-budget 0

The result (it did not pay) is in benchmarks/results/recipes.md, the section of session 13.
"""

from __future__ import annotations

import argparse
import csv
import shutil
import sys
import tempfile
from pathlib import Path

import fetch_real_noise as F  # scripts/ is on sys.path when run as a script
import numpy as np
import soundfile as sf
import torch

from audio_denoise_utils.engine.noise_tools import drop_silent_runs

ROOT = Path(__file__).resolve().parents[1]
WIDELANDS = (
    "animals",
    "atlanteans/saw",
    "smiths",
    "atlanteans/cutting",
    "woodcutting",
    "mill",
    "farm",
)
LICENCES = {
    "megaglest-data": "CC-BY-SA-3.0",
    "widelands-data": "GPL-2+",
    "wesnoth-1.16-data": "GPL-2+",
}
SOURCES = {  # package: globs of its sound files
    "megaglest-data": (
        "usr/share/games/megaglest/tilesets/*/sounds/*",
        "usr/share/games/megaglest/data/core/water_sounds/*",
    ),
    "widelands-data": tuple(
        f"usr/share/games/widelands/data/sound/{d}/*"
        for d in (*WIDELANDS, "metal", "hammering", "stonecutting", "sawmill")
    ),
    "wesnoth-1.16-data": ("usr/share/games/wesnoth/1.16/data/core/sounds/ambient/*",),
}
SILENT_RUN = 0.5  # seconds: the runs of digital silence cut (the package cuts from 0.25 s)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", type=Path, default=ROOT / "runs" / "morenoise" / "train")
    p.add_argument("--realnoise", type=Path, default=ROOT / "data" / "realnoise")
    args = p.parse_args()
    if args.out.exists():
        print(f"error: {args.out} exists; choose another --out or move it away", file=sys.stderr)
        return 1
    bench = {
        q.name: F.to_mono16k(str(q))[0] for q in sorted((args.realnoise / "bench").glob("*.wav"))
    }
    train = sorted((args.realnoise / "train").glob("*.wav"))
    if not bench or not train:
        print(f"error: run scripts/fetch_real_noise.py first ({args.realnoise})", file=sys.stderr)
        return 1
    seen = {F.digest(F.to_mono16k(str(q))[0]) for q in train}
    staging = args.out.with_name(args.out.name + ".part")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    rows = []
    for q in train:
        shutil.copy2(q, staging / q.name)
        rows.append(
            dict(file=q.name, package="data/realnoise/train", source=q.name, licence="see there")
        )
    with tempfile.TemporaryDirectory(prefix="morenoise_") as t:
        Path(t).chmod(0o755)  # apt-get download runs as _apt
        for package, globs in SOURCES.items():
            root, _ = F.download(package, Path(t) / package)
            prefix, kept, seconds = package.split("-")[0], 0, 0.0
            for path in sorted({q for g in globs for q in root.glob(g)}):
                if path.suffix.lower() not in (".wav", ".ogg") or not path.exists():
                    continue
                wav = torch.from_numpy(F.to_mono16k(str(path))[0]).unsqueeze(0)
                mono = drop_silent_runs(wav, F.SR, seconds=SILENT_RUN)[0].numpy()
                if len(mono) < F.MIN_SECONDS * F.SR or (key := F.digest(mono)) in seen:
                    continue
                seen.add(key)
                if max(F.same_source(mono, b) for b in bench.values()) >= F.SAME_SOURCE:
                    print(f"left out {package} {path.name}: cut from a benchmark recording")
                    continue
                where = f"{path.parent.parent.name}-{path.parent.name}-{path.stem}"
                name = f"{prefix}_{F.slug(where)}.wav"
                sf.write(staging / name, mono.astype(np.float32), F.SR, subtype="FLOAT")
                source = str(path.relative_to(root))
                rows.append(
                    dict(file=name, package=package, source=source, licence=LICENCES[package])
                )
                kept, seconds = kept + 1, seconds + len(mono) / F.SR
            print(f"{package}: {kept} recordings, {seconds:.0f} s")
            shutil.rmtree(Path(t) / package)
    with open(staging / "manifest.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["file", "package", "source", "licence"])
        writer.writeheader()
        writer.writerows(rows)
    staging.rename(args.out)
    print(f"wrote {args.out}: {len(list(args.out.glob('*.wav')))} recordings")
    return 0


if __name__ == "__main__":
    sys.exit(main())
