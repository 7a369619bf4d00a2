"""Helper package for the open course on neural audio denoising.

Audio inside the package is a float32 torch tensor shaped (batch, 1, time), or (1, time) for one clip.
"""

from __future__ import annotations

from .errors import (
    AudioDenoiseError,
    AudioLoadError,
    CheckpointError,
    ChecksumError,
    DownloadError,
    MetadataError,
    UnsafeArchiveError,
)

__version__ = "0.1.0"
DEFAULT_SR = 16_000

__all__ = [
    "DEFAULT_SR",
    "AudioDenoiseError",
    "AudioLoadError",
    "CheckpointError",
    "ChecksumError",
    "DownloadError",
    "MetadataError",
    "UnsafeArchiveError",
    "__version__",
]
