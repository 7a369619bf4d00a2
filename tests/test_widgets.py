"""Tests for audio_denoise_utils.widgets: drive the controls from Python, check what is shown and heard."""

from __future__ import annotations

import base64
import io
import math
import re
from datetime import UTC, datetime

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import soundfile as sf  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

pytest.importorskip("ipywidgets")
from audio_denoise_utils import widgets  # noqa: E402

SR = 16000
LSB = 1 / 32768  # one 16-bit quantisation step


def tone(seconds: float = 0.5, sr: int = SR, f0: float = 220.0, amp: float = 0.3) -> torch.Tensor:
    """A harmonic tone with vibrato and a smooth fade, (1, time)."""
    t = torch.arange(int(seconds * sr), dtype=torch.float64) / sr
    freq = f0 * (1 + 0.02 * torch.sin(2 * math.pi * 5 * t))
    phase = 2 * math.pi * torch.cumsum(freq, 0) / sr
    wav = sum(torch.sin(k * phase) / k for k in range(1, 5)) * torch.hann_window(
        t.numel(), dtype=torch.float64
    )
    return (amp * wav / wav.abs().max()).float().unsqueeze(0)


def player_audio(player) -> tuple[np.ndarray, int]:
    """Decode the WAV bytes an audio_player would play: (samples (time, channels), sr)."""
    audio = player.children[1]
    assert audio.format == "wav" and audio.autoplay is False
    data, sr = sf.read(io.BytesIO(bytes(audio.value)), dtype="float64", always_2d=True)
    return data, sr


def label_text(player) -> str:
    return player.children[0].value


def numbers(text: str) -> list[float]:
    return [float(x) for x in re.findall(r"[-+]?\d+\.\d+", text)]


