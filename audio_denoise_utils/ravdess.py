"""RAVDESS: download (progress, resume, md5), safe extraction, filename metadata, actor split.

RAVDESS (Livingstone & Russo, 2018) names every clip ``MM-VV-EE-II-SS-RR-AA.wav``: modality, vocal
channel, emotion, intensity, statement, repetition and actor (odd actors are male, even female).
The audio-speech archive on Zenodo holds 1440 clips in ``Actor_01/`` .. ``Actor_24/`` folders.

Layout of a download into ``DEST`` (default ``<home>/data/ravdess``, see :mod:`.paths`)::

    DEST/.download/<name>.part   partial archive, kept between runs so a download can resume
    DEST/.install/               staging while an archive is extracted and swapped in (transient)
    DEST/Actor_01/...            extracted clips (moved in only once the whole archive extracted)
    DEST/.complete               JSON marker: archive md5, file count, top-level entries

The marker is written last, so ``is_complete(DEST)`` is true only for a finished extraction.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import re
import shutil
import ssl
import stat
import urllib.error
import urllib.parse
import urllib.request
import warnings
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import pandas as pd

from . import paths
from .engine import install as _txn
from .engine.checks import check_number
from .engine.install import DOWNLOAD_DIR, read_marker, swap_pending
from .engine.install import MARKER_NAME as MARKER_NAME  # re-exported: tests and notebooks
from .engine.paths import check_writable_dir, describe_os_error
from .errors import (
    AudioDenoiseError,
    AudioLoadError,
    ChecksumError,
    DownloadError,
    InvalidArgumentError,
    MetadataError,
    OutputError,
    UnsafeArchiveError,
)

PathLike = str | os.PathLike

RAVDESS_URL = "https://zenodo.org/records/1188976/files/Audio_Speech_Actors_01-24.zip?download=1"
RAVDESS_SIZE = 208_468_073
RAVDESS_MD5 = "bc696df654c87fed845eb13823edef8a"

#: Speaker-independent split of the 24 RAVDESS actors (each split holds both genders).
RAVDESS_VAL_ACTORS: tuple[int, ...] = (19, 20)
RAVDESS_TEST_ACTORS: tuple[int, ...] = (21, 22, 23, 24)

_CHUNK = 1 << 16
_USER_AGENT = "audio-denoise-utils (+https://github.com/; RAVDESS course download)"

# ---------------------------------------------------------------------------------------------
# Filename metadata
# ---------------------------------------------------------------------------------------------

MODALITIES = {1: "full-AV", 2: "video-only", 3: "audio-only"}
VOCAL_CHANNELS = {1: "speech", 2: "song"}
EMOTIONS = {
    1: "neutral",
    2: "calm",
    3: "happy",
    4: "sad",
    5: "angry",
    6: "fearful",
    7: "disgust",
    8: "surprised",
}
INTENSITIES = {1: "normal", 2: "strong"}
STATEMENTS = {1: "Kids are talking by the door", 2: "Dogs are sitting by the door"}
REPETITIONS = (1, 2)
ACTORS = range(1, 25)

_FIELD_NAMES = (
    "modality",
    "vocal channel",
    "emotion",
    "intensity",
    "statement",
    "repetition",
    "actor",
)


@dataclass(frozen=True)
class RavdessMeta:
    """Metadata encoded in one RAVDESS file name."""

    modality: str  # "full-AV" | "video-only" | "audio-only"
    vocal_channel: str  # "speech" | "song"
    emotion: str  # "neutral" .. "surprised"
    intensity: str  # "normal" | "strong"
    statement: int  # 1 or 2
    text: str  # the sentence spoken
    repetition: int  # 1 or 2
    actor: int  # 1..24
    gender: str  # "male" (odd actor) | "female" (even actor)


META_COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(RavdessMeta))


def parse_filename(name_or_path: PathLike) -> RavdessMeta:
    """Return the :class:`RavdessMeta` of a RAVDESS file name, raising MetadataError if malformed."""
    label = str(name_or_path)  # the message names the file as the caller knows it
    name = Path(name_or_path).name
    stem = name.split(".", 1)[0] if "." in name else name
    parts = stem.split("-")
    if len(parts) != 7:
        raise MetadataError(
            f"{label}: expected 7 fields MM-VV-EE-II-SS-RR-AA separated by '-', found {len(parts)}"
        )
    codes = []
    for field, part in zip(_FIELD_NAMES, parts, strict=True):
        if not (len(part) == 2 and part.isascii() and part.isdigit()):
            raise MetadataError(f"{label}: {field} field {part!r} is not a two-digit number")
        codes.append(int(part))
    modality, channel, emotion, intensity, statement, repetition, actor = codes

    def check(field: str, code: int, allowed: Iterable[int]) -> None:
        valid = list(allowed)
        if code not in valid:
            raise MetadataError(
                f"{label}: {field} code {code:02d} is out of range ({min(valid):02d}..{max(valid):02d})"
            )

    check("modality", modality, MODALITIES)
    check("vocal channel", channel, VOCAL_CHANNELS)
    check("emotion", emotion, EMOTIONS)
    check("intensity", intensity, INTENSITIES)
    check("statement", statement, STATEMENTS)
    check("repetition", repetition, REPETITIONS)
    check("actor", actor, ACTORS)
    if emotion == 1 and intensity == 2:
        raise MetadataError(f"{label}: intensity 02 (strong) is not used with emotion 01 (neutral)")
    return RavdessMeta(
        modality=MODALITIES[modality],
        vocal_channel=VOCAL_CHANNELS[channel],
        emotion=EMOTIONS[emotion],
        intensity=INTENSITIES[intensity],
        statement=statement,
        text=STATEMENTS[statement],
        repetition=repetition,
        actor=actor,
        gender="male" if actor % 2 else "female",
    )


def _wav_files(root: Path) -> list[Path]:
    """All *.wav files below ``root``, skipping hidden folders (downloads, temp dirs)."""
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        found += [Path(dirpath, f) for f in filenames if f.lower().endswith(".wav")]
    return found


def list_clips(root: PathLike, with_duration: bool = False, strict: bool = True) -> pd.DataFrame:
    """Return one row per WAV file below ``root``: ``path`` + metadata columns, sorted by path.

    ``path`` holds strings (``root`` joined with the file's relative path). With
    ``with_duration=True`` a ``duration`` column (seconds) is added from the file headers. A
    malformed name raises MetadataError, or with ``strict=False`` is skipped with a warning.
    """
    root = Path(root)
    if not root.is_dir():
        raise AudioLoadError(
            f"{root}: no such directory (run `audio-denoise download` for RAVDESS)"
        )
    rows = []
    skipped = []
    for path in sorted(_wav_files(root)):
        try:
            meta = parse_filename(path)
        except MetadataError as exc:
            if strict:
                raise
            skipped.append(str(exc))
            continue
        row = {"path": str(path), **asdict(meta)}
        if with_duration:
            from .audio import audio_info  # lazy: keeps metadata work free of torch imports

            row["duration"] = audio_info(path).duration
        rows.append(row)
    if skipped:
        shown = "; ".join(skipped[:3]) + (" ..." if len(skipped) > 3 else "")
        warnings.warn(
            f"{root}: skipped {len(skipped)} file(s) with non-RAVDESS names: {shown}", stacklevel=2
        )
    columns = ["path", *META_COLUMNS] + (["duration"] if with_duration else [])
    table = pd.DataFrame(rows, columns=columns)
    for col in ("statement", "repetition", "actor"):
        table[col] = table[col].astype("int64")
    if with_duration:
        table["duration"] = table["duration"].astype("float64")
    return table


# ---------------------------------------------------------------------------------------------
# Speaker-independent split
# ---------------------------------------------------------------------------------------------


class SplitError(AudioDenoiseError, ValueError):
    """A table cannot be split by actor as asked (too few actors, overlap, empty split)."""


def _pick_balanced(actors: Sequence[int], k: int) -> list[int]:
    """The ``k`` highest-numbered actors, alternating genders while both are available."""
    male = sorted((a for a in actors if a % 2), reverse=True)
    female = sorted((a for a in actors if a % 2 == 0), reverse=True)
    picked: list[int] = []
    n_male = n_female = 0
    while len(picked) < k and (male or female):
        # Take from the gender picked less so far; on a tie, the higher actor number.
        if not male:
            take_male = False
        elif not female:
            take_male = True
        elif n_male != n_female:
            take_male = n_male < n_female
        else:
            take_male = male[0] > female[0]
        if take_male:
            picked.append(male.pop(0))
            n_male += 1
        else:
            picked.append(female.pop(0))
            n_female += 1
    return sorted(picked)


def format_actors(actors: Iterable[int]) -> str:
    """Return actor numbers as short readable text: runs of three or more as ranges ("1-18")."""
    nums = sorted({int(a) for a in actors})
    parts: list[str] = []
    i = 0
    while i < len(nums):
        j = i
        while j + 1 < len(nums) and nums[j + 1] == nums[j] + 1:
            j += 1
        if j - i >= 2:
            parts.append(f"{nums[i]}-{nums[j]}")
        else:
            parts.extend(str(n) for n in nums[i : j + 1])
        i = j + 1
    return ", ".join(parts)


def split_by_actor(
    table: pd.DataFrame,
    val_actors: Sequence[int] | None = None,
    test_actors: Sequence[int] | None = None,
) -> dict[str, pd.DataFrame]:
    """Return ``{"train", "val", "test"}`` tables with no actor in two splits (speaker-independent).

    Defaults: when the table holds all 24 RAVDESS actors, test = actors 21-24 and val = 19-20
    (both genders in every split). For any other set of actors (the bundled sample, a filtered
    table) the choice is deterministic from the actors present: test takes the highest-numbered
    ``max(1, round(n / 6))`` actors, alternating male/female where possible, val the next
    ``max(1, round(n / 6))`` picked the same way, train the rest. An explicit ``val_actors`` or
    ``test_actors`` is used as given; a missing one is then picked by the rule above from the
    actors left. Raises SplitError for fewer than 3 actors, overlapping lists or an empty split.
    """
    if not isinstance(table, pd.DataFrame):
        raise SplitError(f"expected a table from list_clips(), got {type(table).__name__}")
    if "actor" not in table.columns:
        raise SplitError("table has no 'actor' column (build it with list_clips())")
    present = sorted(int(a) for a in table["actor"].unique())
    if len(present) < 3:
        raise SplitError(
            f"need clips from at least 3 actors for a train/val/test split, found {len(present)} "
            f"({present})"
        )
    if val_actors is None and test_actors is None and set(present) == set(ACTORS):
        val_actors, test_actors = RAVDESS_VAL_ACTORS, RAVDESS_TEST_ACTORS
    k = max(1, round(len(present) / 6))
    if test_actors is None:
        taken = set(val_actors or ())
        test_actors = _pick_balanced([a for a in present if a not in taken], k)
    if val_actors is None:
        val_actors = _pick_balanced([a for a in present if a not in set(test_actors)], k)
    val_set, test_set = {int(a) for a in val_actors}, {int(a) for a in test_actors}
    if val_set & test_set:
        raise SplitError(f"actors {sorted(val_set & test_set)} are in both val and test")
    train_set = set(present) - val_set - test_set
    splits = {
        "train": table[table["actor"].isin(train_set)].reset_index(drop=True),
        "val": table[table["actor"].isin(val_set)].reset_index(drop=True),
        "test": table[table["actor"].isin(test_set)].reset_index(drop=True),
    }
    for key, part in splits.items():
        if part.empty:
            raise SplitError(
                f"the {key} split is empty (actors present: {present}, val {sorted(val_set)}, "
                f"test {sorted(test_set)})"
            )
    groups = [set(part["actor"]) for part in splits.values()]
    assert not (groups[0] & groups[1] or groups[0] & groups[2] or groups[1] & groups[2])
    return splits


# ---------------------------------------------------------------------------------------------
# Safe extraction
# ---------------------------------------------------------------------------------------------

_DRIVE = re.compile(r"^[A-Za-z]:")


def _check_member(info: zipfile.ZipInfo, dest: Path, zip_path: Path) -> Path | None:
    """Return the target path of a regular file entry, None for a directory; raise if unsafe."""
    name = info.filename
    where = f"{zip_path}: entry {name!r}"
    if not name or "\x00" in name:
        raise UnsafeArchiveError(f"{where} has an empty or invalid name")
    # Backslashes are separators on Windows, so judge them as such everywhere.
    norm = name.replace("\\", "/")
    if norm.startswith("/") or _DRIVE.match(norm):
        raise UnsafeArchiveError(f"{where} is an absolute path")
    parts = [p for p in norm.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise UnsafeArchiveError(f"{where} contains a '..' component")
    mode = info.external_attr >> 16
    kind = stat.S_IFMT(mode)
    if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
        what = "a symbolic link" if kind == stat.S_IFLNK else "not a regular file or directory"
        raise UnsafeArchiveError(f"{where} is {what}")
    if not parts:
        return None
    target = dest.joinpath(*parts)
    # Belt and braces: an existing symlink inside dest must not lead the entry outside.
    if not target.resolve().is_relative_to(dest.resolve()):
        raise UnsafeArchiveError(f"{where} would be written outside {dest}")
    return None if info.is_dir() or kind == stat.S_IFDIR else target


def safe_extract(zip_path: PathLike, dest: PathLike) -> list[Path]:
    """Extract a zip into ``dest`` and return the extracted file paths, refusing unsafe archives.

    Every entry is checked before anything is written: absolute paths, ``..`` components and
    entries whose external attributes mark a symlink or other non-regular file raise
    UnsafeArchiveError. Existing files are never overwritten. If extraction fails half-way, the
    files and folders it made are removed.
    """
    zip_path, dest = Path(zip_path), Path(dest)
    made_dirs: list[Path] = []
    written: list[Path] = []
    try:
        with zipfile.ZipFile(zip_path) as zf:
            members = zf.infolist()
            targets = [(info, _check_member(info, dest, zip_path)) for info in members]
            for d in [dest, *(dest.joinpath(*_parts(i.filename)) for i, t in targets if t is None)]:
                made_dirs += _mkdirs(d)
            for info, target in targets:
                if target is None:
                    continue
                made_dirs += _mkdirs(target.parent)
                # "xb": never follow or overwrite something already at the target.
                with zf.open(info) as src, open(target, "xb") as out:
                    written.append(target)
                    shutil.copyfileobj(src, out, _CHUNK)
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        EOFError,
        NotImplementedError,
        RuntimeError,
    ) as exc:
        _undo(written, made_dirs)
        raise UnsafeArchiveError(f"{zip_path}: not a readable zip archive ({exc})") from None
    except FileExistsError as exc:
        _undo(written, made_dirs)
        raise UnsafeArchiveError(f"{zip_path}: entry would overwrite {exc.filename}") from None
    except BaseException:
        _undo(written, made_dirs)
        raise
    return written


def _parts(name: str) -> list[str]:
    return [p for p in name.replace("\\", "/").split("/") if p not in ("", ".")]


def _mkdirs(path: Path) -> list[Path]:
    """mkdir -p, returning the folders that did not exist before (outermost first)."""
    missing = []
    p = path
    while not p.exists():
        missing.append(p)
        p = p.parent
    missing.reverse()
    for d in missing:
        d.mkdir()
    return missing


def _undo(files: list[Path], dirs: list[Path]) -> None:
    for f in files:
        f.unlink(missing_ok=True)
    for d in reversed(dirs):
        shutil.rmtree(d, ignore_errors=True)


# ---------------------------------------------------------------------------------------------
# Completion marker
# ---------------------------------------------------------------------------------------------


def _count_files(dest: Path, entries: Iterable[str]) -> int:
    n = 0
    for entry in entries:
        p = dest / entry
        if p.is_file():
            n += 1
        elif p.is_dir():
            n += sum(len(files) for _, _, files in os.walk(p))
    return n


def is_complete(dest: PathLike, md5: str | None = None) -> bool:
    """Return True if ``dest`` holds a finished extraction (and, if given, of the archive ``md5``).

    Cheap: reads the ``.complete`` marker and counts the files below the entries it lists, without
    hashing any audio.
    """
    dest = Path(dest)
    marker = read_marker(dest)
    if marker is None or swap_pending(dest):
        return False
    if md5 is not None and str(marker.get("md5", "")).lower() != md5.lower():
        return False
    return _count_files(dest, marker["entries"]) == marker.get("files")


# ---------------------------------------------------------------------------------------------
# Download
# ---------------------------------------------------------------------------------------------


def _archive_name(url: str) -> str:
    name = Path(urllib.parse.urlparse(url).path).name
    name = re.sub(r"[^A-Za-z0-9._-]", "_", name).lstrip(".")
    return name or "download.zip"


def _md5(path: Path) -> str:
    h = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


# Failures worth a retry with Range; "connection refused" and DNS errors are not among them.
_TRANSIENT = (
    TimeoutError,
    ConnectionResetError,
    ConnectionAbortedError,
    BrokenPipeError,
    ssl.SSLEOFError,
    http.client.HTTPException,
)


class _Dropped(Exception):
    """The connection broke mid-stream; the part file keeps what arrived."""


def _fetch(url: str, part: Path, timeout: float, bar: Any, retries: int) -> None:
    """Download ``url`` into ``part``, resuming from its size with HTTP Range when possible."""
    failures = 0
    while True:
        offset = part.stat().st_size if part.exists() else 0
        try:
            _fetch_once(url, part, offset, timeout, bar)
            return
        except _Dropped as exc:
            # Only attempts that brought no new bytes count against the retry budget.
            grown = part.exists() and part.stat().st_size > offset
            failures = 0 if grown else failures + 1
            if failures > retries:
                raise DownloadError(
                    f"{url}: connection kept failing ({exc}); run again to resume"
                ) from None


def _fetch_once(url: str, part: Path, offset: int, timeout: float, bar: Any) -> None:
    """One request; returns when ``part`` holds the whole body, raises _Dropped if it broke off."""
    headers = {"User-Agent": _USER_AGENT}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    try:
        req = urllib.request.Request(url, headers=headers)
        resp = urllib.request.urlopen(req, timeout=timeout)
    except urllib.error.HTTPError as exc:
        exc.close()
        if exc.code == 416 and offset:
            return  # the part already holds the whole file (or more): size/md5 checks judge it
        raise DownloadError(f"{url}: server answered HTTP {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, _TRANSIENT):
            raise _Dropped(f"{type(exc.reason).__name__}: {exc.reason}") from None
        raise DownloadError(f"{url}: cannot connect ({exc.reason})") from None
    except _TRANSIENT as exc:
        raise _Dropped(f"{type(exc).__name__}: {exc}") from None
    except ValueError as exc:  # malformed URL or unknown scheme
        raise DownloadError(f"{url}: invalid URL ({exc})") from None
    with resp:
        length = resp.headers.get("Content-Length")
        expected = int(length) if length and length.isdigit() else None
        if offset and resp.status == 206:
            content_range = resp.headers.get("Content-Range", "")
            matches, total = _parse_content_range(content_range, offset)
            if not matches:  # a 206 for another range than asked: drop the part, start over
                part.unlink(missing_ok=True)
                raise _Dropped(f"server sent Content-Range {content_range!r} for offset {offset}")
            mode = "ab"
        else:
            # No Range sent, or the server ignored it (200 with the whole file): restart at 0.
            mode, total = "wb", expected
            bar.reset()
        if total is not None and bar.total != total:
            bar.total = total
            bar.refresh()
        got = 0
        with open(part, mode) as out:
            while True:
                try:
                    block = resp.read(_CHUNK)
                except _TRANSIENT as exc:
                    raise _Dropped(f"{type(exc).__name__}: {exc}") from None
                if not block:
                    break
                out.write(block)
                got += len(block)
                bar.update(len(block))
    # http.client returns b"" when the peer closes early instead of raising: compare lengths.
    if expected is not None and got < expected:
        raise _Dropped(f"stream ended after {got} of {expected} bytes")


def _parse_content_range(header: str, offset: int) -> tuple[bool, int | None]:
    """``(starts at offset, total size or None)`` from ``Content-Range: bytes START-END/TOTAL``."""
    m = re.fullmatch(r"\s*bytes\s+(\d+)-(\d+)/(\d+|\*)\s*", header)
    if not m or int(m.group(1)) != offset:
        return False, None
    return True, (int(m.group(3)) if m.group(3) != "*" else None)


def _verify(archive: Path, url: str, md5: str | None, size: int | None) -> str:
    """Return the archive's md5; delete it and raise ChecksumError on a size or md5 mismatch."""
    actual_size = archive.stat().st_size
    if size is not None and actual_size != size:
        archive.unlink(missing_ok=True)
        raise ChecksumError(
            f"{archive.name} from {url}: size is {actual_size} bytes, expected {size} "
            "(bad file deleted; run again to re-download)"
        )
    actual = _md5(archive)
    if md5 is not None and actual != md5.lower():
        archive.unlink(missing_ok=True)
        raise ChecksumError(
            f"{archive.name} from {url}: md5 is {actual}, expected {md5.lower()} "
            "(bad file deleted; run again to re-download)"
        )
    return actual


def download_ravdess(
    dest: PathLike | None = None,
    url: str = RAVDESS_URL,
    md5: str | None = RAVDESS_MD5,
    size: int | None = RAVDESS_SIZE,
    progress: bool = True,
    timeout: float = 60.0,
    retries: int = 3,
) -> Path:
    """Download and extract the RAVDESS audio-speech archive into ``dest``; return ``dest``.

    * ``dest`` defaults to :func:`paths.ravdess_dir`, where the course reads RAVDESS; any other
      folder gets an :class:`UnreadLocationWarning` (pass it as ``data_dir``/``--data``).

    * A complete ``dest`` (see :func:`is_complete`) returns at once without any network request.
    * The archive streams into ``dest/.download/<name>.part`` with a tqdm progress bar. A partial
      file from an earlier run is resumed with an HTTP Range request (restarted if the server
      ignores Range); a connection dropped mid-stream is resumed up to ``retries`` times in a row.
    * Size and md5 are checked (``None`` skips a check, for custom URLs); on a mismatch the file
      is deleted and ChecksumError raised.
    * Extraction goes to a hidden staging folder inside ``dest`` (so it works when ``dest`` is a
      mount point) and is moved in only when complete; an unsafe archive raises
      UnsafeArchiveError. The install is transactional (see ``engine/install.py``): whatever
      fails during a re-download, the previous complete download stays complete and recognised
      as such, and the same command works again afterwards.
    * HTTP errors, unreachable servers, a full disk or a read-only ``dest`` raise DownloadError
      (or OutputError) with a one-line message.
    """
    from tqdm.auto import tqdm  # lazy: tqdm.auto probes for a notebook frontend on import

    dest = Path(dest) if dest is not None else paths.ravdess_dir()
    note = unread_location_note(dest)
    if note:
        warnings.warn(note, UnreadLocationWarning, stacklevel=2)
    if md5 is not None and not re.fullmatch(r"[0-9a-fA-F]{32}", str(md5)):
        raise InvalidArgumentError(f"md5 {md5!r} is not 32 hexadecimal digits")
    if size is not None:
        size = int(check_number(size, "size", low=1, unit="bytes"))
    try:
        if (dest / _txn.STAGING_DIR).exists():
            _txn.recover(dest)  # an install killed half-way: finish it before judging dest
    except OSError as exc:
        raise DownloadError(
            f"{dest}: cannot recover an interrupted install ({describe_os_error(exc)})"
        ) from None
    marker = read_marker(dest)
    if marker is not None and is_complete(dest, md5):
        if md5 is not None or marker.get("url") == url:
            return dest
    check_writable_dir(dest, "download folder")  # before any request: read-only places fail fast

    created_dest = not dest.exists()
    download_dir = dest / DOWNLOAD_DIR
    name = _archive_name(url)
    archive = download_dir / name
    part = download_dir / f"{name}.part"
    try:
        download_dir.mkdir(parents=True, exist_ok=True)
        if archive.exists():
            # Left by a run that stopped after downloading: reuse it if it checks out.
            try:
                actual_md5 = _verify(archive, url, md5, size)
            except ChecksumError:
                actual_md5 = None
        else:
            actual_md5 = None
        if actual_md5 is None:
            if size is not None and part.exists() and part.stat().st_size > size:
                part.unlink()  # longer than the real file: cannot be a prefix of it
            with tqdm(
                total=size,
                unit="B",
                unit_scale=True,
                unit_divisor=1024,
                desc=name,
                disable=not progress,
            ) as bar:
                if part.exists():
                    bar.update(part.stat().st_size)
                _fetch(url, part, timeout, bar, retries)
            os.replace(part, archive)
            actual_md5 = _verify(archive, url, md5, size)
        _txn.install(archive, dest, {"md5": actual_md5, "url": url, "archive": name}, safe_extract)
    except BaseException as exc:
        try:
            if isinstance(exc, (ChecksumError, UnsafeArchiveError)):
                archive.unlink(missing_ok=True)
                part.unlink(missing_ok=True)
            # Tidy up empty folders; a partial download stays for the next run to resume.
            _remove_if_empty(download_dir)
            if created_dest:
                _remove_if_empty(dest)
        except OSError:
            pass  # tidying is best effort: the error that matters is ``exc``
        if isinstance(exc, OSError | OutputError):
            reason = (
                describe_os_error(exc) if isinstance(exc, OSError) else (exc.reason or str(exc))
            )
            raise DownloadError(
                f"{dest}: the download could not be written ({reason}); any earlier complete "
                "download there is untouched: free space or fix permissions and run again"
            ) from None
        raise
    try:
        archive.unlink(missing_ok=True)
        _remove_if_empty(download_dir)
    except OSError:
        pass  # installed and marked complete: a leftover archive is only wasted space
    return dest


def _remove_if_empty(path: Path) -> None:
    try:
        path.rmdir()
    except OSError:
        pass


# ---------------------------------------------------------------------------------------------
# Where the data lives
# ---------------------------------------------------------------------------------------------


class UnreadLocationWarning(UserWarning):
    """RAVDESS is being downloaded somewhere the course does not read it from by default."""


def unread_location_note(dest: PathLike) -> str | None:
    """Return a warning text when ``dest`` is not where the course reads RAVDESS, else None."""
    expected = paths.ravdess_dir()
    if paths.same_place(dest, expected):
        return None
    return (
        f"RAVDESS goes into {dest}, but train, evaluate and the notebooks read it from {expected}; "
        f"pass --data {dest} (data_dir=...) to use it there, or set {paths.HOME_ENV} to the folder "
        "holding data/"
    )


def project_root() -> Path:
    """Return the course's root folder (holding ``audio_denoise_utils/`` and ``data/sample``).

    See :func:`paths.project_root`; without a checkout, the package's parent folder.
    """
    return paths.project_root() or Path(__file__).resolve().parent.parent


def _has_actor_wavs(path: Path) -> bool:
    if not path.is_dir():
        return False
    for actor_dir in path.glob("Actor_[0-9][0-9]"):
        if actor_dir.is_dir() and any(f.suffix.lower() == ".wav" for f in actor_dir.iterdir()):
            return True
    return False


def default_data_dir() -> Path:
    """Return ``<home>/data/ravdess`` if it holds RAVDESS (complete, or Actor_XX folders with WAVs), else the bundled sample."""
    ravdess = paths.ravdess_dir()
    if is_complete(ravdess) or _has_actor_wavs(ravdess):
        return ravdess
    sample = paths.sample_dir()
    if sample is None:
        raise AudioDenoiseError(
            f"no RAVDESS in {ravdess} and no bundled sample (the package runs without the course "
            "checkout): run `audio-denoise download`, or pass --data DIR (data_dir=...)"
        )
    return sample


def describe_source(path: PathLike) -> str:
    """Return a one-line note for notebooks saying which data ``path`` holds (RAVDESS or the sample)."""
    p = Path(path)
    n = len(_wav_files(p)) if p.is_dir() else 0
    sample = paths.sample_dir()
    if (sample is not None and p.resolve() == sample.resolve()) or p.name == "sample":
        return (
            f"Data: bundled synthetic sample, not RAVDESS ({n} clips in {p}); "
            "run `audio-denoise download` for the real dataset"
        )
    if is_complete(p):
        return f"Data: RAVDESS audio-speech, verified download ({n} clips in {p})"
    if _has_actor_wavs(p):
        return f"Data: RAVDESS layout, not a verified download ({n} clips in {p})"
    return f"Data: {n} WAV files in {p} (not RAVDESS layout)"


__all__ = [
    "ACTORS",
    "EMOTIONS",
    "INTENSITIES",
    "META_COLUMNS",
    "MODALITIES",
    "RAVDESS_MD5",
    "RAVDESS_SIZE",
    "RAVDESS_TEST_ACTORS",
    "RAVDESS_URL",
    "RAVDESS_VAL_ACTORS",
    "STATEMENTS",
    "VOCAL_CHANNELS",
    "RavdessMeta",
    "SplitError",
    "UnreadLocationWarning",
    "default_data_dir",
    "describe_source",
    "format_actors",
    "download_ravdess",
    "is_complete",
    "list_clips",
    "parse_filename",
    "project_root",
    "safe_extract",
    "split_by_actor",
    "unread_location_note",
]


def load_split(
    data_dir: PathLike | None = None,
    split: str = "train",
    limit: int | None = None,
    sr: int = 16_000,
    cache: Any = None,
) -> tuple[pd.DataFrame, list]:
    """Return ``(table, clips)`` of one actor split: metadata rows and (1, T) clips in that order.

    ``data_dir`` defaults to :func:`default_data_dir`; ``limit`` keeps that many evenly spaced
    clips (so every actor of the split stays represented). Clips are decoded through ``cache``
    (default: an :class:`~audio_denoise_utils.audio.AudioCache` at ``sr`` stored in
    :func:`paths.cache_dir`), so a second call, even from another notebook, does not decode again.
    """
    from .audio import AudioCache

    root = Path(data_dir) if data_dir is not None else default_data_dir()
    splits = split_by_actor(list_clips(root, strict=False))
    if split not in splits:
        raise SplitError(f"unknown split {split!r}; choose one of {sorted(splits)}")
    table = splits[split]
    if limit is not None and len(table) > limit:
        rows = sorted({round(i * (len(table) - 1) / max(limit - 1, 1)) for i in range(limit)})
        table = table.iloc[rows]
    cache = cache if cache is not None else AudioCache(sr, cache_dir=paths.cache_dir())
    return table.reset_index(drop=True), cache.load_many(table["path"])
