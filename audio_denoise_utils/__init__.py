"""Helper package for the open course on neural audio denoising.

Audio inside the package is a float32 torch tensor shaped (batch, 1, time), or (1, time) for one clip.

Reading guide: :data:`COURSE_MODULES` are the code the notebooks teach and send a learner to read
(the loop of notebook 04 is ``training.fit``). Everything else is engineering the course relies
on but does not teach (file I/O, the downloader, the engine around the training loop, plots,
widgets, the CLI); each such module says "not course material" in its docstring.
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
#: The modules the notebooks send a learner to read, in course order.
COURSE_MODULES = (
    "ravdess", "noise", "dataset", "models", "losses", "training", "metrics", "baselines",
)  # fmt: skip

__all__ = [
    "COURSE_MODULES",
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
