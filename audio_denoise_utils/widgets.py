"""Listening widgets for the notebooks: audio players, a noise-level panel, A/B and upload panels.

Built on ipywidgets 7.7 (Colab's) or 8, imported when a widget is made, so importing this module
never fails. Panels display through IPython's ``display`` (``display(panel)`` or just ``panel`` as a
cell's last line), which both ipywidgets versions and Colab's frontend render.
Everything can be driven from Python without a browser: set a control's ``.value`` and the panel
recomputes, which is how the tests check what a learner would see and hear. Figures are rendered
to PNG into an ``ipywidgets.Image``, so they update in place and work headless.

Players use ``ipywidgets.Audio`` with 16-bit WAV bytes at the clip's own level: unlike
``IPython.display.Audio`` nothing is rescaled, so a quiet clip sounds quiet. Only a clip whose peak
exceeds 1 (it would clip) is scaled down, and its label says so.

Widget internals: not course material (the notebooks call it; they do not teach it).
"""

from __future__ import annotations

import base64
import html
import io
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

import numpy as np
import soundfile as sf
import torch

from . import DEFAULT_SR
from .errors import AudioDenoiseError, AudioLoadError, InvalidArgumentError
from .noise import SYNTHETIC_KINDS
from .plots import (
    COLORS,
    figure_png,
    new_figure,
    plot_snr_demo,
    plot_spectrogram,
    plot_waveform,
)

if TYPE_CHECKING:
    import ipywidgets
    from matplotlib.figure import Figure
    from torch import nn

Wave = torch.Tensor | np.ndarray

#: SNR slider range (dB) shared by the panels.
SNR_MIN, SNR_MAX, SNR_STEP = -5.0, 30.0, 0.5
#: Noise kinds the panels offer without extra clips (babble is added when other clips exist).
COLORED_KINDS = SYNTHETIC_KINDS


def _ipw() -> Any:
    """Return the ipywidgets module, with an actionable message when it is missing."""
    try:
        import ipywidgets
    except ImportError as exc:  # pragma: no cover - ipywidgets is a package dependency
        raise ImportError(
            "the listening widgets need ipywidgets: pip install 'ipywidgets>=7.7.1'"
        ) from exc
    return ipywidgets


def ipywidgets_major() -> int:
    """Return the major version of the installed ipywidgets (7 on Colab today, 8 elsewhere)."""
    return int(str(_ipw().__version__).split(".", 1)[0])


def in_colab() -> bool:
    """Return True when running in Google Colab (its kernel imports ``google.colab`` at start)."""
    return "google.colab" in sys.modules


def _as_clip(wav: Wave, name: str = "clip") -> torch.Tensor:
    """Return one mono clip as a float32 CPU tensor (1, time)."""
    x = wav if isinstance(wav, torch.Tensor) else torch.as_tensor(np.asarray(wav))
    x = x.detach().float().cpu()
    while x.ndim > 2 and x.shape[0] == 1:
        x = x[0]
    if x.ndim == 1:
        x = x.unsqueeze(0)
    if x.ndim != 2 or x.shape[-1] == 0:
        raise InvalidArgumentError(
            f"{name}: expected one clip (1, time) or (time,), got shape {tuple(wav.shape)}"
        )
    if x.shape[0] > 1:
        x = x.mean(dim=0, keepdim=True)
    return x.contiguous()


def _si_sdr(estimate: torch.Tensor, target: torch.Tensor) -> float:
    from .metrics import si_sdr

    return float(si_sdr(estimate.reshape(1, 1, -1), target.reshape(1, 1, -1))[0])


def _show(widget: Any, visible: bool) -> None:
    widget.layout.display = None if visible else "none"


class _Panel:
    """Base: ``.widget`` is what a notebook displays; the panel object displays as its widget."""

    widget: Any

    def _ipython_display_(self, **kwargs: Any) -> None:
        # ipywidgets 7 widgets display through _ipython_display_, 8 through _repr_mimebundle_:
        # handing the widget to IPython's display works with both.
        from IPython.display import display

        display(self.widget)


# ---------------------------------------------------------------------------------------------
# Players
# ---------------------------------------------------------------------------------------------


