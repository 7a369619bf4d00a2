"""Gather real human speech from Debian packages into data/realspeech/ for the benchmark.

The course trains on RAVDESS or on the synthetic sample; this set checks that a denoiser also
works on real human voices it never saw. It is never bundled (data/realspeech/ is git-ignored):
run this script to build it. ``--set train`` builds a second, separate set of real voices for
*training* (data/realspeech_train/, from ktuberling-data: KTuberling's spoken words in languages
that have no voice in the benchmark set), so a model can learn from real voices without ever
hearing a benchmark speaker. Each package is fetched with ``apt-get download`` into a temporary
folder and unpacked with ``dpkg-deb -x`` there, so nothing is installed system-wide.

Needs: Debian/Ubuntu with apt (run ``apt-get update`` once), dpkg-deb and sox (``apt-get install
-y sox``; its libsox-fmt-base decodes Ogg Vorbis and GSM), network access to the Debian archive
(about 150 MB of downloads, about 20 s of processing). A package that cannot be found or is larger
than --max-mb (600) is skipped with a message.

Output: data/realspeech/<source>_<speaker>_<nn>.wav (16 kHz, mono, 16-bit PCM, peak -1 dBFS,
2-4.5 s: short clips of one speaker are joined with 0.1 s gaps, long prompts are cut at pauses)
and data/realspeech/manifest.csv (file, package, version, licence, original paths, duration,
speaker, language, original sample rate, dynamic range). Deterministic for fixed package versions.

    .venv/bin/python scripts/fetch_real_speech.py [--out data/realspeech] [--only PKG ...]
    .venv/bin/python scripts/fetch_real_speech.py --set train     # data/realspeech_train/

A rerun replaces the files its previous run listed in the folder's manifest.csv, and only once the
new set is complete (a failed run leaves the previous set as it was); nothing else in the folder is
touched.
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without installing the package

from audio_denoise_utils.audio import save_audio  # noqa: E402

SR = 16_000
MIN_S, MAX_S = 2.0, 4.5  # utterance length: long enough for SI-SDR to mean something
MIN_LAST_S = 1.5  # a group's last, shorter utterance is kept from this length on
GAP_S = 0.1  # silence between joined clips
EDGE_S = 0.05  # original audio kept around each trimmed clip
MAX_PAUSE_S = 0.4  # longer pauses inside a clip are shortened to this
PEAK_DBFS = -1.0
TRIM_DB = 40.0  # frames this far below the loudest frame count as silence
NOISE_MARGIN_DB = 8.0  # ... and so do frames this close to the noise floor (10th percentile)
# A clip whose loud frames are less than this far above its quiet frames is too noisy to serve as
# a clean reference (radio recordings, hiss); digitally silent gaps give ~100 dB.
MIN_DYNAMIC_RANGE_DB = 30.0
MAX_PACKAGE_MB = 600
MANIFEST_FIELDS = (
    "file",
    "package",
    "version",
    "licence",
    "original_paths",
    "duration_s",
    "speaker",
    "language",
    "orig_sample_rate",
    "dynamic_range_db",
)


@dataclass
class Group:
    """Clips of one speaker (or one language folder, whose speaker is one person)."""

    speaker: str  # short label used in file names: [a-z0-9-]
    language: str
    files: list[Path]  # paths inside the unpacked package, in a fixed order
    max_utts: int


@dataclass(frozen=True)
class Source:
    """One Debian package and how to find its speech."""

    package: str
    tag: str  # <source> part of the output names
    groups: Callable[[Path], list[Group]]  # unpacked root -> groups
    stanza: str = "*"  # DEP-5 "Files:" pattern whose licence applies to the speech
    licence: str = ""  # licence for a copyright file that is not machine-readable
    note: str = field(default="", compare=False)


def _sorted(paths: list[Path]) -> list[Path]:
    return sorted(paths, key=lambda p: str(p))


def _alsa(root: Path) -> list[Group]:
    files = [
        p
        for p in _sorted(list((root / "usr/share/sounds/alsa").glob("*.wav")))
        if p.stem != "Noise"
    ]
    return [Group("alsa", "en", files, 4)]


def _klettres(root: Path) -> list[Group]:
    base = root / "usr/share/klettres"
    groups = []
    for lang in sorted(p.name for p in base.iterdir() if p.is_dir()):
        for folder in ("syllab", "alpha"):  # syllables first: longer than single letters
            files = _sorted(list((base / lang / folder).glob("*.ogg")))
            if files:
                label = f"{lang.lower().replace('_', '-')}-{folder}"
                groups.append(Group(label, lang, files, 1))
    return groups


def _asterisk(lang: str, speaker: str = "") -> Callable[[Path], list[Group]]:
    def groups(root: Path) -> list[Group]:
        base = root / "usr/share/asterisk/sounds"
        out = []
        # Whole prompts sit in one real folder per voice (digits/, letters/ hold single words;
        # top-level links point back into it).
        for d in sorted(p for p in base.iterdir() if p.is_dir() and not p.is_symlink()):
            files = _sorted([p for p in d.iterdir() if p.suffix in (".wav", ".gsm")])
            if not files:
                continue
            # Core sounds name the folder <lang>_<REGION>_<f|m>_<Name>.
            who = speaker or d.name.split("_")[-1].lower()
            out.append(Group(f"{lang}-{who}", lang, files, 3))
        return out

    return groups


# codec2's reference recordings; the over-the-air radio ones (ve9qrp, vk5qi, vk2tpm, david4,
# mmt1) are noisy and left out.
_CODEC2_CLEAN = ("hts1a", "hts2a", "morig", "forig", "big_dog", "cross")


def _codec2(root: Path) -> list[Group]:
    base = root / "usr/share/codec2"
    groups = [
        Group(n.replace("_", ""), "en", [base / "wav" / f"{n}.wav"], 1) for n in _CODEC2_CLEAN
    ]
    groups.append(Group("speech16k", "en", [base / "raw/speech_orig_16k.wav"], 2))
    return [g for g in groups if g.files[0].exists()]


SOURCES: tuple[Source, ...] = (
    Source("alsa-utils", "alsa", _alsa, note="ALSA speaker-test voice ('Front Left' ...)"),
    Source(
        "klettres-data", "klettres", _klettres, note="KLettres letters/syllables, 20+ languages"
    ),
    Source("asterisk-core-sounds-en-wav", "asterisk", _asterisk("en")),
    Source("asterisk-core-sounds-fr-wav", "asterisk", _asterisk("fr"), stanza="fr-*"),
    Source("asterisk-core-sounds-it-wav", "asterisk", _asterisk("it"), stanza="it-*"),
    Source("asterisk-core-sounds-ru-wav", "asterisk", _asterisk("ru", "ivrvoice"), stanza="ru-*"),
    Source("asterisk-prompt-it-menardi-wav", "asterisk", _asterisk("it", "menardi")),
    Source(
        "asterisk-prompt-fr-armelle",
        "asterisk",
        _asterisk("fr", "armelle"),
        licence="permissive (redistribution with notice; see copyright)",
    ),
    Source("asterisk-prompt-es-co", "asterisk", _asterisk("es", "july"), licence="GPL-2"),
    Source(
        "codec2-examples", "codec2", _codec2, stanza="wav/*", note="codec2 reference recordings"
    ),
)
# Looked at and not used: gcompris-qt-data ships no voices (GCompris downloads them at run time);
# hedgewars-data voices are pitch-shifted cartoon characters; asterisk-core-sounds-es-wav is the
# same speaker as -en (Allison Smith).

# KTuberling (KDE) names the parts of a picture aloud, one folder per language, one voice each.
# Only languages without a voice in the benchmark set above are used: KDE's volunteers may have
# recorded both KLettres and KTuberling in their language, and Norwegian Nynorsk (nn) could be
# KLettres' Bokmal (nb) speaker. Of these, fi, gl and sr are too hissy for the dynamic-range check
# and sv is 8 kHz telephone band (left out of training by MIN_TRAIN_RATE): ca, el, ga, ro, sl and
# wa remain (about 2 minutes of speech). When the benchmark set has been built, its manifest is
# also read at run time and any language it holds is skipped (benchmark_languages).
KTUBERLING_LANGS = ("ca", "el", "fi", "ga", "gl", "ro", "sl", "sr", "sv", "wa")
MIN_TRAIN_RATE = 16_000  # a training voice must cover the whole 0-8 kHz band


def _ktuberling(root: Path) -> list[Group]:
    base = root / "usr/share/ktuberling/sounds"
    groups = []
    for lang in KTUBERLING_LANGS:
        files = _sorted([p for p in (base / lang).glob("*") if p.suffix in (".ogg", ".wav")])
        if files:
            groups.append(Group(lang, lang, files, 12))
    return groups


TRAIN_SOURCES: tuple[Source, ...] = (
    Source("ktuberling-data", "ktuberling", _ktuberling, note="KTuberling's words, 6 languages"),
)
SETS = {
    "benchmark": (SOURCES, "realspeech", 0),
    "train": (TRAIN_SOURCES, "realspeech_train", MIN_TRAIN_RATE),
}


def _run(cmd: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)


def package_size_mb(package: str) -> float | None:
    """Return the .deb size in MB from ``apt-cache show``, or None when apt knows no such package."""
    res = _run(["apt-cache", "show", "--no-all-versions", package])
    m = re.search(r"^Size:\s*(\d+)", res.stdout, re.M)
    return int(m.group(1)) / 1e6 if res.returncode == 0 and m else None


def fetch_package(package: str, work: Path) -> tuple[Path, str] | None:
    """Download and unpack ``package`` under ``work``; return (root, version) or None on failure."""
    work.chmod(0o777)  # apt-get download drops to the _apt user, who must write here
    res = _run(["apt-get", "download", package], cwd=work)
    debs = sorted(work.glob(f"{package}_*.deb"))
    if res.returncode != 0 or not debs:
        print(f"  skip {package}: apt-get download failed: {res.stderr.strip()[-200:]}")
        return None
    root = work / "root"
    res = _run(["dpkg-deb", "-x", str(debs[0]), str(root)])
    if res.returncode != 0:
        print(f"  skip {package}: dpkg-deb -x failed: {res.stderr.strip()[-200:]}")
        return None
    version = _run(["dpkg-deb", "-f", str(debs[0]), "Version"]).stdout.strip()
    debs[0].unlink()
    return root, version


def read_licence(root: Path, source: Source) -> str:
    """Return the licence the package's copyright file states for its speech files."""
    path = root / "usr/share/doc" / source.package / "copyright"
    text = path.read_text(errors="replace") if path.exists() else ""
    if text.startswith("Format:"):  # machine-readable (DEP-5): find the stanza for the speech
        for stanza in re.split(r"\n\s*\n", text):
            files = re.search(r"^Files:\s*(.+)$", stanza, re.M)
            lic = re.search(r"^License:\s*(\S.*)$", stanza, re.M)
            if files and lic and source.stanza in files.group(1).split():
                return lic.group(1).strip()
    if source.licence:
        return source.licence
    return f"unknown (see /usr/share/doc/{source.package}/copyright)"


