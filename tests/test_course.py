"""course.setup and friends as notebooks use them: locally, and in (a stub of) Google Colab.

Runs in the normal venv and in the Colab CI job's venv (ipywidgets 7.7.1, Python 3.13).
"""

from __future__ import annotations

import sys
import types
from pathlib import Path

import pytest
from test_ravdess import make_zip, md5

from audio_denoise_utils import AudioDenoiseError, course, paths, plots, ravdess

PROJECT = Path(__file__).resolve().parents[1]


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    """A fresh course home (data/, runs/) and cache, quick mode off, not in Colab."""
    monkeypatch.setenv(paths.HOME_ENV, str(tmp_path / "home"))
    monkeypatch.setenv(paths.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.delenv(course.QUICK_ENV, raising=False)
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    return tmp_path / "home"


@pytest.fixture
def colab(monkeypatch, tmp_path) -> types.SimpleNamespace:
    """Pretend to be in Colab: a google.colab module whose calls are recorded."""
    calls = types.SimpleNamespace(mounts=[], widget_manager=0, downloads=[])
    mod = types.ModuleType("google.colab")

    def mount(path: str) -> None:
        Path(path, "MyDrive").mkdir(parents=True, exist_ok=True)
        calls.mounts.append(path)

    def enable() -> None:
        calls.widget_manager += 1

    mod.drive = types.SimpleNamespace(mount=mount)
    mod.output = types.SimpleNamespace(enable_custom_widget_manager=enable)
    mod.files = types.SimpleNamespace(download=calls.downloads.append)
    monkeypatch.setitem(sys.modules, "google.colab", mod)
    monkeypatch.setattr(course, "DRIVE_MOUNT", str(tmp_path / "drive"))
    return calls


@pytest.fixture
def fake_zenodo(http_server, monkeypatch):
    """Serve a RAVDESS-layout archive on 127.0.0.1 and make the default download use it."""
    body, files = make_zip()
    url = http_server.add("/Audio_Speech_Actors_01-24.zip", body)
    real = ravdess.download_ravdess

    def download(dest=None, **kwargs):
        return real(dest, url=url, md5=md5(body), size=len(body), **kwargs)

    monkeypatch.setattr(ravdess, "download_ravdess", download)
    return types.SimpleNamespace(server=http_server, files=files)


def test_locally_nothing_is_downloaded_and_the_sample_is_the_default(home, fake_zenodo, capsys):
    ctx = course.setup(ravdess=True, drive=True)  # both are Colab-only switches
    out = capsys.readouterr().out
    assert ctx.data_dir == paths.sample_dir() and not ctx.colab
    assert fake_zenodo.server.requests == [] and "synthetic sample" in out
    assert ctx.runs == home / "runs" and f"Runs and outputs: {home / 'runs'}" in out


def test_colab_fetches_ravdess_once_per_machine_and_says_so(home, colab, fake_zenodo, capsys):
    ctx = course.setup()
    out = capsys.readouterr().out
    assert ctx.colab and ctx.data_dir == home / "data" / "ravdess"
    assert "RAVDESS audio-speech, verified download" in out and "Colab" in out
    assert len(list(ctx.data_dir.rglob("*.wav"))) == len(fake_zenodo.files)
    n = len(fake_zenodo.server.requests)
    again = course.setup()
    assert again.data_dir == ctx.data_dir and len(fake_zenodo.server.requests) == n
    assert "NOTE" not in capsys.readouterr().out


def test_colab_download_failure_is_said_not_hidden(home, colab, http_server, monkeypatch, capsys):
    url = http_server.add("/gone.zip", b"", status=404)
    real = ravdess.download_ravdess
    monkeypatch.setattr(
        ravdess, "download_ravdess", lambda dest=None, **kw: real(dest, url=url, **kw)
    )
    ctx = course.setup()
    out = capsys.readouterr().out
    assert ctx.data_dir == paths.sample_dir()
    assert "NOTE: RAVDESS could not be downloaded" in out and "synthetic sample" in out


def test_colab_quick_mode_uses_the_sample(home, colab, fake_zenodo, monkeypatch, capsys):
    monkeypatch.setenv(course.QUICK_ENV, "1")
    ctx = course.setup()
    assert ctx.data_dir == paths.sample_dir() and fake_zenodo.server.requests == []
    assert "quick mode: RAVDESS is not fetched" in capsys.readouterr().out


def test_colab_drive_keeps_data_and_runs_on_drive(home, colab, fake_zenodo, monkeypatch, capsys):
    ctx = course.setup(drive=True)
    drive_home = Path(course.DRIVE_MOUNT) / course.DRIVE_FOLDER
    assert colab.mounts == [course.DRIVE_MOUNT]
    assert ctx.data_dir == drive_home / "data" / "ravdess" and ctx.runs == drive_home / "runs"
    assert paths.home() == drive_home  # also for `!audio-denoise ...` run from the notebook
    assert "on Google Drive" in capsys.readouterr().out
    # Another notebook (another VM, same Drive) finds the data without downloading again.
    n = len(fake_zenodo.server.requests)
    assert course.setup(drive=True).data_dir == ctx.data_dir
    assert len(fake_zenodo.server.requests) == n


def test_colab_restart_notice_when_a_loaded_package_changed_on_disk(
    home, colab, monkeypatch, capsys
):
    monkeypatch.setitem(sys.modules, "traitlets", types.SimpleNamespace(__version__="0.0.1"))
    course.setup(ravdess=False)
    out = capsys.readouterr().out
    assert "RESTART NEEDED" in out and "traitlets 0.0.1 ->" in out


def test_custom_widget_manager_only_for_ipywidgets_8(home, colab, capsys):
    from audio_denoise_utils.widgets import ipywidgets_major

    course.setup(ravdess=False)
    assert colab.widget_manager == (1 if ipywidgets_major() >= 8 else 0)


def test_pick_checkpoint_never_substitutes_silently(home, colab, capsys):
    with pytest.raises(AudioDenoiseError, match="USE_MY_RUN = True.*DRIVE = True"):
        course.pick_checkpoint(True)
    assert course.pick_checkpoint(False) == course.shipped_checkpoint()
    assert "shipped" in capsys.readouterr().out
    mine = course.my_run_checkpoint()
    mine.parent.mkdir(parents=True)
    mine.write_bytes(b"weights")
    assert course.pick_checkpoint(True) == mine
    assert course.pick_checkpoint(False) == course.shipped_checkpoint()
    assert "set USE_MY_RUN = True" in capsys.readouterr().out


def test_pick_checkpoint_outside_colab_says_to_run_notebook_04(home):
    with pytest.raises(AudioDenoiseError, match="Run notebook 04 first"):
        course.pick_checkpoint(True)


def test_format_actors_is_short_and_complete():
    assert plots.format_actors(range(1, 19)) == "1-18"
    assert plots.format_actors([20, 19]) == "19, 20"
    assert plots.format_actors([1, 2, 3, 5, 7, 8, 9, 10, 12]) == "1-3, 5, 7-10, 12"
    assert plots.format_actors([]) == ""