def encode_wav(wav: Wave, sr: int) -> tuple[bytes, float]:
    """Return ``(16-bit WAV bytes, gain applied)``; the gain is 1.0 unless the peak exceeded 1.

    (channels, time) audio keeps its channels. A clip peaking above 1 is scaled to a peak of 1
    instead of being clipped; anything else is written at its own level.
    """
    arr = wav.detach().float().cpu().numpy() if isinstance(wav, torch.Tensor) else np.asarray(wav)
    arr = np.asarray(arr, dtype=np.float32)
    while arr.ndim > 2 and arr.shape[0] == 1:
        arr = arr[0]
    arr = np.atleast_2d(arr)  # (channels, time)
    if arr.ndim != 2 or arr.shape[-1] == 0:
        raise InvalidArgumentError(
            f"expected (channels, time) or (time,) audio, got shape {np.shape(wav)}"
        )
    if not np.isfinite(arr).all():
        raise InvalidArgumentError("cannot play audio holding NaN or infinite samples")
    peak = float(np.abs(arr).max())
    gain = 1.0 / peak if peak > 1.0 else 1.0
    buf = io.BytesIO()
    sf.write(buf, (arr * gain).T, int(sr), format="WAV", subtype="PCM_16")
    return buf.getvalue(), gain


def audio_player(wav: Wave, sr: int, label: str | None = None) -> ipywidgets.VBox:
    """Return a labelled ``ipywidgets.Audio`` player (in a VBox: ``children = (label, audio)``)."""
    ipw = _ipw()
    data, gain = encode_wav(wav, sr)
    text = f"<b>{html.escape(label)}</b>" if label else ""
    if gain != 1.0:
        text += f" <small>(normalised: peak was {1 / gain:.2f}, played at peak 1)</small>"
    audio = ipw.Audio(value=data, format="wav", autoplay=False, loop=False)
    box = ipw.VBox([ipw.HTML(text), audio], layout=ipw.Layout(margin="0 12px 0 0"))
    box.normalised = gain != 1.0  # tests and curious learners can check
    return box


def players_row(clips: Mapping[str, Wave], sr: int) -> ipywidgets.HBox:
    """Return an HBox with one labelled player per clip, in the mapping's order."""
    ipw = _ipw()
    return ipw.HBox([audio_player(w, sr, name) for name, w in clips.items()])


# ---------------------------------------------------------------------------------------------
# Notebook 02: how noise sounds and looks
# ---------------------------------------------------------------------------------------------