class LowPass(nn.Module):
    """A stand-in "denoiser": a moving average, which removes much of white noise above the tone."""

    def __init__(self, taps: int = 9):
        super().__init__()
        self.conv = nn.Conv1d(1, 1, taps, padding=taps // 2, bias=False)
        nn.init.constant_(self.conv.weight, 1.0 / taps)
        self.config = {"sample_rate": SR}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class Scale(nn.Module):
    """A stand-in model that only changes the level (SI-SDR must not move)."""

    def __init__(self):
        super().__init__()
        self.gain = nn.Parameter(torch.tensor(0.5))
        self.config = {"sample_rate": SR}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gain


# ---------------------------------------------------------------------------------------------
# Players
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("amp", [0.9, 0.01])
def test_audio_player_plays_the_samples_at_their_own_level(amp):
    clip = tone(amp=amp)
    player = widgets.audio_player(clip, SR, "clean")
    data, sr = player_audio(player)
    assert sr == SR and data.shape == (clip.shape[-1], 1)
    assert np.abs(data[:, 0] - clip[0].numpy()).max() <= LSB  # quiet stays quiet: no rescaling
    assert "clean" in label_text(player) and "normalised" not in label_text(player)
    assert player.normalised is False


def test_audio_player_normalises_only_clipping_audio_and_says_so():
    clip = tone(amp=1.8)
    player = widgets.audio_player(clip.numpy()[0], SR, "loud")
    data, _ = player_audio(player)
    assert np.abs(data).max() == pytest.approx(1.0, abs=2 * LSB)
    assert np.abs(data[:, 0] - clip[0].numpy() / 1.8).max() <= LSB
    assert "normalised" in label_text(player) and "1.80" in label_text(player)


def test_encode_wav_keeps_channels_and_rejects_nan():
    stereo = torch.cat([tone(), -tone()])
    data, gain = widgets.encode_wav(stereo, 8000)
    decoded, sr = sf.read(io.BytesIO(data), always_2d=True)
    assert gain == 1.0 and sr == 8000 and decoded.shape == (stereo.shape[-1], 2)
    with pytest.raises(ValueError, match="NaN"):
        widgets.encode_wav(torch.tensor([0.0, float("nan")]), SR)


def test_players_row_keeps_order():
    row = widgets.players_row({"noisy": tone(amp=0.5), "clean": tone()}, SR)
    assert [label_text(p) for p in row.children] == ["<b>noisy</b>", "<b>clean</b>"]


# ---------------------------------------------------------------------------------------------
# NoisePanel
# ---------------------------------------------------------------------------------------------


def measured(panel) -> float:
    return numbers(panel.snr_label.value)[1]  # "asked X dB · measured Y dB"


def low_band_share(residual: torch.Tensor, cutoff_hz: float = 500.0) -> float:
    spec = torch.fft.rfft(residual.double().reshape(-1)).abs().pow(2)
    freqs = torch.fft.rfftfreq(residual.shape[-1], 1 / SR)
    return float(spec[freqs < cutoff_hz].sum() / spec.sum())


def test_noise_panel_slider_sets_the_measured_snr():
    clean = tone()
    panel = widgets.NoisePanel(clean, SR, seed=3)
    first = panel.noisy.clone()
    first_png = bytes(panel.image.value)
    assert abs(measured(panel) - 10.0) < 0.1
    panel.snr.value = 5
    assert abs(measured(panel) - 5.0) < 0.1
    assert panel.measured_snr == pytest.approx(measured(panel), abs=0.01)
    assert not torch.equal(panel.noisy, first) and panel.noisy.shape == clean.shape
    assert bytes(panel.image.value)[:4] == b"\x89PNG" and bytes(panel.image.value) != first_png
    # The players show the clean clip and exactly the current noisy clip.
    clean_player, noisy_player = panel.players.children
    data, _ = player_audio(noisy_player)
    expected = panel.noisy[0].numpy() / max(1.0, float(panel.noisy.abs().max()))
    assert np.abs(data[:, 0] - expected).max() <= LSB
    assert np.abs(player_audio(clean_player)[0][:, 0] - clean[0].numpy()).max() <= LSB
    # Same settings, same noise (fixed seed).
    panel.snr.value = 10
    assert torch.equal(panel.noisy, first)


def test_noise_panel_noise_type_changes_the_spectrum():
    clean = tone()
    panel = widgets.NoisePanel(clean, SR, snr_db=0.0)
    white = low_band_share(panel.noisy - clean)
    panel.noise_type.value = "brown"
    brown = low_band_share(panel.noisy - clean)
    assert abs(measured(panel) - 0.0) < 0.1
    assert white < 0.1 and brown > 0.8  # 500 Hz is 1/16 of the band: white ~6 %, brown most
    assert "babble" not in panel.noise_type.options


def test_noise_panel_babble_uses_the_given_clips():
    others = [tone(0.7, f0=150.0), tone(0.4, f0=330.0)]
    panel = widgets.NoisePanel(tone(), SR, babble_clips=others, snr_db=3.0)
    panel.noise_type.value = "babble"
    assert abs(measured(panel) - 3.0) < 0.1
    # Babble from harmonic tones is harmonic too: far more low-band energy than white noise.
    assert low_band_share(panel.noisy - panel.clean) > 0.5


def test_noise_panel_multiplicative_toggles():
    panel = widgets.NoisePanel(tone(), SR, snr_db=20.0)
    additive = panel.noisy.clone()
    panel.multiplicative.value = True
    assert not torch.equal(panel.noisy, additive)
    # A gain change and amplitude modulation are errors against the clean clip too.
    assert abs(measured(panel) - 20.0) > 0.1 and "multiplicative" in panel.snr_label.value
    panel.multiplicative.value = False
    assert torch.equal(panel.noisy, additive)
    panel.original_multiplicative.value = True
    # Doubling a random half of the samples leaves about 3 dB SNR whatever was asked.
    assert measured(panel) < 5.0


# ---------------------------------------------------------------------------------------------
# ABPanel
# ---------------------------------------------------------------------------------------------


def test_ab_panel_denoises_and_reports_si_sdr():
    clips = {"short": tone(0.4), "long": tone(0.6, f0=180.0)}
    model = LowPass().train()
    panel = widgets.ABPanel(model, clips, SR, snr_db=0.0)
    assert model.training  # put back after listening
    assert panel.denoised.shape == clips["short"].shape
    noisy_db, denoised_db, gain_db = numbers(panel.metrics_label.value)
    assert noisy_db == pytest.approx(panel.si_sdr_noisy, abs=0.01)
    assert abs(noisy_db - 0.0) < 0.5  # white noise at 0 dB: SI-SDR close to the input SNR
    assert denoised_db > noisy_db + 3 and gain_db == pytest.approx(denoised_db - noisy_db, abs=0.02)
    assert [label_text(p) for p in panel.players.children] == [
        "<b>noisy</b>",
        "<b>denoised</b>",
        "<b>clean</b>",
    ]
    data, _ = player_audio(panel.players.children[1])
    assert np.abs(data[:, 0] - panel.denoised[0].numpy()).max() <= LSB

    panel.clip.value = "long"
    assert panel.denoised.shape == clips["long"].shape and torch.equal(panel.clean, clips["long"])
    before = panel.si_sdr_noisy
    panel.snr.value = 10
    assert panel.si_sdr_noisy > before + 8
    assert "babble" in panel.noise_type.options
    panel.noise_type.value = "babble"  # the other clip is the interfering talker
    assert panel.denoised.shape == clips["long"].shape


def test_ab_panel_with_a_gain_only_model_and_a_sequence_of_clips():
    panel = widgets.ABPanel(Scale(), [tone(0.3)], SR)
    assert list(panel.clip.options) == ["clip 0"]
    # SI-SDR ignores the level: a model that only scales gains nothing.
    assert panel.si_sdr_denoised == pytest.approx(panel.si_sdr_noisy, abs=0.01)
    assert torch.allclose(panel.denoised, 0.5 * panel.noisy, atol=1e-6)


def test_ab_panel_blind_mode_hides_and_reveals():
    panel = widgets.ABPanel(LowPass(), [tone(0.3), tone(0.3, f0=300.0)], SR, seed=1)
    orders = set()
    panel.blind.value = True
    for snr in (0.0, 2.0, 4.0, 6.0, 8.0, 10.0):
        panel.snr.value = snr
        assert [label_text(p) for p in panel.players.children] == [
            "<b>A</b>",
            "<b>B</b>",
            "<b>clean (reference)</b>",
        ]
        assert "hidden" in panel.metrics_label.value and not panel.reveal_button.disabled
        a, b = panel.ab_order
        orders.add(panel.ab_order)
        heard_a, _ = player_audio(panel.players.children[0])
        truth = {"noisy": panel.noisy, "denoised": panel.denoised}
        assert (
            np.abs(
                heard_a[:, 0] - truth[a][0].numpy() / max(1.0, float(truth[a].abs().max()))
            ).max()
            <= LSB
        )
    assert len(orders) == 2  # both orders occur over a few trials
    panel.reveal_button.click()
    assert (
        f"A was the <b>{a}</b>" in panel.reveal_label.value
        and "SI-SDR noisy" in panel.metrics_label.value
    )
    assert panel.reveal_button.disabled
    panel.blind.value = False
    assert (
        panel.reveal_label.value == "" and label_text(panel.players.children[0]) == "<b>noisy</b>"
    )


# ---------------------------------------------------------------------------------------------
# DenoiseUploadPanel
# ---------------------------------------------------------------------------------------------


def wav_bytes(wav: torch.Tensor, sr: int) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, wav.numpy().T, sr, format="WAV", subtype="PCM_16")
    return buf.getvalue()