def decode(path: Path, tmp: Path) -> tuple[np.ndarray, int]:
    """Return (float32 mono audio at 16 kHz, original sample rate) decoded by sox."""
    out = tmp / "decoded.wav"
    res = _run(
        ["sox", str(path), "-e", "floating-point", "-b", "32", "-c", "1", str(out)]
        + ["rate", "-v", str(SR)]
    )
    if res.returncode != 0:
        raise ValueError(f"{path.name}: sox could not decode it ({res.stderr.strip()[-200:]})")
    orig_sr = int(float(_run(["soxi", "-r", str(path)]).stdout.strip() or 0))
    wav, _ = sf.read(str(out), dtype="float32")
    return wav, orig_sr


def frame_db(wav: np.ndarray, hop: int = SR // 100) -> np.ndarray:
    """Return the energy in dB of each 10 ms frame."""
    n = len(wav) // hop
    return 10 * np.log10(np.mean(wav[: n * hop].reshape(n, hop) ** 2, axis=1) + 1e-12)


def dynamic_range_db(wav: np.ndarray) -> float:
    """Return the gap in dB between loud (95th pct) and quiet (5th pct) frames: low means noisy."""
    db = frame_db(wav)
    return float(np.percentile(db, 95) - np.percentile(db, 5)) if len(db) >= 10 else 0.0


def trim(wav: np.ndarray) -> np.ndarray:
    """Return ``wav`` cut to its speech plus EDGE_S either side, long inner pauses shortened."""
    hop = SR // 100
    db = frame_db(wav, hop)
    # Silence is far below the peak, or (in a hissy recording) just above the noise floor.
    loud = db > max(db.max() - TRIM_DB, np.percentile(db, 10) + NOISE_MARGIN_DB)
    idx = np.flatnonzero(loud)
    edge = int(EDGE_S * SR)
    keep = np.zeros(len(wav), bool)
    keep[max(0, idx[0] * hop - edge) : min(len(wav), (idx[-1] + 1) * hop + edge)] = True
    # Some recordings hold seconds of silence between two words; keep MAX_PAUSE_S of each.
    half = int(MAX_PAUSE_S * SR / 2)
    quiet_runs = np.flatnonzero(
        np.diff(np.concatenate([[1], loud[idx[0] : idx[-1] + 1], [1]]).astype(int))
    )
    for start, stop in zip(quiet_runs[::2], quiet_runs[1::2], strict=True):
        a, b = (idx[0] + start) * hop, (idx[0] + stop) * hop
        if b - a > 2 * half:
            keep[a + half : b - half] = False
    return wav[keep]


def split_long(wav: np.ndarray) -> list[np.ndarray]:
    """Return ``wav`` cut into pieces of at most MAX_S s, each cut at the quietest 10 ms frame."""
    hop = SR // 100
    pieces, start = [], 0
    while len(wav) - start > MAX_S * SR:
        lo, hi = start + int(MIN_S * SR), start + int((MAX_S - 0.5) * SR)
        db = frame_db(wav[lo:hi], hop)
        cut = lo + int(np.argmin(db)) * hop + hop // 2
        pieces.append(wav[start:cut])
        start = cut
    pieces.append(wav[start:])
    return [trim(p) for p in pieces if len(p) > 0.3 * SR]


def utterances(group: Group, tmp: Path) -> list[tuple[np.ndarray, list[Path], int, float]]:
    """Return (audio, source files, original rate, worst dynamic range) per built utterance."""
    gap = np.zeros(int(GAP_S * SR), np.float32)
    out: list[tuple[np.ndarray, list[Path], int, float]] = []
    cur: list[np.ndarray] = []
    cur_files: list[Path] = []
    cur_dr: list[float] = []
    orig_sr = 0

    def length(parts: list[np.ndarray]) -> float:
        return (sum(len(p) for p in parts) + len(gap) * max(0, len(parts) - 1)) / SR

    def emit() -> None:
        joined = np.concatenate([x for p in cur for x in (p, gap)][:-1])
        out.append((joined, list(dict.fromkeys(cur_files)), orig_sr, min(cur_dr)))

    # Walk files in order, spreading the picks over the folder when it holds many files.
    stride = max(1, len(group.files) // (group.max_utts * 6))
    for path in group.files[::stride]:
        if len(out) >= group.max_utts:
            break
        try:
            wav, sr = decode(path, tmp)
        except ValueError as exc:
            print(f"  {exc}; skipped")
            continue
        dr = dynamic_range_db(wav)
        if len(wav) < 0.2 * SR or dr < MIN_DYNAMIC_RANGE_DB or np.abs(wav).max() == 0:
            continue
        orig_sr = min(orig_sr, sr) if orig_sr else sr
        for piece in split_long(trim(wav)):
            if cur and length(cur + [piece]) > MAX_S:
                if length(cur) >= MIN_S:
                    emit()
                cur, cur_files, cur_dr = [], [], []
            cur.append(piece)
            cur_files.append(path)
            cur_dr.append(dr)
            if length(cur) >= MIN_S:
                emit()
                cur, cur_files, cur_dr = [], [], []
                if len(out) >= group.max_utts:
                    break
    # A single short recording (codec2's 1.6-2 s originals) still makes a usable utterance.
    if cur and len(out) < group.max_utts and length(cur) >= MIN_LAST_S:
        emit()
    return out


def base_language(code: str) -> str:
    """Return the language of a locale code without region or script: "pt_BR", "sr@latin" -> "pt", "sr"."""
    return re.split(r"[_\-@]", code.lower())[0]


def benchmark_languages(manifest: Path) -> set[str]:
    """Return the base languages of a built set's manifest, or an empty set when there is none."""
    if not manifest.exists():
        return set()
    with open(manifest, newline="") as f:
        return {base_language(row["language"]) for row in csv.DictReader(f) if row.get("language")}


def keep_groups(groups: list[Group], skip_languages: set[str]) -> list[Group]:
    """Return the groups whose base language is not in ``skip_languages`` (printing the others)."""
    kept = []
    for group in groups:
        if base_language(group.language) in skip_languages:
            print(
                f"  {group.speaker}: skipped, the benchmark set has a voice in {group.language!r}"
            )
        else:
            kept.append(group)
    return kept


def gather(
    out_dir: Path,
    only: set[str] | None,
    max_mb: float,
    sources: tuple[Source, ...] = SOURCES,
    min_rate: int = 0,
    skip_languages: set[str] | None = None,
) -> list[dict[str, str]]:
    """Fetch every source, write the utterances and return the manifest rows.

    Utterances whose original sample rate is below ``min_rate`` are skipped, and so are groups in
    ``skip_languages``."""
    rows: list[dict[str, str]] = []
    for source in sources:
        if only and source.package not in only:
            continue
        size = package_size_mb(source.package)
        if size is None:
            print(f"skip {source.package}: apt-cache knows no such package (apt-get update?)")
            continue
        if size > max_mb:
            print(f"skip {source.package}: {size:.0f} MB > {max_mb:.0f} MB")
            continue
        print(f"{source.package} ({size:.0f} MB)")
        with tempfile.TemporaryDirectory(prefix="realspeech_") as t:
            work = Path(t)
            fetched = fetch_package(source.package, work)
            if fetched is None:
                continue
            root, version = fetched
            licence = read_licence(root, source)
            for group in keep_groups(source.groups(root), skip_languages or set()):
                made = [u for u in utterances(group, work) if u[2] >= min_rate]
                for n, (wav, files, orig_sr, dr) in enumerate(made, start=1):
                    name = f"{source.tag}_{group.speaker}_{n:02d}.wav"
                    wav = wav / np.abs(wav).max() * 10 ** (PEAK_DBFS / 20)
                    save_audio(out_dir / name, wav[None, :].astype(np.float32), SR)
                    rows.append(
                        {
                            "file": name,
                            "package": source.package,
                            "version": version,
                            "licence": licence,
                            "original_paths": ";".join(
                                "/" + str(f.relative_to(root)) for f in files
                            ),
                            "duration_s": f"{len(wav) / SR:.3f}",
                            "speaker": group.speaker,
                            "language": group.language,
                            "orig_sample_rate": str(orig_sr),
                            "dynamic_range_db": f"{dr:.1f}",
                        }
                    )
                print(f"  {group.speaker}: {len(made)} utterance(s)")
    return rows


def previous_files(out: Path) -> set[str]:
    """Return the WAV names that ``out/manifest.csv`` lists (a previous run's), plain names only."""
    manifest = out / "manifest.csv"
    if not manifest.exists():
        return set()
    with open(manifest, newline="") as f:
        names = {row.get("file", "") for row in csv.DictReader(f)}
    # Only plain names ending in .wav that sit directly in ``out``: a hand-edited manifest cannot
    # point the deletion anywhere else.
    return {n for n in names if n.endswith(".wav") and Path(n).name == n}


def remove_previous(out: Path) -> None:
    """Delete the WAV files that ``out/manifest.csv`` lists (a previous run's), nothing else."""
    for name in previous_files(out):
        if (out / name).is_file():
            (out / name).unlink()


def main(argv: list[str] | None = None) -> int:
    """Build the chosen set (data/realspeech/ by default); return 0, or 1 when nothing was gathered."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--set",
        choices=sorted(SETS),
        default="benchmark",
        help="benchmark voices (default) or the separate training voices",
    )
    parser.add_argument(
        "--out", type=Path, help="output folder (default: data/realspeech or data/realspeech_train)"
    )
    parser.add_argument("--only", nargs="+", metavar="PKG", help="fetch only these packages")
    parser.add_argument("--max-mb", type=float, default=MAX_PACKAGE_MB, help="skip bigger packages")
    args = parser.parse_args(argv)
    missing = [
        t for t in ("apt-get", "apt-cache", "dpkg-deb", "sox", "soxi") if not shutil.which(t)
    ]
    if missing:
        print(
            f"error: needs {', '.join(missing)} (a Debian/Ubuntu system with sox)", file=sys.stderr
        )
        return 1
    sources, folder, min_rate = SETS[args.set]
    out: Path = args.out or ROOT / "data" / folder
    out.mkdir(parents=True, exist_ok=True)
    # Training voices never share a language with the benchmark's (see KTUBERLING_LANGS).
    skip = (
        benchmark_languages(ROOT / "data" / "realspeech" / "manifest.csv")
        if args.set == "train"
        else set()
    )
    # Built in a hidden folder first: the previous set is replaced only by a complete new one.
    staging = Path(tempfile.mkdtemp(prefix=".fetch-", dir=out))
    try:
        rows = gather(
            staging, set(args.only) if args.only else None, args.max_mb, sources, min_rate, skip
        )
        if not rows:
            print(f"error: nothing gathered; {out} is left as it was", file=sys.stderr)
            return 1
        ours = previous_files(out)
        taken = sorted(
            r["file"] for r in rows if (out / r["file"]).exists() and r["file"] not in ours
        )
        if taken:
            print(
                f"error: {out / taken[0]} exists and is not from a previous run of this script; "
                "move it or choose another --out",
                file=sys.stderr,
            )
            return 1
        remove_previous(out)
        for row in rows:
            os.replace(staging / row["file"], out / row["file"])
        tmp = out / ".manifest.csv.part"
        with open(tmp, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=MANIFEST_FIELDS)
            writer.writeheader()
            writer.writerows(rows)
        os.replace(tmp, out / "manifest.csv")
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    speakers = {(r["package"], r["speaker"]) for r in rows}
    seconds = sum(float(r["duration_s"]) for r in rows)
    print(f"wrote {len(rows)} files, {len(speakers)} speakers, {seconds:.1f} s to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
