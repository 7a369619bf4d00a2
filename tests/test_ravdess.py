"""RAVDESS data layer: download against a loopback server, safe extraction, metadata, actor split."""

from __future__ import annotations

import hashlib
import io
import random
import re
import socket
import stat
import zipfile
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from audio_denoise_utils import paths
from audio_denoise_utils.errors import (
    AudioDenoiseError,
    ChecksumError,
    DownloadError,
    MetadataError,
    UnsafeArchiveError,
)
from audio_denoise_utils.ravdess import (
    MARKER_NAME,
    META_COLUMNS,
    RavdessMeta,
    SplitError,
    default_data_dir,
    describe_source,
    download_ravdess,
    is_complete,
    list_clips,
    parse_filename,
    project_root,
    safe_extract,
    split_by_actor,
)

SR = 16_000
CLIPS = [
    "Actor_01/03-01-01-01-01-01-01.wav",
    "Actor_01/03-01-05-02-02-01-01.wav",
    "Actor_02/03-01-03-01-01-02-02.wav",
    "Actor_02/03-01-08-02-02-02-02.wav",
    "Actor_03/03-01-04-01-02-01-03.wav",
]
ZIP_PATH = "/files/tiny.zip?download=1"  # same shape as the Zenodo URL


def wav_bytes(seed: int, seconds: float = 0.1) -> bytes:
    """A tiny real 16-bit WAV of noise (incompressible, so the zip has some size)."""
    rng = np.random.default_rng(seed)
    buf = io.BytesIO()
    sf.write(buf, rng.uniform(-0.5, 0.5, int(SR * seconds)).astype(np.float32), SR, format="WAV")
    return buf.getvalue()


def make_zip(
    extra: list[tuple[zipfile.ZipInfo | str, bytes]] = (),
) -> tuple[bytes, dict[str, bytes]]:
    """A zip in RAVDESS layout (plus ``extra`` entries at the end) and its {name: bytes} files."""
    files = {name: wav_bytes(i) for i, name in enumerate(CLIPS)}
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
        for info, data in extra:
            zf.writestr(info, data)
    return buf.getvalue(), files


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def tree(root: Path) -> set[str]:
    """Every path below ``root`` (files, folders, links), relative, as strings."""
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def assert_extracted(dest: Path, files: dict[str, bytes]) -> None:
    wavs = {str(p.relative_to(dest)): p.read_bytes() for p in dest.rglob("*.wav")}
    assert wavs == files


# --- download ------------------------------------------------------------------------------


def test_download_extracts_and_rerun_is_a_noop(http_server, tmp_path):
    data, files = make_zip()
    url = http_server.add(ZIP_PATH, data)
    dest = tmp_path / "ravdess"
    dest.mkdir()
    (dest / "notes.txt").write_text("mine")  # unrelated user file: must survive

    out = download_ravdess(dest, url=url, md5=md5(data), size=len(data), progress=False)

    assert out == dest
    assert_extracted(dest, files)
    assert (dest / "notes.txt").read_text() == "mine"
    assert is_complete(dest) and is_complete(dest, md5(data)) and not is_complete(dest, "0" * 32)
    assert not (dest / ".download").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ravdess"]  # no temp folders left
    assert "verified" in describe_source(dest)
    assert len(http_server.requests) == 1

    download_ravdess(dest, url=url, md5=md5(data), size=len(data), progress=False)
    assert len(http_server.requests) == 1  # complete: no request at all

    # A deleted clip makes the marker's file count disagree: the next run repairs the folder.
    (dest / CLIPS[0]).unlink()
    assert not is_complete(dest)
    download_ravdess(dest, url=url, md5=md5(data), size=len(data), progress=False)
    assert len(http_server.requests) == 2
    assert_extracted(dest, files)
    assert is_complete(dest)