class NoisePanel(_Panel):
    """Interactive corruption of one clean clip: SNR slider, noise type, multiplicative effects.

    Every change recomputes ``.noisy`` (1, time) with the same seed (so moving the slider only
    rescales the same noise), redraws the waveform overlay and spectrogram, updates the players
    and shows the SNR measured against the clean clip in ``.snr_label``. Display ``.widget`` (or
    the panel itself).
    """

    def __init__(
        self,
        clean: Wave,
        sr: int = DEFAULT_SR,
        babble_clips: Sequence[Wave] | None = None,
        seed: int = 0,
        snr_db: float = 10.0,
        kind: str = "white",
    ):
        ipw = _ipw()
        self.clean = _as_clip(clean, "clean")
        self.sr = int(sr)
        self.seed = int(seed)
        self.babble_clips = (
            [_as_clip(c, "babble clip") for c in babble_clips] if babble_clips else None
        )
        kinds = list(COLORED_KINDS) + (["babble"] if self.babble_clips else [])
        if kind not in kinds:
            raise InvalidArgumentError(f"kind {kind!r} not available here; choose from {kinds}")
        style = {"description_width": "initial"}
        self.snr = ipw.FloatSlider(
            value=snr_db,
            min=SNR_MIN,
            max=SNR_MAX,
            step=SNR_STEP,
            description="SNR (dB)",
            continuous_update=False,
            style=style,
        )
        self.noise_type = ipw.Dropdown(options=kinds, value=kind, description="noise", style=style)
        self.multiplicative = ipw.Checkbox(
            value=False, description="random gain + slow amplitude modulation", indent=False
        )
        self.original_multiplicative = ipw.Checkbox(
            value=False, description="original recipe: multiply each sample by 1 or 2", indent=False
        )
        self.snr_label = ipw.HTML()
        self.clean_player = audio_player(self.clean, self.sr, "clean")
        self.players = ipw.HBox([self.clean_player])
        self.image = ipw.Image(format="png", layout=ipw.Layout(max_width="100%"))
        self.noisy: torch.Tensor | None = None
        self.measured_snr: float | None = None
        self.figure: Figure | None = None
        controls = ipw.VBox(
            [
                ipw.HBox([self.snr, self.noise_type]),
                ipw.HBox([self.multiplicative, self.original_multiplicative]),
            ]
        )
        self.widget = ipw.VBox([controls, self.snr_label, self.players, self.image])
        for control in (
            self.snr,
            self.noise_type,
            self.multiplicative,
            self.original_multiplicative,
        ):
            control.observe(lambda _change: self.update(), names="value")
        self.update()

    def corrupt(self) -> torch.Tensor:
        """Return the noisy clip (1, time) for the current settings (same seed, same noise)."""
        from .noise import (
            add_noise,
            amplitude_modulation,
            original_multiplicative_noise,
            random_gain,
        )

        # One generator per stage: toggling an effect must not change the other stages' draws.
        def gen(stage: int) -> torch.Generator:
            return torch.Generator().manual_seed(self.seed * 7919 + stage)

        signal = self.clean
        if self.multiplicative.value:
            signal = random_gain(signal, generator=gen(1))
            signal = amplitude_modulation(signal, self.sr, generator=gen(2))
        noisy = add_noise(
            signal,
            float(self.snr.value),
            kind=self.noise_type.value,
            generator=gen(0),
            babble_clips=self.babble_clips,
            sr=self.sr,
        )
        if self.original_multiplicative.value:
            noisy = original_multiplicative_noise(noisy, generator=gen(3))
        return noisy

    def update(self) -> None:
        """Recompute the noisy clip and refresh the label, players and figure."""
        from .noise import measure_snr

        self.noisy = self.corrupt()
        self.measured_snr = float(measure_snr(self.clean, self.noisy)[0])
        asked = float(self.snr.value)
        text = (
            f"asked SNR <b>{asked:.1f} dB</b> &middot; measured against the clean clip: "
            f"<b>{self.measured_snr:.2f} dB</b>"
        )
        notes = []
        if self.multiplicative.value:
            notes.append(
                "the noise was mixed at the asked SNR against the gain-changed, modulated signal; "
                "against the original clip that multiplicative change counts as error"
            )
        if self.original_multiplicative.value:
            notes.append(
                "doubling a random half of the samples is a multiplicative error as loud as the "
                "speech itself, so the SNR stays near 3 dB whatever was asked"
            )
        if notes and abs(self.measured_snr - asked) > 0.1:
            text += f" <small>({'; '.join(notes)})</small>"
        self.snr_label.value = text
        noisy_player = audio_player(
            self.noisy, self.sr, f"noisy ({self.noise_type.value}, {asked:g} dB)"
        )
        self.players.children = (self.clean_player, noisy_player)
        fig = new_figure((9, 4.8))
        top, bottom = fig.subplots(2, 1, sharex=True)
        plot_snr_demo(
            self.clean, self.noisy, self.sr, ax=top, title=f"{self.noise_type.value} noise"
        )
        top.set_xlabel("")
        plot_spectrogram(self.noisy, self.sr, ax=bottom, title="noisy spectrogram", colorbar=True)
        self.figure = fig
        self.image.value = figure_png(fig)


# ---------------------------------------------------------------------------------------------
# Notebook 05: listen to the model
# ---------------------------------------------------------------------------------------------


