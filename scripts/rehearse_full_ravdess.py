"""Full-size rehearsal: a RAVDESS-shaped archive (1,440 clips at 48 kHz) served on 127.0.0.1,
then `audio-denoise download`, `train` (and optionally notebook 04 in full mode), each with its
peak memory (max RSS, the process and its children) and wall time.

RAVDESS itself cannot be fetched here, so the archive holds synthetic speech-like clips with
RAVDESS's layout, names, rate (48 kHz, 16-bit mono) and durations (3.0-4.4 s, mean 3.7 s). It is
not part of the quick CI (minutes of CPU and about 0.5 GB of disk, in build/rehearsal/).

    python scripts/rehearse_full_ravdess.py                 # download + train, this checkout
    python scripts/rehearse_full_ravdess.py --notebook      # ... and notebook 04 (full mode)
    python scripts/rehearse_full_ravdess.py --code DIR      # run another checkout's package
                                                              (e.g. an older commit, for a baseline)

Timings measured on a shared machine are contended: say so when quoting them.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

SR = 48_000
ACTORS = range(1, 25)


def clip(seed: int, seconds: float) -> np.ndarray:
    """A speech-like clip: gliding harmonics gated into syllables, with silence around it (int16)."""
    rng = np.random.default_rng(seed)
    n = int(seconds * SR)
    t = np.arange(n) / SR
    f0 = rng.uniform(100, 240) * (1 + 0.05 * np.sin(2 * np.pi * rng.uniform(2, 5) * t))
    phase = 2 * np.pi * np.cumsum(f0) / SR
    y = sum(np.sin(k * phase) / k for k in range(1, 12))
    env = np.zeros(n)
    pos = int(0.8 * SR)
    while pos < n - int(0.8 * SR):
        on = min(int(rng.uniform(0.15, 0.3) * SR), n - pos)
        env[pos : pos + on] = np.hanning(on)
        pos += on + int(rng.uniform(0.05, 0.15) * SR)
    y = y * env
    y = 0.5 * y / max(np.abs(y).max(), 1e-9) + 1e-4 * rng.standard_normal(n)
    return (np.clip(y, -1, 1) * 32767).astype(np.int16)


def ravdess_names(actor: int) -> list[str]:
    """The 60 audio-speech file names of one actor, as in RAVDESS."""
    names = []
    for emotion in range(1, 9):
        for intensity in (1,) if emotion == 1 else (1, 2):
            for statement in (1, 2):
                for rep in (1, 2):
                    names.append(
                        f"03-01-{emotion:02d}-{intensity:02d}-{statement:02d}-{rep:02d}-{actor:02d}.wav"
                    )
    return names


def build_archive(path: Path) -> tuple[int, str]:
    """Write the 1,440-clip archive (once) and return (size, md5)."""
    meta = path.with_suffix(".json")
    if path.exists() and meta.exists():
        info = json.loads(meta.read_text())
        return info["size"], info["md5"]
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    t0 = time.perf_counter()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        for actor in ACTORS:
            for i, name in enumerate(ravdess_names(actor)):
                buf = io.BytesIO()
                sf.write(
                    buf,
                    clip(actor * 100 + i, rng.uniform(3.0, 4.4)),
                    SR,
                    format="WAV",
                    subtype="PCM_16",
                )
                zf.writestr(f"Actor_{actor:02d}/{name}", buf.getvalue())
    digest = hashlib.md5(path.read_bytes()).hexdigest()
    size = path.stat().st_size
    meta.write_text(json.dumps({"size": size, "md5": digest}))
    print(f"built {path} ({size / 1e6:.0f} MB, 1440 clips) in {time.perf_counter() - t0:.0f} s")
    return size, digest


def measured(cmd: list[str], env: dict[str, str], cwd: Path, log: Path) -> dict:
    """Run ``cmd``; return its exit code, wall time and peak RSS (itself and reaped children)."""
    t0 = time.perf_counter()
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return {
        "exit": proc.returncode,
        "seconds": round(time.perf_counter() - t0, 1),
        "peak_rss_gb": round(usage.ru_maxrss * 1024 / 1e9, 2),  # ru_maxrss is in KiB on Linux
        "log": str(log),
    }


def main(argv: list[str] | None = None) -> int:
    """Run the rehearsal and print one JSON line per step."""
    from ravdess_server import LoopbackServer

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--code", type=Path, default=ROOT, help="checkout whose package runs (default: this one)"
    )
    p.add_argument("--work", type=Path, default=ROOT / "build" / "rehearsal")
    p.add_argument("--notebook", action="store_true", help="also run notebook 04 in full mode")
    p.add_argument(
        "--steps",
        type=int,
        default=2,
        help="train: steps per epoch (memory peaks before the first)",
    )
    args = p.parse_args(argv)

    work = args.work.resolve()
    code = args.code.resolve()
    size, digest = build_archive(work / "Audio_Speech_Actors_01-24.zip")
    home = work / f"home-{hashlib.sha1(str(code).encode()).hexdigest()[:8]}"
    data = home / "data" / "ravdess"
    env = dict(os.environ)
    env.update(
        PYTHONPATH=str(code),
        AUDIO_DENOISE_HOME=str(home),  # holds data/ravdess and runs/
        AUDIO_DENOISE_CACHE=str(home / "data" / "cache"),
        AUDIO_DENOISE_QUICK="0",
        MPLBACKEND="Agg",
    )
    if not (code / "audio_denoise_utils" / "paths.py").exists():
        # A checkout from before paths.py: its root holding data/ comes from AUDIO_DENOISE_ROOT,
        # and its project_root() wants data/sample beside data/ravdess.
        env["AUDIO_DENOISE_ROOT"] = str(home)
        sample = home / "data" / "sample"
        if not sample.exists():
            sample.parent.mkdir(parents=True, exist_ok=True)
            sample.symlink_to(code / "data" / "sample")
    py = sys.executable
    results = {"code": str(code), "archive_mb": round(size / 1e6)}
    server = LoopbackServer()
    body = (work / "Audio_Speech_Actors_01-24.zip").read_bytes()
    url = server.add("/Audio_Speech_Actors_01-24.zip", body)
    del body
    server.start()
    try:
        results["download"] = measured(
            [py, "-m", "audio_denoise_utils", "-q", "download", "--dest", str(data), "--url", url, "--md5", digest],
            env, work, work / "download.log",
        )  # fmt: skip
    finally:
        server.stop()
    n = len(list(data.rglob("*.wav")))
    results["clips"] = n
    results["train"] = measured(
        [py, "-m", "audio_denoise_utils", "-q", "train", "--data", str(data), "--epochs", "1",
         "--steps-per-epoch", str(args.steps), "--time-budget", "0", "--device", "cpu",
         "--out", str(home / "runs" / "rehearsal.pt")],
        env, work, work / "train.log",
    )  # fmt: skip
    if args.notebook:
        out = work / "nb"
        out.mkdir(exist_ok=True)
        results["notebook_04"] = measured(
            [py, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute",
             "--ExecutePreprocessor.timeout=1800", "--output-dir", str(out),
             str(code / "notebooks" / "04_training.ipynb")],
            env, code / "notebooks", work / "notebook_04.log",
        )  # fmt: skip
    print(json.dumps(results, indent=2))
    failed = [k for k, v in results.items() if isinstance(v, dict) and v["exit"] != 0]
    if n != 1440 or failed:
        print(f"rehearsal FAILED: {n} clips, failed steps {failed}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
