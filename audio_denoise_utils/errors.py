"""Exceptions raised by the package: one base class, specific subclasses with actionable messages.

Engine code: not course material.
"""

from __future__ import annotations


class AudioDenoiseError(Exception):
    """Base class: the CLI catches it and prints ``error: <message>`` without a traceback."""


class AudioLoadError(AudioDenoiseError):
    """A file is missing, empty, truncated, not audio, or holds NaN/inf samples."""


class DownloadError(AudioDenoiseError):
    """The dataset could not be downloaded (network or server error)."""


class ChecksumError(DownloadError):
    """A downloaded archive has the wrong size or md5."""


class UnsafeArchiveError(AudioDenoiseError):
    """An archive holds absolute paths, ``..`` components, links or other unsafe entries."""


class MetadataError(AudioDenoiseError):
    """A file name does not follow the RAVDESS naming scheme."""


class CheckpointError(AudioDenoiseError):
    """A checkpoint is truncated, not ours, or names an unknown model."""


class InvalidArgumentError(AudioDenoiseError, ValueError):
    """An argument has the wrong shape, dtype or range (also a ValueError, as Python expects)."""


class BaselineInputError(AudioDenoiseError, ValueError):
    """A baseline got audio of an unusable shape or type."""


class MetricInputError(AudioDenoiseError, ValueError):
    """Metric inputs have mismatched or unsupported shapes, or a method returned unusable audio."""


class OutputError(AudioDenoiseError):
    """An output cannot be written: it would overwrite an input, or its place is not writable."""

    reason: str = ""  # the bare cause ("no space left on device"), when there is one


class AudioLevelWarning(UserWarning):
    """Audio was rescaled because it lay above full scale (the CLI prints it as a ``note:``)."""
