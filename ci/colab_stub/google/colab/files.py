"""Stub of ``google.colab.files``."""

from __future__ import annotations

import io
import os

from ._record import record


def upload() -> dict[str, bytes]:
    """Return {name: bytes} of one small noisy WAV (or {} with COLAB_STUB_UPLOAD=none)."""
    if os.environ.get("COLAB_STUB_UPLOAD", "") == "none":
        record("uploads.txt", "cancel")
        return {}
    import numpy as np
    import soundfile as sf

    sr = 22050
    t = np.arange(int(1.5 * sr)) / sr
    rng = np.random.default_rng(0)
    wav = 0.3 * np.sin(2 * np.pi * 220 * t) * np.hanning(t.size) + 0.03 * rng.standard_normal(
        t.size
    )
    buf = io.BytesIO()
    sf.write(buf, wav.astype(np.float32), sr, format="WAV", subtype="PCM_16")
    # Colab also saves the uploaded file in the working folder.
    name = "my recording.wav"
    record("uploads.txt", name)
    return {name: buf.getvalue()}


def download(filename: str) -> None:
    """Record the download request (a browser download in Colab)."""
    if not os.path.isfile(filename):
        raise FileNotFoundError(f"Cannot find file: {filename}")
    record("downloads.txt", filename)