def test_resume_after_dropped_connection(http_server, tmp_path):
    data, files = make_zip()
    url = http_server.add(ZIP_PATH, data, drop_after=5000, drops=1)
    dest = tmp_path / "ravdess"

    download_ravdess(dest, url=url, md5=md5(data), size=len(data), progress=False)

    first, second = http_server.requests
    assert first.range is None and first.bytes_sent == 5000
    assert second.range == "bytes=5000-" and second.status == 206
    assert second.bytes_sent == len(data) - 5000
    assert_extracted(dest, files)


def test_resume_partial_file_from_an_earlier_run(http_server, tmp_path):
    data, files = make_zip()
    url = http_server.add(ZIP_PATH, data)
    dest = tmp_path / "ravdess"
    (dest / ".download").mkdir(parents=True)
    (dest / ".download" / "tiny.zip.part").write_bytes(data[:3000])

    download_ravdess(dest, url=url, md5=md5(data), size=len(data), progress=False)

    [req] = http_server.requests
    assert req.range == "bytes=3000-" and req.bytes_sent == len(data) - 3000
    assert_extracted(dest, files)


def test_server_ignoring_range_restarts_from_zero(http_server, tmp_path):
    data, files = make_zip()
    url = http_server.add(ZIP_PATH, data, honour_range=False)
    dest = tmp_path / "ravdess"
    (dest / ".download").mkdir(parents=True)
    # Garbage in the part file: appending the 200 body to it would break the md5.
    (dest / ".download" / "tiny.zip.part").write_bytes(b"x" * 3000)

    download_ravdess(dest, url=url, md5=md5(data), size=len(data), progress=False)

    [req] = http_server.requests
    assert req.range == "bytes=3000-" and req.status == 200
    assert_extracted(dest, files)


def test_connection_that_keeps_dropping_gives_download_error(http_server, tmp_path):
    data, _ = make_zip()
    url = http_server.add(ZIP_PATH, data, drop_after=0, drops=100)
    dest = tmp_path / "ravdess"
    with pytest.raises(DownloadError, match="connection kept failing"):
        download_ravdess(dest, url=url, md5=md5(data), size=len(data), progress=False, retries=2)
    assert len(http_server.requests) == 3
    assert not list(tmp_path.rglob("*.wav"))


@pytest.mark.parametrize("bad", ["md5", "size"])
def test_checksum_mismatch_leaves_nothing(http_server, tmp_path, bad):
    data, _ = make_zip()
    url = http_server.add(ZIP_PATH, data)
    dest = tmp_path / "ravdess"
    want_md5 = "0" * 32 if bad == "md5" else md5(data)
    want_size = len(data) + 1 if bad == "size" else len(data)

    with pytest.raises(ChecksumError) as err:
        download_ravdess(dest, url=url, md5=want_md5, size=want_size, progress=False)

    msg = str(err.value)
    assert "tiny.zip" in msg and "\n" not in msg
    if bad == "md5":
        assert md5(data) in msg and want_md5 in msg
    else:
        assert str(len(data)) in msg and str(want_size) in msg
    assert not dest.exists()  # no audio, no bad archive, no partial file
    assert list(tmp_path.iterdir()) == []


def _symlink_entry() -> zipfile.ZipInfo:
    info = zipfile.ZipInfo("Actor_03/link.wav")
    info.create_system = 3  # Unix: external_attr carries st_mode in its high 16 bits
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info


@pytest.mark.parametrize("kind", ["dotdot", "absolute", "symlink"])
def test_unsafe_archive_is_refused(http_server, tmp_path, kind):
    work = tmp_path / "work"
    outside = tmp_path / "outside"
    work.mkdir()
    outside.mkdir()
    entry, payload = {
        "dotdot": ("../evil.wav", b"evil"),
        "absolute": (str(outside / "evil.wav"), b"evil"),
        "symlink": (_symlink_entry(), b"../../../outside/evil.wav"),
    }[kind]
    data, _ = make_zip(extra=[(entry, payload)])  # good entries first: nothing may be written
    url = http_server.add(ZIP_PATH, data)
    dest = work / "ravdess"

    with pytest.raises(UnsafeArchiveError, match="tiny.zip"):
        download_ravdess(dest, url=url, md5=md5(data), size=len(data), progress=False)

    assert list(work.iterdir()) == []  # no DEST, no temp extraction folder, no ../evil.wav
    assert list(outside.iterdir()) == []
    assert not any(p.is_symlink() for p in tmp_path.rglob("*"))


