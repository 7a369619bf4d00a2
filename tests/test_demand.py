"""DEMAND noise download through the RAVDESS downloader, against a loopback server."""

from __future__ import annotations

import hashlib
import io
import zipfile

import numpy as np
import pytest
import soundfile as sf
import torch

from audio_denoise_utils.demand import (
    DEMAND_16K,
    demand_channel_files,
    demand_url,
    download_demand,
)
from audio_denoise_utils.errors import ChecksumError, UnsafeArchiveError
from audio_denoise_utils.ravdess import is_complete
from audio_denoise_utils.training import load_noise_dir

SR = 16_000


def env_zip(env: str, seed: int, extra: list[tuple[str, bytes]] = ()) -> bytes:
    """A zip laid out like DEMAND's: ENV/ch01.wav ... ENV/ch03.wav (16 kHz noise)."""
    rng = np.random.default_rng(seed)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for ch in range(1, 4):
            wav = io.BytesIO()
            sf.write(wav, rng.normal(0, 0.1, SR // 4).astype(np.float32), SR, format="WAV")
            zf.writestr(f"{env}/ch{ch:02d}.wav", wav.getvalue())
        for name, data in extra:
            zf.writestr(name, data)
    return buf.getvalue()


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def serve(http_server, envs: dict[str, bytes]) -> str:
    for env, data in envs.items():
        http_server.add(f"/records/1/files/{env}_16k.zip", data)
    return http_server.url("/records/1/files")


def test_default_environments_pin_size_and_md5():
    assert set(DEMAND_16K) == {"DKITCHEN", "DLIVING", "DWASHING"}
    for size, digest in DEMAND_16K.values():
        assert size > 10_000_000 and len(digest) == 32
    assert demand_url("DKITCHEN").endswith("/1227121/files/DKITCHEN_16k.zip?download=1")


def test_download_installs_each_environment_and_rerun_is_a_noop(http_server, tmp_path):
    zips = {"DKITCHEN": env_zip("DKITCHEN", 0), "NPARK": env_zip("NPARK", 1)}
    base = serve(http_server, zips)
    envs = {name: (len(data), md5(data)) for name, data in zips.items()}
    dest = tmp_path / "demand"

    folders = download_demand(dest, environments=envs, base_url=base, progress=False)

    assert folders == [dest / "DKITCHEN", dest / "NPARK"]
    assert all(is_complete(f, envs[f.name][1]) for f in folders)
    ch1 = demand_channel_files(dest)
    assert [p.relative_to(dest).as_posix() for p in ch1] == [
        "DKITCHEN/DKITCHEN/ch01.wav",
        "NPARK/NPARK/ch01.wav",
    ]
    noises = load_noise_dir(dest / "NPARK", SR)
    assert len(noises) == 3 and all(n.shape == (1, SR // 4) for n in noises)
    assert len(http_server.requests) == 2
    download_demand(dest, environments=envs, base_url=base, progress=False)
    assert len(http_server.requests) == 2  # complete folders: no request at all


def test_checksum_mismatch_leaves_nothing_for_that_environment(http_server, tmp_path):
    good, bad = env_zip("DKITCHEN", 0), env_zip("DLIVING", 1)
    base = serve(http_server, {"DKITCHEN": good, "DLIVING": bad})
    envs = {"DKITCHEN": (len(good), md5(good)), "DLIVING": (len(bad), "0" * 32)}
    dest = tmp_path / "demand"
    with pytest.raises(ChecksumError):
        download_demand(dest, environments=envs, base_url=base, progress=False)
    assert is_complete(dest / "DKITCHEN")  # finished before the failure: kept
    assert not (dest / "DLIVING").exists() or not any((dest / "DLIVING").rglob("*.wav"))


def test_unsafe_archive_is_refused(http_server, tmp_path):
    evil = env_zip("DKITCHEN", 0, extra=[("../../escape.wav", b"x")])
    base = serve(http_server, {"DKITCHEN": evil})
    with pytest.raises(UnsafeArchiveError):
        download_demand(
            tmp_path / "demand",
            environments={"DKITCHEN": (len(evil), md5(evil))},
            base_url=base,
            progress=False,
        )
    assert not (tmp_path / "escape.wav").exists()
    assert not any((tmp_path / "demand").rglob("*.wav")) if (tmp_path / "demand").exists() else True


def test_recorded_noise_from_a_downloaded_folder_mixes_at_exact_snr(http_server, tmp_path):
    from audio_denoise_utils.noise import add_noise, measure_snr

    data = env_zip("TBUS", 3)
    base = serve(http_server, {"TBUS": data})
    (folder,) = download_demand(
        tmp_path / "d", environments={"TBUS": (len(data), md5(data))}, base_url=base, progress=False
    )
    clean = torch.sin(torch.arange(SR, dtype=torch.float32) * 0.05).reshape(1, 1, -1) * 0.3
    noisy = add_noise(clean, 3.0, "recorded", seed=0, noise_clips=load_noise_dir(folder))
    assert abs(float(measure_snr(clean, noisy)[0]) - 3.0) < 0.01


def test_an_archive_without_a_wav_is_refused_and_no_ravdess_warning(http_server, tmp_path, recwarn):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("NPARK/readme.txt", b"not a recording")
    empty = buf.getvalue()
    good = env_zip("DKITCHEN", 0)
    base = serve(http_server, {"DKITCHEN": good, "NPARK": empty})
    envs = {"DKITCHEN": (len(good), md5(good)), "NPARK": (None, None)}
    dest = tmp_path / "demand"
    with pytest.raises(UnsafeArchiveError, match="NPARK_16k.zip.*holds no WAV file"):
        download_demand(dest, environments=envs, base_url=base, progress=False)
    assert is_complete(dest / "DKITCHEN") and not (dest / "NPARK").exists()
    assert not [w for w in recwarn if "RAVDESS" in str(w.message)]  # DEMAND is not RAVDESS