class ABPanel(_Panel):
    """A/B listening panel: corrupt a clean test clip, denoise it with ``model``, listen and compare.

    Controls: ``.clip`` (which clip), ``.snr``, ``.noise_type`` ("babble" mixes the *other* clips)
    and ``.blind``: a blind test that labels two versions "A" and "B" in random order until
    ``.reveal_button`` is pressed. With ``rival`` (a function (1, time) -> (1, time), for example
    spectral gating) the blind pair is the model's output and the rival's, both denoised, so the
    question "which sounds better?" has no obvious answer; without it the pair is noisy and
    denoised. In blind mode nothing shown carries a score (labels, players and figure titles)
    until *reveal*. After each :meth:`update`: ``.clean``, ``.noisy``, ``.denoised``, ``.rivaled``
    (1, time; ``.rivaled`` None without a rival), ``.si_sdr_noisy``, ``.si_sdr_denoised``,
    ``.si_sdr_rival`` (dB) and ``.metrics_label``.
    """

    def __init__(
        self,
        model: nn.Module,
        clips: Sequence[Wave] | Mapping[str, Wave],
        sr: int = DEFAULT_SR,
        seed: int = 0,
        snr_db: float = 5.0,
        kind: str = "white",
        rival: Callable[[torch.Tensor], torch.Tensor] | None = None,
        rival_name: str = "rival",
    ):
        ipw = _ipw()
        self.rival, self.rival_name = rival, str(rival_name)
        if self.rival_name in ("noisy", "denoised", "clean"):
            raise InvalidArgumentError(f"rival_name {rival_name!r} is taken; choose another")
        if isinstance(clips, Mapping):
            self.clips = {str(k): _as_clip(v, str(k)) for k, v in clips.items()}
        else:
            self.clips = {f"clip {i}": _as_clip(v, f"clip {i}") for i, v in enumerate(clips)}
        if not self.clips:
            raise InvalidArgumentError("ABPanel needs at least one clean clip")
        self.model = model
        self.sr = int(sr)
        self.seed = int(seed)
        kinds = list(COLORED_KINDS) + (["babble"] if len(self.clips) > 1 else [])
        style = {"description_width": "initial"}
        self.clip = ipw.Dropdown(options=list(self.clips), description="clip", style=style)
        self.snr = ipw.FloatSlider(
            value=snr_db,
            min=SNR_MIN,
            max=SNR_MAX,
            step=SNR_STEP,
            description="input SNR (dB)",
            continuous_update=False,
            style=style,
        )
        self.noise_type = ipw.Dropdown(options=kinds, value=kind, description="noise", style=style)
        self.blind = ipw.Checkbox(value=False, description="blind A/B test", indent=False)
        self.reveal_button = ipw.Button(description="reveal", icon="eye")
        self.reveal_label = ipw.HTML()
        self.metrics_label = ipw.HTML()
        self.players = ipw.HBox()
        self.image = ipw.Image(format="png", layout=ipw.Layout(max_width="100%"))
        self.clean = self.noisy = self.denoised = torch.zeros(1, 0)
        self.rivaled: torch.Tensor | None = None
        self.si_sdr_noisy = self.si_sdr_denoised = self.si_sdr_rival = float("nan")
        self.ab_order: tuple[str, str] = ("noisy", "denoised")  # what "A" and "B" are
        self.revealed = True
        self.figure: Figure | None = None
        self._trial = 0
        self.widget = ipw.VBox(
            [
                ipw.HBox([self.clip, self.noise_type]),
                ipw.HBox([self.snr, self.blind, self.reveal_button]),
                self.metrics_label,
                self.reveal_label,
                self.players,
                self.image,
            ]
        )
        for control in (self.clip, self.snr, self.noise_type, self.blind):
            control.observe(lambda _change: self.update(), names="value")
        self.reveal_button.on_click(lambda _button: self.reveal())
        self.update()

    def _denoise(self, noisy: torch.Tensor) -> torch.Tensor:
        from .enhance import denoise

        was_training = self.model.training
        self.model.eval()  # listening must use inference behaviour (dropout, norm statistics)
        try:
            return denoise(self.model, noisy, self.sr)
        finally:
            self.model.train(was_training)

    def update(self) -> None:
        """Corrupt the chosen clip, denoise it, and refresh metrics, players and figure."""
        from .noise import add_noise

        names = list(self.clips)
        name = self.clip.value
        index = names.index(name)
        self.clean = self.clips[name]
        others = [c for n, c in self.clips.items() if n != name]
        # Noise fixed per (seed, clip): the same clip at the same SNR always gets the same noise.
        gen = torch.Generator().manual_seed(self.seed * 1_000_003 + index)
        self.noisy = add_noise(
            self.clean,
            float(self.snr.value),
            kind=self.noise_type.value,
            generator=gen,
            babble_clips=others or None,
            sr=self.sr,
        )
        self.denoised = self._denoise(self.noisy)
        self.si_sdr_noisy = _si_sdr(self.noisy, self.clean)
        self.si_sdr_denoised = _si_sdr(self.denoised, self.clean)
        if self.rival is not None:
            self.rivaled = _as_clip(self.rival(self.noisy), self.rival_name)
            self.si_sdr_rival = _si_sdr(self.rivaled, self.clean)
        self._trial += 1
        pair = ("noisy", "denoised") if self.rival is None else ("denoised", self.rival_name)
        self.ab_order = pair
        if self.blind.value:
            flip = torch.Generator().manual_seed(self.seed * 1_000_003 + 7 * self._trial)
            if bool(torch.rand(1, generator=flip) < 0.5):
                self.ab_order = pair[::-1]
        self.revealed = not self.blind.value
        self._refresh_text()
        self._refresh_players()
        self._refresh_figure()

    def reveal(self) -> None:
        """Show which of A and B was the denoised clip, and the metrics."""
        self.revealed = True
        self._refresh_text()
        self._refresh_figure()

    def _refresh_text(self) -> None:
        gain = self.si_sdr_denoised - self.si_sdr_noisy
        if self.revealed:
            self.metrics_label.value = (
                f"SI-SDR noisy <b>{self.si_sdr_noisy:.2f} dB</b> &rarr; denoised "
                f"<b>{self.si_sdr_denoised:.2f} dB</b> ({gain:+.2f} dB)"
            )
            if self.rival is not None:
                self.metrics_label.value += f"; {self.rival_name} <b>{self.si_sdr_rival:.2f} dB</b>"
        else:
            self.metrics_label.value = "SI-SDR: hidden until you press <i>reveal</i>"
        blind = self.blind.value
        _show(self.reveal_button, blind)
        self.reveal_button.disabled = self.revealed
        if blind and self.revealed:
            a, b = self.ab_order
            self.reveal_label.value = f"A was the <b>{a}</b> clip, B the <b>{b}</b> one."
        elif blind and self.rival is not None:
            self.reveal_label.value = (
                f"A and B are both denoised, one by the model and one by {self.rival_name}. "
                "Which sounds better to you, and why (leftover noise, muffled or warbling "
                "speech)? Decide, then press <i>reveal</i>."
            )
        elif blind:
            self.reveal_label.value = "Listen to A and B: which one is denoised?"
        else:
            self.reveal_label.value = ""

    def _versions(self) -> dict[str, torch.Tensor]:
        audio = {"noisy": self.noisy, "denoised": self.denoised}
        if self.rivaled is not None:
            audio[self.rival_name] = self.rivaled
        return audio

    def _refresh_players(self) -> None:
        audio = self._versions()
        if self.blind.value:
            a, b = self.ab_order
            clips = {"A": audio[a], "B": audio[b], "clean (reference)": self.clean}
        else:
            clips = {**audio, "clean": self.clean}
        self.players.children = tuple(audio_player(w, self.sr, n) for n, w in clips.items())

    def _refresh_figure(self) -> None:
        audio = self._versions()
        scores = {
            "noisy": self.si_sdr_noisy,
            "denoised": self.si_sdr_denoised,
            self.rival_name: self.si_sdr_rival,
        }
        if self.blind.value and not self.revealed:  # titles must not give the answer away
            a, b = self.ab_order
            rows = [("A", audio[a]), ("B", audio[b]), ("clean (reference)", self.clean)]
        else:
            rows = [(f"{n} (SI-SDR {scores[n]:.1f} dB)", w) for n, w in audio.items()]
            rows.append(("clean", self.clean))
        fig = new_figure((9, 1.8 * len(rows)))
        axes = fig.subplots(len(rows), 1, sharex=True, sharey=True)
        for ax, (title, wav) in zip(axes, rows, strict=True):
            plot_spectrogram(wav, self.sr, ax=ax, title=title)
            if ax is not axes[-1]:
                ax.set_xlabel("")
        fig.colorbar(axes[0].collections[0], ax=list(axes), format="%+.0f dB", pad=0.01, shrink=0.6)
        self.figure = fig
        self.image.value = figure_png(fig)