def test_upload_panel_denoises_a_real_wav_and_offers_a_download():
    sr = 22050
    stereo = torch.cat([tone(0.5, sr), 0.5 * tone(0.5, sr)])
    panel = widgets.DenoiseUploadPanel(LowPass())
    assert panel.process_bytes("my speech.wav", wav_bytes(stereo, sr)) is True
    assert "error" not in panel.message.value and "22050 Hz" in panel.message.value
    assert len(panel.players.children) == 2
    assert panel.denoised.shape == (1, stereo.shape[-1])
    link = panel.download.value
    assert 'download="my speech_denoised.wav"' in link
    payload = re.search(r'href="data:audio/wav;base64,([^"]+)"', link).group(1)
    out, out_sr = sf.read(io.BytesIO(base64.b64decode(payload)), always_2d=True)
    assert out_sr == sr and out.shape == (stereo.shape[-1], 1)  # the input's rate and length, mono
    assert np.abs(out[:, 0] - panel.denoised[0].numpy()).max() <= LSB
    assert bytes(panel.image.value)[:4] == b"\x89PNG"


@pytest.mark.parametrize(
    "data, problem",
    [(b"this is not audio at all" * 10, "not a readable audio file"), (b"", "empty")],
)
def test_upload_panel_shows_an_error_for_bad_files(data, problem):
    panel = widgets.DenoiseUploadPanel(LowPass())
    assert panel.process_bytes("good.wav", wav_bytes(tone(0.2), SR))
    assert panel.process_bytes("notes.txt", data) is False
    assert "error" in panel.message.value and "notes.txt" in panel.message.value
    assert problem in panel.message.value
    assert panel.players.children == () and panel.download.value == "" and panel.denoised is None


