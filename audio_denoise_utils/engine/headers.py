"""Audio header checks run before decoding: truncated WAVs and absurd header fields.

libsndfile trusts what a header says. A sample rate of 0 or 4 GHz, a channel count in the
thousands or a data chunk longer than the file would otherwise surface as a crash deep inside
resampling, or as a huge allocation. These checks turn each into one AudioLoadError naming the file.

Engine code: not course material.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from ..errors import AudioLoadError
from .checks import MAX_SAMPLE_RATE, MIN_SAMPLE_RATE

#: More channels than any recording this course handles (ambisonics of order 7 has 64).
MAX_CHANNELS = 256


def riff_chunks(f: BinaryIO, size: int) -> Iterator[tuple[bytes, int, int]]:
    """Yield ``(chunk_id, offset, declared_length)`` of each chunk of an open RIFF/WAVE file.

    Yields nothing when the file is not RIFF/WAVE. The caller may seek freely between chunks.
    """
    f.seek(0)
    head = f.read(12)
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return
    pos = 12
    while pos + 8 <= size:
        f.seek(pos)
        chunk_id, chunk_len = struct.unpack("<4sI", f.read(8))
        yield chunk_id, pos, chunk_len
        pos += 8 + chunk_len + (chunk_len & 1)


def check_wav_truncation(path: Path) -> None:
    """Raise AudioLoadError if a RIFF/WAVE file's data chunk declares more bytes than the file holds."""
    size = path.stat().st_size
    with open(path, "rb") as f:
        for chunk_id, pos, chunk_len in riff_chunks(f, size):
            if chunk_id != b"data":
                continue
            # 0 and 0xFFFFFFFF mean "unknown length" (files written by streaming recorders).
            if chunk_len not in (0, 0xFFFFFFFF) and pos + 8 + chunk_len > size:
                raise AudioLoadError(
                    f"{path}: truncated WAV file (header declares {chunk_len} bytes of audio, "
                    f"file holds {size - pos - 8})"
                )
            return


def check_header_fields(path: Path, sample_rate: int, channels: int, frames: int) -> None:
    """Raise AudioLoadError naming ``path`` for a sample rate, channel count or length no audio has."""
    if not MIN_SAMPLE_RATE <= sample_rate <= MAX_SAMPLE_RATE:
        raise AudioLoadError(
            f"{path}: header says the sample rate is {sample_rate} Hz, outside what audio uses "
            f"({MIN_SAMPLE_RATE} to {MAX_SAMPLE_RATE} Hz); the file is corrupt or not audio"
        )
    if not 1 <= channels <= MAX_CHANNELS:
        raise AudioLoadError(
            f"{path}: header says the file has {channels} channels (expected 1 to "
            f"{MAX_CHANNELS}); the file is corrupt or not audio"
        )
    if frames <= 0:
        raise AudioLoadError(f"{path}: contains no audio samples")