# ---------------------------------------------------------------------------------------------
# Notebook 06: denoise your own recording
# ---------------------------------------------------------------------------------------------


def decode_audio_bytes(name: str, data: bytes) -> tuple[torch.Tensor, int]:
    """Return ``(wav (channels, time) float32, sr)`` decoded from a file's bytes.

    Raises AudioLoadError naming ``name`` for empty, undecodable or non-finite audio.
    """
    if not data:
        raise AudioLoadError(f"{name}: the file is empty")
    try:
        arr, sr = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)
    except Exception as exc:  # libsndfile raises several types; the message is what matters
        reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise AudioLoadError(
            f"{name}: not a readable audio file ({reason}); try WAV, FLAC or OGG"
        ) from None
    if arr.shape[0] == 0:
        raise AudioLoadError(f"{name}: contains no audio samples")
    if not np.isfinite(arr).all():
        raise AudioLoadError(f"{name}: contains NaN or infinite samples")
    return torch.from_numpy(np.ascontiguousarray(arr.T)), int(sr)


def download_link(data: bytes, filename: str, text: str | None = None) -> str:
    """Return an HTML ``<a download>`` link carrying ``data`` as a base64 WAV data URI."""
    payload = base64.b64encode(data).decode("ascii")
    name = html.escape(filename, quote=True)
    label = html.escape(text or f"download {filename}")
    return (
        f'<a download="{name}" href="data:audio/wav;base64,{payload}" target="_blank">{label}</a>'
    )