def browser_upload(upload, name: str, data: bytes) -> None:
    """Do to a FileUpload what the browser does when a file is picked (ipywidgets 7 or 8)."""
    if widgets.ipywidgets_major() >= 8:
        upload.value = (
            {
                "name": name,
                "type": "audio/wav",
                "size": len(data),
                "content": memoryview(data),
                "last_modified": datetime.now(UTC),
            },
        )
    else:  # 7.x: the frontend sends metadata and data, then bumps a counter
        upload.metadata = [{"name": name, "type": "audio/wav", "size": len(data)}]
        upload.data = [data]
        upload._counter += 1


def test_upload_panel_limits_length_and_reacts_to_the_upload_widget():
    panel = widgets.DenoiseUploadPanel(LowPass(), max_seconds=0.1)
    assert panel.process_bytes("long.wav", wav_bytes(tone(0.3), SR)) is False
    assert "audio-denoise denoise" in panel.message.value
    panel.max_seconds = 10.0
    for round_ in range(2):  # the same file twice: the cleared widget takes it again
        browser_upload(panel.upload, "clip.wav", wav_bytes(tone(0.3 + 0.1 * round_), SR))
        assert panel.name == "clip.wav"
        assert panel.denoised.shape == (1, int((0.3 + 0.1 * round_) * SR))
        assert len(panel.upload.value) == 0  # cleared: no bytes kept in the widget state
        assert "error" not in panel.message.value


def displayed(obj) -> list[dict]:
    """Return the MIME bundles IPython's display() publishes for ``obj`` (as in a notebook)."""
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.display import display
    from IPython.utils.capture import capture_output
    from traitlets.config import Config

    had_shell = InteractiveShell.initialized()
    config = Config()
    config.HistoryManager.enabled = False  # no history database in the user's ~/.ipython
    InteractiveShell.instance(config=config)
    try:
        with capture_output() as captured:
            display(obj)
    finally:
        if not had_shell:
            InteractiveShell.clear_instance()
    return [out.data for out in captured.outputs]


def widget_views(bundles: list[dict]) -> list[str]:
    return [
        b["application/vnd.jupyter.widget-view+json"]["model_id"]
        for b in bundles
        if "application/vnd.jupyter.widget-view+json" in b
    ]


@pytest.mark.parametrize("kind", ["noise", "ab", "upload"])
def test_panels_display_as_their_widget(kind, tmp_path, monkeypatch):
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    # What a notebook shows for `display(panel)` or a panel on a cell's last line: the panel's
    # widget view, on the installed ipywidgets (7.7.1 in the Colab CI job, 8 in the normal venv).
    panel = {
        "noise": lambda: widgets.NoisePanel(tone(0.2), SR),
        "ab": lambda: widgets.ABPanel(LowPass(), [tone(0.2)], SR),
        "upload": lambda: widgets.DenoiseUploadPanel(LowPass()),
    }[kind]()
    assert widget_views(displayed(panel)) == [panel.widget.model_id]
    assert widget_views(displayed(panel.widget)) == [panel.widget.model_id]
    row = widgets.players_row({"a": tone(0.1)}, SR)
    assert widget_views(displayed(row)) == [row.model_id]


