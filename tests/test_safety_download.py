"""Data safety of downloads: a failed re-download never costs the download a learner already has.

Faults are injected at every file-system step of a re-install (full disk, Ctrl-C, and a crash
that stops everything at that instant), plus real full and read-only file systems (tmpfs, when
the tests run as root) and a destination that is a mount point.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from faults import FileSystemFaults, InjectedCrash, tmpfs
from test_ravdess import CLIPS, ZIP_PATH, make_zip, md5, wav_bytes

from audio_denoise_utils.engine.install import STAGING_DIR, swap_pending
from audio_denoise_utils.errors import AudioDenoiseError, DownloadError
from audio_denoise_utils.ravdess import download_ravdess, is_complete

ARCHIVE = "tiny.zip"


def make_other_zip(n_extra: int = 2, seconds: float = 0.1) -> tuple[bytes, dict[str, bytes]]:
    """A second, different archive: other bytes in the same clips, plus another actor's folder."""
    import io
    import zipfile

    files = {name: wav_bytes(100 + i, seconds) for i, name in enumerate(CLIPS)}
    for i in range(n_extra):
        files[f"Actor_04/03-01-0{i + 2}-01-01-01-04.wav"] = wav_bytes(200 + i, seconds)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return buf.getvalue(), files


def wavs(dest: Path) -> dict[str, bytes]:
    """Every visible WAV below ``dest`` (hidden staging folders skipped), relative path -> bytes."""
    return {
        str(p.relative_to(dest)): p.read_bytes()
        for p in dest.rglob("*.wav")
        if not any(part.startswith(".") for part in p.relative_to(dest).parts)
    }


def hidden_leftovers(dest: Path) -> list[str]:
    """Hidden files or folders in ``dest`` other than the resumable download folder."""
    return sorted(
        p.name
        for p in dest.iterdir()
        if p.name.startswith(".") and p.name not in (".complete", ".download")
    )


@pytest.fixture
def first(http_server, tmp_path):
    """A complete first download of archive A in tmp/ravdess: (dest, url, md5, files)."""
    data, files = make_zip()
    url = http_server.add(ZIP_PATH, data)
    dest = tmp_path / "ravdess"
    download_ravdess(dest, url=url, md5=md5(data), size=len(data), progress=False)
    assert is_complete(dest, md5(data)) and wavs(dest) == files
    return dest, url, md5(data), files


def assert_first_intact(dest: Path, url: str, digest: str, files: dict, server) -> None:
    """The first download is intact, recognised as complete, and its command is a no-op again."""
    assert wavs(dest) == files
    assert is_complete(dest) and is_complete(dest, digest)
    assert not swap_pending(dest)
    n = len(server.requests)
    download_ravdess(dest, url=url, md5=digest, progress=False, size=None)
    assert len(server.requests) == n  # complete: no request at all
    assert not (dest / STAGING_DIR).exists()


# --- failures of every kind during a re-download -------------------------------------------


