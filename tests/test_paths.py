"""Default folders resolve against the course (or AUDIO_DENOISE_HOME), never the working folder."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from signals import write_tiny_ravdess
from test_ravdess import make_zip, md5

from audio_denoise_utils import paths, ravdess
from audio_denoise_utils.cli import main

PROJECT = Path(__file__).resolve().parents[1]


@pytest.fixture
def clean_env(monkeypatch):
    for var in (paths.HOME_ENV, paths.CACHE_ENV, paths.ROOT_ENV):
        monkeypatch.delenv(var, raising=False)


def test_defaults_resolve_against_the_project_from_any_folder(clean_env, tmp_path, monkeypatch):
    for cwd in (PROJECT / "notebooks", tmp_path):
        monkeypatch.chdir(cwd)
        assert paths.project_root() == PROJECT and paths.home() == PROJECT
        assert paths.ravdess_dir() == PROJECT / "data" / "ravdess"
        assert paths.sample_dir() == PROJECT / "data" / "sample"
        assert paths.cache_dir() == PROJECT / "data" / "cache"
        assert paths.default_checkpoint_out() == PROJECT / "runs" / "train" / "model.pt"
        help_text = main_help()
        assert str(PROJECT / "data" / "ravdess") in help_text


def main_help() -> str:
    from audio_denoise_utils.cli import build_parser

    parser = build_parser()
    sub = parser._subparsers._group_actions[0].choices  # noqa: SLF001 - the subcommand parsers
    return sub["download"].format_help().replace("\n", " ").replace(" " * 2, " ")


def test_home_and_cache_environment_variables(clean_env, tmp_path, monkeypatch):
    monkeypatch.setenv(paths.HOME_ENV, str(tmp_path / "h"))
    assert paths.ravdess_dir() == tmp_path / "h" / "data" / "ravdess"
    assert paths.runs_root() == tmp_path / "h" / "runs"
    assert paths.cache_dir() == tmp_path / "h" / "data" / "cache"
    monkeypatch.setenv(paths.CACHE_ENV, str(tmp_path / "c"))
    assert paths.cache_dir() == tmp_path / "c"
    assert paths.sample_dir() == PROJECT / "data" / "sample"  # the bundled sample stays put


def test_download_elsewhere_warns_that_the_course_does_not_read_it(
    clean_env, http_server, tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv(paths.HOME_ENV, str(tmp_path / "h"))
    body, _ = make_zip()
    url = http_server.add("/a.zip", body)
    monkeypatch.chdir(tmp_path)
    code = main(["-q", "download", "--dest", "data/ravdess", "--url", url, "--md5", md5(body)])
    err = capsys.readouterr().err
    assert code == 0 and "warning:" in err and str(tmp_path / "h" / "data" / "ravdess") in err
    with pytest.warns(ravdess.UnreadLocationWarning, match="--data"):
        ravdess.download_ravdess(tmp_path / "data" / "ravdess", url=url, md5=md5(body))
    # The default destination is where the course reads: no warning, and it is the data folder.
    code = main(["-q", "download", "--url", url, "--md5", md5(body)])
    captured = capsys.readouterr()
    assert code == 0 and "warning" not in captured.err
    assert str(tmp_path / "h" / "data" / "ravdess") in captured.out
    assert ravdess.default_data_dir() == tmp_path / "h" / "data" / "ravdess"


def test_a_read_only_install_trains_and_evaluates(tmp_path):
    # The package copied into a read-only "site-packages", used from an unrelated folder, with no
    # checkout anywhere: nothing may be written inside the package, the cache goes to the user's.
    site = tmp_path / "site-packages"
    shutil.copytree(PROJECT / "audio_denoise_utils", site / "audio_denoise_utils")
    data = write_tiny_ravdess(tmp_path / "mydata")
    work, user = tmp_path / "work", tmp_path / "user"
    work.mkdir()
    for p in [site, *site.rglob("*")]:
        p.chmod(p.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in (paths.HOME_ENV, paths.CACHE_ENV, paths.ROOT_ENV)
    }
    env.update(
        PYTHONPATH=str(site),
        HOME=str(user),
        XDG_CACHE_HOME=str(user / "cache"),
        XDG_DATA_HOME=str(user / "share"),
        PYTHONDONTWRITEBYTECODE="1",
    )
    before = sorted(str(p) for p in site.rglob("*"))

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "audio_denoise_utils", "-q", *args],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )

    try:
        train = cli(
            "train", "--data", str(data), "--model", "conv", "--epochs", "1",
            "--steps-per-epoch", "1", "--batch-size", "2", "--device", "cpu",
        )  # fmt: skip
        assert train.returncode == 0, train.stderr
        ckpt = user / "share" / "audio-denoise" / "runs" / "train" / "model.pt"
        assert ckpt.is_file() and str(ckpt) in train.stdout
        evaluate = cli(
            "evaluate", "--checkpoint", str(ckpt), "--data", str(data), "--snr", "5",
            "--max-clips", "1", "--no-baselines", "--json",
        )  # fmt: skip
        assert evaluate.returncode == 0, evaluate.stderr
        assert list((user / "cache" / "audio-denoise").glob("*.npy"))  # the user's cache folder
        assert sorted(str(p) for p in site.rglob("*")) == before  # nothing written in the package
        assert list(work.iterdir()) == []  # nor in the working folder
        # Without data and without a checkout: one clear line, no traceback.
        nodata = cli("train", "--epochs", "1", "--overwrite")  # --out exists from above
        assert nodata.returncode == 1 and nodata.stderr.startswith("error: no RAVDESS")
        assert "Traceback" not in nodata.stderr
    finally:
        for p in [site, *site.rglob("*")]:
            p.chmod(p.stat().st_mode | stat.S_IWUSR)
