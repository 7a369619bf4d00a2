"""Downloading RAVDESS: progress, resume, md5 check, safe extraction, completion marker.

RAVDESS (Livingstone & Russo, 2018) names every clip ``MM-VV-EE-II-SS-RR-AA.wav``: modality, vocal
channel, emotion, intensity, statement, repetition and actor (odd actors are male, even female).
The audio-speech archive on Zenodo holds 1440 clips in ``Actor_01/`` .. ``Actor_24/`` folders.

Engine code: not course material. Notebooks and the CLI call :func:`download_ravdess` through
:mod:`audio_denoise_utils.ravdess`.

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
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from .. import paths
from ..errors import (
    AudioDenoiseError,
    ChecksumError,
    DownloadError,
    InvalidArgumentError,
    OutputError,
    UnsafeArchiveError,
)
from . import install as _txn
from .checks import check_number
from .install import DOWNLOAD_DIR, read_marker, swap_pending
from .install import MARKER_NAME as MARKER_NAME  # re-exported: tests and notebooks
from .paths import check_writable_dir, describe_os_error

PathLike = str | os.PathLike

RAVDESS_URL = "https://zenodo.org/records/1188976/files/Audio_Speech_Actors_01-24.zip?download=1"
RAVDESS_SIZE = 208_468_073
RAVDESS_MD5 = "bc696df654c87fed845eb13823edef8a"

_CHUNK = 1 << 16
_USER_AGENT = "audio-denoise-utils (+https://github.com/; RAVDESS course download)"


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


def extract_ravdess(zip_path: PathLike, dest: PathLike) -> list[Path]:
    """:func:`safe_extract`, then check that the archive held RAVDESS clips (UnsafeArchiveError).

    A custom ``url`` (a mirror, a copy on a course server) has no md5 to check, so what it
    extracted is checked instead: at least one WAV file named as RAVDESS names its clips
    (``03-01-...-NN.wav``, in any folder, as :func:`list_clips` reads them), and every clip so
    named a RIFF/WAVE file. Otherwise nothing is installed, rather than a folder marked complete that
    ``train`` and ``evaluate`` find empty later.
    """
    from ..ravdess import parse_filename  # lazy: ravdess imports this module

    files = safe_extract(zip_path, dest)
    clips = []
    for path in files:
        if path.suffix.lower() != ".wav":
            continue
        try:
            parse_filename(path)
        except AudioDenoiseError:
            continue
        clips.append(path)
    if not clips:
        raise UnsafeArchiveError(
            f"{zip_path}: holds no RAVDESS clips (WAV files named like 03-01-01-01-01-01-01.wav); "
            "nothing installed"
        )
    for path in clips:
        with open(path, "rb") as fh:
            head = fh.read(12)
        if head[:4] not in (b"RIFF", b"RF64") or head[8:12] != b"WAVE":
            raise UnsafeArchiveError(
                f"{zip_path}: {path.relative_to(dest)} is not a WAV file; nothing installed"
            )
    return files


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
    dest = Path(dest) if dest is not None else paths.ravdess_dir()
    note = unread_location_note(dest)
    if note:
        warnings.warn(note, UnreadLocationWarning, stacklevel=2)
    return download_archive(dest, url, md5, size, progress, timeout, retries, extract_ravdess)


def download_archive(
    dest: PathLike,
    url: str,
    md5: str | None,
    size: int | None,
    progress: bool = True,
    timeout: float = 60.0,
    retries: int = 3,
    extract: Callable[[Path, Path], list[Path]] = safe_extract,
) -> Path:
    """Download the zip at ``url`` and install it into ``dest`` as :func:`download_ravdess` does.

    ``extract(archive, folder)`` unpacks it (:func:`safe_extract`, or a variant that also checks
    what the archive held, raising UnsafeArchiveError); DEMAND's environments use this too.
    """
    dest = Path(dest)
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
        actual_md5 = _checked_archive(archive, part, url, md5, size, progress, timeout, retries)
        _txn.install(archive, dest, {"md5": actual_md5, "url": url, "archive": name}, extract)
    except BaseException as exc:
        _tidy_after_failure(exc, archive, part, dest, created_dest)
        if isinstance(exc, OSError | OutputError):
            reason = (
                describe_os_error(exc) if isinstance(exc, OSError) else (exc.reason or str(exc))
            )
            raise DownloadError(
                f"{dest}: the download could not be written ({reason}); any earlier complete "
                "download there is untouched: free space or fix permissions and run again"
            ) from None
        if isinstance(exc, UnsafeArchiveError) and str(exc).startswith(f"{archive}: "):
            # The archive is deleted by now: name what the learner asked for instead.
            reason = str(exc)[len(f"{archive}: ") :]
            raise UnsafeArchiveError(
                f"{url}: {reason} (the downloaded archive was deleted)"
            ) from None
        raise
    try:
        archive.unlink(missing_ok=True)
        _remove_if_empty(download_dir)
    except OSError:
        pass  # installed and marked complete: a leftover archive is only wasted space
    return dest


def _checked_archive(
    archive: Path,
    part: Path,
    url: str,
    md5: str | None,
    size: int | None,
    progress: bool,
    timeout: float,
    retries: int,
) -> str:
    """Return the md5 of a verified ``archive``: one left by an earlier run, or fetched via ``part``."""
    from tqdm.auto import tqdm  # lazy: tqdm.auto probes for a notebook frontend on import

    if archive.exists():
        # Left by a run that stopped after downloading: reuse it if it checks out.
        try:
            return _verify(archive, url, md5, size)
        except ChecksumError:
            pass
    if size is not None and part.exists() and part.stat().st_size > size:
        part.unlink()  # longer than the real file: cannot be a prefix of it
    with tqdm(
        total=size,
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        desc=archive.name,
        disable=not progress,
    ) as bar:
        if part.exists():
            bar.update(part.stat().st_size)
        _fetch(url, part, timeout, bar, retries)
    os.replace(part, archive)
    return _verify(archive, url, md5, size)


def _tidy_after_failure(
    exc: BaseException, archive: Path, part: Path, dest: Path, created_dest: bool
) -> None:
    """Remove what a failed download must not leave (a bad archive, empty folders); best effort."""
    try:
        if isinstance(exc, (ChecksumError, UnsafeArchiveError)):
            archive.unlink(missing_ok=True)
            part.unlink(missing_ok=True)
        # Tidy up empty folders; a partial download stays for the next run to resume.
        _remove_if_empty(archive.parent)
        if created_dest:
            _remove_if_empty(dest)
    except OSError:
        pass  # tidying is best effort: the error that matters is ``exc``


def _remove_if_empty(path: Path) -> None:
    try:
        path.rmdir()
    except OSError:
        pass


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


# Where the course finds its data (re-exported by ravdess).


def project_root() -> Path:
    """Return the course's root folder (holding ``audio_denoise_utils/`` and ``data/sample``).

    See :func:`paths.project_root`; without a checkout, the package's parent folder.
    """
    return paths.project_root() or Path(__file__).resolve().parents[2]


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
    from ..ravdess import _wav_files

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
