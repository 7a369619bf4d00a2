"""Optional real noise for learners: the DEMAND corpus (Zenodo), through RAVDESS's safe downloader.

DEMAND (Diverse Environments Multichannel Acoustic Noise Database; Thiemann, Ito and Vincent,
2013; Zenodo record 1227121, DOI 10.5281/zenodo.1227121) holds 16-channel recordings of real
environments, 5 minutes each, as one zip per environment and rate. Licence: CC BY-SA 3.0 as the
deposit's description and the paper state (Zenodo's metadata field shows CC BY 4.0); attribute
the authors and share derivatives alike.

Only the 16 kHz archives of the three domestic environments are known here with size and md5
(kitchen, living room, washing machine; about 280 MB together). The checksums were taken from
public code that pins these Zenodo files, two independent sources agreeing on DKITCHEN; they
were not re-read from Zenodo by the course. Other environments can be fetched with
``download_demand(..., environments={"NAME": (None, None)})`` (no size/md5 check: say so).

Each archive goes through RAVDESS's downloader (progress, resume, size and md5 check, safe
extraction, nothing left behind on failure; ``engine.download.download_archive``) into its own
folder ``dest/<ENV>/``, so one environment's marker never vouches for another. An archive that
holds no WAV file is refused (UnsafeArchiveError) rather than marked complete.

Data plumbing: not course material.
"""

from __future__ import annotations

import os
from pathlib import Path

from .engine.download import download_archive, safe_extract
from .errors import UnsafeArchiveError

PathLike = str | os.PathLike

DEMAND_RECORD = "https://zenodo.org/records/1227121/files"
#: 16 kHz archives: environment -> (size in bytes, md5).
DEMAND_16K = {
    "DKITCHEN": (110_501_049, "7ffbf52d7f4699f96927846103dc8788"),
    "DLIVING": (80_170_627, "46741384d9e434a0bd8b3ec1830b6052"),
    "DWASHING": (102_343_250, "7e5ee9437ce9409c5f9a779b6212a240"),
}


def demand_url(environment: str, base_url: str = DEMAND_RECORD) -> str:
    """Return the download URL of one environment's 16 kHz archive."""
    return f"{base_url.rstrip('/')}/{environment}_16k.zip?download=1"


def download_demand(
    dest: PathLike = "data/demand",
    environments: dict[str, tuple[int | None, str | None]] | None = None,
    base_url: str = DEMAND_RECORD,
    progress: bool = True,
    timeout: float = 60.0,
) -> list[Path]:
    """Download and extract DEMAND environments into ``dest/<ENV>/``; return the folders.

    ``environments`` maps a name (e.g. "DKITCHEN") to (size, md5); the default is
    :data:`DEMAND_16K`. A folder already complete is skipped without a request. Errors are those
    of :func:`~audio_denoise_utils.ravdess.download_ravdess` (DownloadError, ChecksumError,
    UnsafeArchiveError), raised at the first environment that fails; the ones finished before
    it stay installed.
    """
    envs = DEMAND_16K if environments is None else environments
    folders = []
    for env, (size, md5) in envs.items():
        folder = Path(dest) / env
        download_archive(
            folder, demand_url(env, base_url), md5, size, progress, timeout, extract=_extract_wavs
        )
        folders.append(folder)
    return folders


def _extract_wavs(archive: Path, folder: Path) -> list[Path]:
    """:func:`safe_extract`, refusing an archive without a single WAV file (a wrong URL's page)."""
    files = safe_extract(archive, folder)
    if not any(p.suffix.lower() == ".wav" for p in files):
        raise UnsafeArchiveError(f"{archive}: holds no WAV file, so no DEMAND recording")
    return files


def demand_channel_files(dest: PathLike = "data/demand", channel: int = 1) -> list[Path]:
    """Return one channel's WAV file per installed environment (``ch01.wav`` ...), sorted.

    The 16 channels of an environment are one scene heard by 16 microphones a few centimetres
    apart: for mono training, one channel per environment is the honest amount of variety.
    """
    return sorted(Path(dest).glob(f"*/*/ch{channel:02d}.wav"))