def _uploaded_files(value: Any) -> list[tuple[str, bytes]]:
    """Return ``[(name, bytes)]`` from a FileUpload value (ipywidgets 8 tuple or 7.x dict)."""
    if isinstance(value, Mapping):  # ipywidgets 7: {name: {"metadata": ..., "content": bytes}}
        return [(str(n), bytes(v["content"])) for n, v in value.items()]
    return [(str(f["name"]), bytes(f["content"])) for f in value]


def clear_upload(upload: Any) -> None:
    """Empty a FileUpload widget (its value is read-only in ipywidgets 7, a tuple in 8)."""
    if isinstance(upload.value, Mapping):  # ipywidgets 7: value is derived from data/metadata
        upload.set_trait("value", {})
        upload.metadata = []
        upload.data = []
    else:
        upload.value = ()


class DenoiseUploadPanel(_Panel):
    """Upload a recording, denoise it with ``model``, listen, look, and download the result.

    The output keeps the input's sample rate and length (mono, like the CLI). A file that cannot
    be decoded shows an error in ``.message`` instead of raising. :meth:`process_bytes` does the
    work, so it can also be called directly (tests, bytes read from disk, or Colab's
    ``google.colab.files.upload()``).

    ``upload_button=False`` hides the widget's own upload button: in Colab, where the ipywidgets
    upload drops large files, notebook 06 uploads with ``files.upload()`` instead. ``colab``
    (default: detected) replaces the HTML download link, which Colab's output frame does not
    reliably honour, by a button that saves the result and hands it to ``files.download``; it
    runs only when the learner presses it.
    """

    def __init__(
        self,
        model: nn.Module,
        max_seconds: float = 600.0,
        upload_button: bool = True,
        colab: bool | None = None,
        save_dir: str | PurePath | None = None,
    ):
        ipw = _ipw()
        self.model = model
        self.max_seconds = float(max_seconds)
        self.colab = in_colab() if colab is None else bool(colab)
        self.save_dir = save_dir
        self.upload = ipw.FileUpload(
            accept=".wav,.flac,.ogg,.mp3,audio/*", multiple=False, description="upload audio"
        )
        _show(self.upload, upload_button)
        self.message = ipw.HTML(
            "Upload a WAV, FLAC or OGG recording to denoise it."
            if upload_button
            else "No recording yet: upload one to denoise it."
        )
        self.players = ipw.HBox()
        self.image = ipw.Image(format="png", layout=ipw.Layout(max_width="100%"))
        self.download = ipw.HTML()
        self.save_button = ipw.Button(description="download the result", icon="download")
        self.save_button.on_click(lambda _button: self.save())
        _show(self.save_button, False)
        self.saved: PurePath | None = None
        self.name: str | None = None
        self.sr: int | None = None
        self.input: torch.Tensor | None = None  # mono (1, time) at the file's rate
        self.denoised: torch.Tensor | None = None
        self.output_bytes: bytes | None = None
        self.figure: Figure | None = None
        self.widget = ipw.VBox(
            [self.upload, self.message, self.players, self.download, self.save_button, self.image]
        )
        self.upload.observe(self._on_upload, names="value")

    @property
    def output_name(self) -> str | None:
        """Return the file name the result is offered under (``<input stem>_denoised.wav``)."""
        return f"{PurePath(self.name).stem or 'audio'}_denoised.wav" if self.name else None

    def _on_upload(self, change: dict[str, Any]) -> None:
        files = _uploaded_files(change["new"])
        if not files:
            return
        for name, data in files:
            self.process_bytes(name, data)
        # Clearing lets the same file be picked again and drops its bytes from the widget state.
        clear_upload(self.upload)

    def save(self) -> PurePath | None:
        """Write the result into ``save_dir`` (default: the working folder) and, in Colab, download it.

        Return the written path, or None when there is no result yet.
        """
        from pathlib import Path

        from .files import atomic_write

        if self.output_bytes is None or self.output_name is None:
            return None
        path = Path(self.save_dir or ".") / self.output_name
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(path) as tmp:
            Path(tmp).write_bytes(self.output_bytes)
        self.saved = path
        if self.colab:
            from google.colab import files  # type: ignore[import-not-found]

            files.download(str(path))
        return path

    def _clear(self) -> None:
        self.players.children = ()
        self.download.value = ""
        _show(self.save_button, False)
        self.saved = None
        self.image.value = b""
        self.input = self.denoised = self.output_bytes = self.figure = None
        _show(self.image, False)

    def _error(self, text: str) -> bool:
        self.message.value = f'<span style="color:#b00020"><b>error:</b> {html.escape(text)}</span>'
        return False

    def process_bytes(self, name: str, data: bytes) -> bool:
        """Decode, denoise and show one file's bytes; return False (message shown) on a bad file."""
        self._clear()
        self.name = name
        try:
            wav, sr = decode_audio_bytes(name, data)
        except AudioLoadError as exc:
            return self._error(str(exc))
        seconds = wav.shape[-1] / sr
        if seconds > self.max_seconds:
            return self._error(
                f"{name}: {seconds:.0f} s is longer than this panel's limit of {self.max_seconds:.0f} s; "
                "use the command line: audio-denoise denoise --checkpoint CKPT FILE -o OUT.wav"
            )
        mono = wav.mean(dim=0, keepdim=True) if wav.shape[0] > 1 else wav
        try:
            from .enhance import denoise

            was_training = self.model.training
            self.model.eval()
            try:
                denoised = denoise(self.model, mono, sr)
            finally:
                self.model.train(was_training)
        except AudioDenoiseError as exc:
            return self._error(str(exc))
        self.sr, self.input, self.denoised = sr, mono, denoised
        self.output_bytes, gain = encode_wav(denoised, sr)
        self.players.children = (
            audio_player(mono, sr, f"original: {name}"),
            audio_player(denoised, sr, "denoised"),
        )
        if self.colab:
            self.save_button.description = f"download {self.output_name}"
            _show(self.save_button, True)
        else:
            self.download.value = download_link(self.output_bytes, self.output_name)
        note = " (scaled down to avoid clipping)" if gain != 1.0 else ""
        channels = f", {wav.shape[0]} channels mixed to mono" if wav.shape[0] > 1 else ""
        self.message.value = (
            f"<b>{html.escape(name)}</b>: {seconds:.2f} s at {sr} Hz{channels}; denoised{note}."
        )
        fig = new_figure((9, 5.2))
        top, middle, bottom = fig.subplots(3, 1, sharex=True)
        plot_waveform(mono, sr, ax=top, title="waveforms", color=COLORS["noisy"], label="original")
        plot_waveform(denoised, sr, ax=top, color=COLORS["denoised"], label="denoised", alpha=0.85)
        top.legend(loc="upper right", fontsize=8)
        plot_spectrogram(mono, sr, ax=middle, title="original")
        plot_spectrogram(denoised, sr, ax=bottom, title="denoised")
        for ax in (top, middle):
            ax.set_xlabel("")
        fig.colorbar(
            middle.collections[0], ax=[middle, bottom], format="%+.0f dB", pad=0.01, shrink=0.8
        )
        self.figure = fig
        self.image.value = figure_png(fig)
        _show(self.image, True)
        return True