@pytest.mark.parametrize("failure", ["checksum", "unsafe", "truncated", "http", "foreign"])
def test_failed_redownload_keeps_the_first(first, http_server, failure):
    dest, url_a, md5_a, files_a = first
    good_b, files_b = make_other_zip()
    body = {
        "checksum": good_b,
        "unsafe": make_zip(extra=[("../evil.wav", b"x")])[0],
        "truncated": good_b[: len(good_b) // 2],
        "http": b"",
        "foreign": good_b,
    }[failure]
    url_b = http_server.add("/b.zip", body, status=500 if failure == "http" else 200)
    want = "0" * 32 if failure == "checksum" else None
    if failure == "foreign":  # a learner's own folder where the new archive has one
        (dest / "Actor_04").mkdir()
        (dest / "Actor_04" / "mine.txt").write_text("keep")
    with pytest.raises(AudioDenoiseError) as err:
        download_ravdess(dest, url=url_b, md5=want, size=None, progress=False)
    assert "\n" not in str(err.value)
    assert "/.install" not in str(err.value)  # messages name the user's paths
    if failure == "foreign":
        assert (dest / "Actor_04" / "mine.txt").read_text() == "keep"
        shutil.rmtree(dest / "Actor_04")
    assert_first_intact(dest, url_a, md5_a, files_a, http_server)
    assert hidden_leftovers(dest) == []
    # The failed command works once the server serves a good archive.
    http_server.add("/b.zip", good_b)
    download_ravdess(dest, url=url_b, md5=md5(good_b), size=len(good_b), progress=False)
    assert wavs(dest) == files_b and is_complete(dest, md5(good_b))
    assert hidden_leftovers(dest) == [] and not (dest / ".download").exists()


# --- a fault at every file-system step of the re-install ------------------------------------


def _stage(template: Path, work: Path, archive_b: bytes) -> Path:
    """A copy of the first download with archive B already fetched (the install starts at once)."""
    dest = work / "ravdess"
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(template, dest)
    (dest / ".download").mkdir(exist_ok=True)
    (dest / ".download" / ARCHIVE).write_bytes(archive_b)
    return dest


@pytest.fixture
def scratch(tmp_path):
    """A folder in RAM when the tests may mount one (a few hundred installs: fsync/rmdir are fast)."""
    with tmpfs(tmp_path / "scratch", size="32m") as mounted:
        yield mounted if mounted is not None else tmp_path / "scratch"


def test_a_fault_at_every_install_step_never_loses_the_first_download(first, http_server, scratch):
    template, url_a, md5_a, files_a = first
    data_b, files_b = make_other_zip()
    md5_b = md5(data_b)
    url_b = http_server.url(ZIP_PATH)  # same archive name; never requested: it is pre-fetched
    work = scratch / "work"

    def install_b(dest: Path) -> None:
        download_ravdess(dest, url=url_b, md5=md5_b, size=len(data_b), progress=False)

    counter = FileSystemFaults()
    dest = _stage(template, work, data_b)
    with counter.active():
        install_b(dest)
    steps = len(counter.calls)
    assert wavs(dest) == files_b and steps > 20  # extraction, journal, swap, marker, tidy-up
    requests_before = len(http_server.requests)

    tried = {"enospc": 0, "interrupt": 0, "crash": 0}
    for kind in tried:
        for k in range(1, steps + 1):
            dest = _stage(template, work, data_b)
            faults = FileSystemFaults(fail_at=k, kind=kind)
            raised = None
            with faults.active():
                try:
                    install_b(dest)
                except (OSError, KeyboardInterrupt, InjectedCrash, AudioDenoiseError) as exc:
                    raised = exc
            tried[kind] += 1
            where = f"{kind} at step {k}: {faults.calls[k - 1] if k <= len(faults.calls) else '?'}"
            if kind != "crash":
                # No exception escapes as anything but one clean error (or Ctrl-C itself).
                assert raised is None or isinstance(
                    raised, KeyboardInterrupt | AudioDenoiseError
                ), where
                if isinstance(raised, AudioDenoiseError):
                    assert "\n" not in str(raised) and "/.install" not in str(raised), where
                # Right after the failed run: old or new, complete and recognised as such.
                content = wavs(dest)
                assert content in (files_a, files_b), where
                want = md5_a if content == files_a else md5_b
                assert is_complete(dest, want), where
            # After a crash the machine "restarts": the same command must recover and work.
            install_b(dest)
            assert wavs(dest) == files_b and is_complete(dest, md5_b), where
            assert not (dest / STAGING_DIR).exists(), where
    assert len(http_server.requests) == requests_before  # all from the pre-fetched archive
    assert sum(tried.values()) == 3 * steps


def test_after_a_crash_mid_swap_the_first_command_recovers_the_first_download(first, tmp_path):
    template, url_a, md5_a, files_a = first
    data_b, files_b = make_other_zip()
    work = tmp_path / "work"
    counter = FileSystemFaults()
    dest = _stage(template, work, data_b)
    with counter.active():
        download_ravdess(
            dest, url=url_a.replace(ZIP_PATH, ZIP_PATH), md5=md5(data_b), size=None, progress=False
        )
    swap_steps = [
        i
        for i, c in enumerate(counter.calls, 1)
        if c.startswith("replace") and "/.install/new/" in c
    ]
    assert swap_steps  # new entries moved in
    dest = _stage(template, work, data_b)
    faults = FileSystemFaults(fail_at=swap_steps[1], kind="crash")  # half-way through the swap
    with faults.active(), pytest.raises(InjectedCrash):
        download_ravdess(dest, url=url_a, md5=md5(data_b), size=None, progress=False)
    assert swap_pending(dest) and not is_complete(dest)  # honest: never "complete" half-swapped
    # The learner re-runs the *first* command: the interrupted install is rolled back first,
    # so the first download is complete again, with no network request.
    download_ravdess(dest, url=url_a, md5=md5_a, size=None, progress=False)
    assert wavs(dest) == files_a and is_complete(dest, md5_a)
    assert not (dest / STAGING_DIR).exists()


# --- real file systems: full, read-only, a mount point ----------------------------------------


def test_destination_mount_point_and_disk_full_during_extraction(http_server, tmp_path):
    mnt = tmp_path / "mnt"
    with tmpfs(mnt, size="256k") as mounted:
        if mounted is None:
            pytest.skip("mounting a tmpfs needs root (fault sweep above covers ENOSPC)")
        data_a, files_a = make_zip()
        url_a = http_server.add(ZIP_PATH, data_a)
        download_ravdess(mnt, url=url_a, md5=md5(data_a), size=len(data_a), progress=False)
        assert wavs(mnt) == files_a and is_complete(mnt, md5(data_a))  # DEST is the mount point
        # B fits as an archive but not once extracted next to it: the disk fills mid-extraction.
        big, _ = make_other_zip(n_extra=3, seconds=0.5)
        assert len(big) < 200_000 < 2 * len(big)
        url_b = http_server.add("/big.zip", big)
        with pytest.raises(DownloadError, match="no space left") as err:
            download_ravdess(mnt, url=url_b, md5=md5(big), size=len(big), progress=False)
        assert str(mnt) in str(err.value) and "\n" not in str(err.value)
        assert wavs(mnt) == files_a and is_complete(mnt, md5(data_a))
        assert hidden_leftovers(mnt) == []
        # A smaller different archive still installs onto the mount point (no EXDEV).
        small, files_s = make_other_zip(n_extra=1)
        url_s = http_server.add("/small.zip", small)
        shutil.rmtree(mnt / ".download", ignore_errors=True)
        download_ravdess(mnt, url=url_s, md5=md5(small), size=len(small), progress=False)
        assert wavs(mnt) == files_s and is_complete(mnt, md5(small))


def test_disk_full_while_fetching_keeps_the_first_and_resumes(http_server, tmp_path):
    mnt = tmp_path / "mnt"
    with tmpfs(mnt, size="128k") as mounted:
        if mounted is None:
            pytest.skip("mounting a tmpfs needs root")
        data_a, files_a = make_zip()
        url_a = http_server.add(ZIP_PATH, data_a)
        download_ravdess(mnt, url=url_a, md5=md5(data_a), size=len(data_a), progress=False)
        huge, _ = make_other_zip(n_extra=3, seconds=2.0)  # larger than the whole disk
        url_b = http_server.add("/huge.zip", huge)
        with pytest.raises(DownloadError, match="no space left"):
            download_ravdess(mnt, url=url_b, md5=md5(huge), size=len(huge), progress=False)
        assert wavs(mnt) == files_a and is_complete(mnt, md5(data_a))
        assert hidden_leftovers(mnt) == []


@pytest.mark.parametrize("how", ["mount", "patched"])
def test_read_only_destination_fails_before_any_request(http_server, tmp_path, monkeypatch, how):
    data, _ = make_zip()
    url = http_server.add(ZIP_PATH, data)
    ro = tmp_path / "ro"
    with tmpfs(ro, size="64k", read_only=True) as mounted:
        if how == "mount" and mounted is None:
            pytest.skip("mounting a read-only tmpfs needs root")
        if how == "patched":
            import errno

            import audio_denoise_utils.engine.paths as paths

            def refuse(*args, **kwargs):
                raise OSError(errno.EROFS, "Read-only file system")

            monkeypatch.setattr(paths.tempfile, "mkstemp", refuse)
        with pytest.raises(AudioDenoiseError, match="read-only file system") as err:
            download_ravdess(ro / "ravdess", url=url, md5=md5(data), size=len(data), progress=False)
        assert str(ro / "ravdess") in str(err.value) and "\n" not in str(err.value)
        assert http_server.requests == []