def test_upload_panel_in_colab_hides_the_button_and_downloads_only_when_asked(
    tmp_path, monkeypatch
):
    import sys
    import types

    downloads = []
    colab = types.ModuleType("google.colab")
    colab.files = types.SimpleNamespace(download=downloads.append)
    monkeypatch.setitem(sys.modules, "google.colab", colab)
    panel = widgets.DenoiseUploadPanel(LowPass(), upload_button=False, save_dir=tmp_path)
    assert panel.colab and panel.upload.layout.display == "none"
    assert panel.save_button.layout.display == "none"  # nothing to download yet
    assert panel.save() is None and downloads == []
    assert panel.process_bytes("talk.flac.wav", wav_bytes(tone(0.3), SR))
    assert panel.download.value == ""  # no data link in Colab: a button instead
    assert panel.save_button.layout.display is None and "talk.flac_denoised.wav" in (
        panel.save_button.description
    )
    assert downloads == []  # processing alone never downloads
    panel.save_button.click()
    assert downloads == [str(tmp_path / "talk.flac_denoised.wav")]
    out, out_sr = sf.read(downloads[0], always_2d=True)
    assert out_sr == SR and out.shape == (int(0.3 * SR), 1)
    assert np.abs(out[:, 0] - panel.denoised[0].numpy()).max() <= LSB


def widget_texts(widget) -> list[str]:
    """Every text a rendered widget tree shows: HTML values, descriptions, player labels."""
    texts = []
    for name in ("value", "description", "tooltip"):
        value = getattr(widget, name, None)
        if isinstance(value, str):
            texts.append(value)
    for child in getattr(widget, "children", ()):
        texts += widget_texts(child)
    return texts


def all_titles(figure) -> list[str]:
    """Every axes title of a figure, in all three title positions."""
    return [ax.get_title(loc) for ax in figure.axes for loc in ("left", "center", "right")]


def test_ab_panel_blind_mode_shows_no_score_until_reveal():
    def halve(noisy):  # a rival that only changes the level
        return 0.5 * noisy

    clips = [tone(0.3), tone(0.3, f0=300.0)]
    panel = widgets.ABPanel(LowPass(), clips, SR, seed=2, rival=halve, rival_name="half")
    panel.blind.value = True
    for snr in (0.0, 5.0, 10.0):
        panel.snr.value = snr
        assert set(panel.ab_order) == {"denoised", "half"}  # two outputs, not noisy vs denoised
        shown = " ".join(widget_texts(panel.widget))
        titles = " ".join(all_titles(panel.figure))
        for text in (shown, titles):
            assert not re.search(r"\d\s*dB", text), text  # no "12.3 dB" anywhere
            for score in (panel.si_sdr_noisy, panel.si_sdr_denoised, panel.si_sdr_rival):
                assert f"{score:.1f}" not in text
        assert {t for t in all_titles(panel.figure) if t} == {
            "A",
            "B",
            "clean (reference)",
        }
        assert "Which sounds better" in panel.reveal_label.value
    panel.reveal_button.click()
    titles = " ".join(all_titles(panel.figure))
    assert f"{panel.si_sdr_denoised:.1f}" in titles and f"{panel.si_sdr_rival:.1f}" in titles
    assert f"half <b>{panel.si_sdr_rival:.2f} dB</b>" in panel.metrics_label.value
    panel.blind.value = False
    assert [label_text(p) for p in panel.players.children] == [
        "<b>noisy</b>",
        "<b>denoised</b>",
        "<b>half</b>",
        "<b>clean</b>",
    ]