@pytest.mark.parametrize("kind", ["no_clips", "text_named_as_clip"])
def test_an_archive_without_ravdess_clips_is_not_marked_complete(http_server, tmp_path, kind):
    """A custom --url has no md5 to check: what the archive holds is checked instead."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("readme.txt", b"not audio")
        if kind == "text_named_as_clip":
            zf.writestr("Actor_01/03-01-01-01-01-01-01.wav", wav_bytes(0))
            zf.writestr("Actor_02/03-01-03-01-01-02-02.wav", b"<html>not found</html>")
    data = buf.getvalue()
    url = http_server.add(ZIP_PATH, data)
    dest = tmp_path / "ravdess"
    needle = (
        "holds no RAVDESS clips" if kind == "no_clips" else "03-01-03-01-01-02-02.wav is not a WAV"
    )
    with pytest.raises(UnsafeArchiveError, match=re.escape(needle)) as info:
        download_ravdess(dest, url=url, md5=None, size=None, progress=False)
    assert str(info.value).startswith(url) and "archive was deleted" in str(info.value)
    assert not dest.exists() and not is_complete(dest)
    assert list(tmp_path.iterdir()) == []


def test_clips_outside_actor_folders_install_as_list_clips_reads_them(http_server, tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for i, name in enumerate(CLIPS):
            zf.writestr(f"speech/{Path(name).name}", wav_bytes(i))
    data = buf.getvalue()
    url = http_server.add(ZIP_PATH, data)
    dest = tmp_path / "ravdess"
    download_ravdess(dest, url=url, md5=None, size=None, progress=False)
    assert is_complete(dest) and len(list_clips(dest)) == len(CLIPS)


def test_safe_extract_checks_every_entry_before_writing(tmp_path):
    data, files = make_zip(extra=[("Actor_09/../../evil.wav", b"evil")])
    (tmp_path / "a.zip").write_bytes(data)
    dest = tmp_path / "out"
    dest.mkdir()
    with pytest.raises(UnsafeArchiveError, match=r"'\.\.' component"):
        safe_extract(tmp_path / "a.zip", dest)
    assert tree(tmp_path) == {"a.zip", "out"}

    good, files = make_zip()
    (tmp_path / "good.zip").write_bytes(good)
    written = safe_extract(tmp_path / "good.zip", dest)
    assert sorted(str(p.relative_to(dest)) for p in written) == sorted(files)


@pytest.mark.parametrize("status", [404, 500])
def test_http_errors_give_download_error(http_server, tmp_path, status):
    url = http_server.add(ZIP_PATH, b"", status=status)
    dest = tmp_path / "ravdess"
    with pytest.raises(DownloadError, match=f"HTTP {status}") as err:
        download_ravdess(dest, url=url, progress=False)
    assert "\n" not in str(err.value)
    assert not dest.exists()


def test_connection_refused_gives_download_error(tmp_path):
    with socket.socket() as s:  # a port that was free a moment ago: nothing listens there
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(DownloadError, match="cannot connect"):
        download_ravdess(tmp_path / "r", url=f"http://127.0.0.1:{port}/x.zip", progress=False)


def test_foreign_folder_in_dest_is_not_overwritten(http_server, tmp_path):
    data, _ = make_zip()
    url = http_server.add(ZIP_PATH, data)
    dest = tmp_path / "ravdess"
    (dest / "Actor_01").mkdir(parents=True)
    (dest / "Actor_01" / "mine.txt").write_text("keep")
    with pytest.raises(DownloadError, match="already exists"):
        download_ravdess(dest, url=url, md5=md5(data), size=len(data), progress=False)
    assert tree(dest) - {".download", ".download/tiny.zip"} == {"Actor_01", "Actor_01/mine.txt"}
    assert not (tmp_path / "ravdess" / MARKER_NAME).exists()


# --- metadata ------------------------------------------------------------------------------


def test_parse_filename_decodes_every_field():
    meta = parse_filename(Path("data/ravdess/Actor_12/03-01-05-02-02-01-12.wav"))
    assert meta == RavdessMeta(
        modality="audio-only",
        vocal_channel="speech",
        emotion="angry",
        intensity="strong",
        statement=2,
        text="Dogs are sitting by the door",
        repetition=1,
        actor=12,
        gender="female",
    )
    meta = parse_filename("01-02-08-01-01-02-07.mp4")
    assert (meta.modality, meta.vocal_channel, meta.emotion, meta.gender) == (
        "full-AV",
        "song",
        "surprised",
        "male",
    )
    assert meta.text == "Kids are talking by the door" and meta.repetition == 2
    with pytest.raises(AttributeError):
        meta.actor = 3  # frozen


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("03-01-05-02-02-01.wav", "expected 7 fields"),
        ("noise.wav", "expected 7 fields"),
        ("03-01-xx-02-02-01-01.wav", "emotion field 'xx' is not a two-digit number"),
        ("03-01-5-02-02-01-01.wav", "emotion field '5' is not a two-digit number"),
        ("04-01-05-02-02-01-01.wav", "modality code 04 is out of range"),
        ("03-01-09-01-01-01-01.wav", "emotion code 09 is out of range"),
        ("03-01-05-01-03-01-01.wav", "statement code 03"),
        ("03-01-05-01-01-01-25.wav", "actor code 25"),
        ("03-01-05-01-01-01-00.wav", "actor code 00"),
        ("03-01-01-02-01-01-01.wav", "strong) is not used with emotion 01 (neutral)"),
    ],
)
def test_parse_filename_rejects_malformed_names(name, problem):
    with pytest.raises(MetadataError) as err:
        parse_filename(f"Actor_01/{name}")
    assert f"Actor_01/{name}" in str(err.value) and problem in str(err.value)


def write_tree(root: Path, names: list[str]) -> None:
    for i, name in enumerate(names):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(wav_bytes(i, seconds=0.05 * (i + 1)))


def test_list_clips(tmp_path):
    write_tree(tmp_path, list(reversed(CLIPS)) + [".download/03-01-01-01-01-01-04.wav"])
    table = list_clips(tmp_path, with_duration=True)
    assert list(table.columns) == ["path", *META_COLUMNS, "duration"]
    assert table["path"].tolist() == sorted(str(tmp_path / c) for c in CLIPS)  # hidden dir skipped
    assert table["actor"].tolist() == [1, 1, 2, 2, 3]
    assert table["emotion"].tolist() == ["neutral", "angry", "happy", "surprised", "sad"]
    assert table["actor"].dtype == np.int64
    for path, duration in zip(table["path"], table["duration"], strict=True):
        assert duration == pytest.approx(sf.info(path).duration)
    assert "duration" not in list_clips(tmp_path).columns


def test_list_clips_malformed_names_strict_or_skipped(tmp_path):
    write_tree(tmp_path, CLIPS[:2] + ["Actor_01/take2.wav"])
    with pytest.raises(MetadataError, match="take2.wav"):
        list_clips(tmp_path)
    with pytest.warns(UserWarning, match=r"skipped 1 file.*take2\.wav"):
        table = list_clips(tmp_path, strict=False)
    assert len(table) == 2


def test_list_clips_empty_folder_has_columns(tmp_path):
    table = list_clips(tmp_path)
    assert table.empty and list(table.columns) == ["path", *META_COLUMNS]


# --- actor split ---------------------------------------------------------------------------


def table_for(actors: list[int], clips_per_actor: int = 3, seed: int = 0) -> pd.DataFrame:
    rows = []
    for a in actors:
        for e in range(1, clips_per_actor + 1):
            name = f"Actor_{a:02d}/03-01-{e:02d}-01-01-01-{a:02d}.wav"
            rows.append({"path": name, **asdict(parse_filename(name))})
    random.Random(seed).shuffle(rows)
    return pd.DataFrame(rows)


def actors_of(splits: dict[str, pd.DataFrame]) -> dict[str, set[int]]:
    return {k: set(v["actor"]) for k, v in splits.items()}


def test_split_full_ravdess_uses_fixed_actors():
    table = table_for(list(range(1, 25)))
    splits = split_by_actor(table)
    got = actors_of(splits)
    assert got == {"train": set(range(1, 19)), "val": {19, 20}, "test": {21, 22, 23, 24}}
    assert sum(len(v) for v in splits.values()) == len(table)
    for part in splits.values():
        assert set(part["gender"]) == {"male", "female"}


@pytest.mark.parametrize(
    ("actors", "val", "test"),
    [
        ([2, 5, 9], {5}, {9}),
        ([3, 4, 7, 8, 11, 12], {11}, {12}),
        ([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], {9, 10}, {11, 12}),
        ([1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23], {17, 19}, {21, 23}),
    ],
)
def test_split_other_actor_sets_is_deterministic_and_disjoint(actors, val, test):
    splits = split_by_actor(table_for(actors, seed=1))
    got = actors_of(splits)
    assert got["val"] == val and got["test"] == test
    assert got["train"] == set(actors) - val - test
    assert actors_of(split_by_actor(table_for(actors, seed=2))) == got  # row order irrelevant


def test_split_explicit_actors_and_errors():
    table = table_for([1, 2, 3, 4, 5, 6])
    got = actors_of(split_by_actor(table, val_actors=[1], test_actors=[2]))
    assert got == {"train": {3, 4, 5, 6}, "val": {1}, "test": {2}}
    got = actors_of(split_by_actor(table, test_actors=[5, 6]))
    assert got["test"] == {5, 6} and got["val"] == {4} and not got["train"] & {4, 5, 6}
    with pytest.raises(SplitError, match="both val and test"):
        split_by_actor(table, val_actors=[1, 2], test_actors=[2])
    with pytest.raises(SplitError, match="val split is empty"):
        split_by_actor(table, val_actors=[20], test_actors=[2])
    with pytest.raises(SplitError, match="at least 3 actors"):
        split_by_actor(table_for([1, 2]))
    assert issubclass(SplitError, AudioDenoiseError)


# --- where the data lives ------------------------------------------------------------------


def test_project_root_and_default_data_dir(tmp_path, monkeypatch):
    proj = tmp_path / "proj"
    (proj / "audio_denoise_utils").mkdir(parents=True)
    (proj / "data" / "sample").mkdir(parents=True)
    (proj / "notebooks").mkdir()
    monkeypatch.delenv("AUDIO_DENOISE_ROOT", raising=False)
    monkeypatch.delenv("AUDIO_DENOISE_HOME", raising=False)
    # As if installed outside any checkout (the package's own checkout would win otherwise).
    monkeypatch.setattr(paths, "_PACKAGE_DIR", tmp_path / "site-packages" / "audio_denoise_utils")
    monkeypatch.chdir(proj / "notebooks")
    assert project_root() == proj.resolve()

    monkeypatch.setenv("AUDIO_DENOISE_ROOT", str(proj))
    monkeypatch.chdir(tmp_path)
    assert project_root() == proj.resolve()
    assert default_data_dir() == proj.resolve() / "data" / "sample"
    assert "not RAVDESS" in describe_source(default_data_dir())

    (proj / "data" / "ravdess" / "Actor_01").mkdir(parents=True)
    assert default_data_dir().name == "sample"  # an empty Actor folder is not RAVDESS
    write_tree(proj / "data" / "ravdess", [CLIPS[0]])
    assert default_data_dir() == proj.resolve() / "data" / "ravdess"
    note = describe_source(default_data_dir())
    assert "RAVDESS" in note and "not RAVDESS" not in note and "1 clips" in note
