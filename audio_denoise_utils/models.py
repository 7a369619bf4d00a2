"""Denoising models. Every model maps (batch, 1, time) -> (batch, 1, time) for any length.

Each model stores its JSON-able hyper-parameters in ``.config`` (including ``sample_rate``), so a
checkpoint can rebuild it with :func:`build_model`.

The models, from the original study's to the course's best:

- ``dense``: the original study's fully connected autoencoder, applied frame by frame (:class:`DenseAutoencoder`).
- ``conv``: a 1-D convolutional autoencoder on the waveform, no skips (:class:`ConvAutoencoder`).
- ``unet``: a small Demucs-like waveform U-Net with skip connections (:class:`WaveUNet`).
- ``mask``: a spectrogram mask estimator, dilated convolutions over STFT frames (:class:`MaskNet`).

Level normalisation: real recordings arrive at arbitrary gain (a phone at arm's length, a studio
microphone, a file someone normalised), while a network only learns the levels it was shown. So
every model divides its input by a per-clip level (RMS by default) inside ``forward`` and multiplies
the output back: the network always sees unit-level audio and ``model(g * x) == g * model(x)``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .errors import InvalidArgumentError

MODELS: dict[str, type[nn.Module]] = {}
DEFAULT_MODEL = "mask"  # chosen by measurement: benchmarks/quality.py, README "Results"

LEVEL_MODES = ("rms", "peak", "none")
_LEVEL_EPS = 1e-5  # about -100 dBFS: anything quieter is treated as silence


def register_model(name: str) -> Callable[[type[nn.Module]], type[nn.Module]]:
    """Return a class decorator that adds the model class to :data:`MODELS` under ``name``."""

    def wrap(cls: type[nn.Module]) -> type[nn.Module]:
        MODELS[name] = cls
        cls.model_name = name
        return cls

    return wrap


def build_model(name: str, **config: Any) -> nn.Module:
    """Return a new model of the registered ``name`` built from ``config``."""
    if name not in MODELS:
        raise InvalidArgumentError(f"unknown model {name!r}; choose one of {sorted(MODELS)}")
    try:
        return MODELS[name](**config)
    except (TypeError, RuntimeError) as exc:  # an unknown keyword, a negative size...
        raise InvalidArgumentError(f"cannot build model {name!r} ({exc}) from {config}") from None


def count_parameters(model: nn.Module, trainable_only: bool = True) -> int:
    """Return the number of (trainable) parameters of ``model``."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def parameter_memory_bytes(model_or_count: nn.Module | int, training: bool = True) -> int:
    """Return the bytes that the parameters need: weights, plus gradient and Adam state if training.

    float32 weights take 4 bytes each; training with Adam adds a gradient and two moment buffers
    (exp_avg, exp_avg_sq) of the same size, so 16 bytes per parameter. Activations come on top.
    """
    count = (
        model_or_count
        if isinstance(model_or_count, int)
        else count_parameters(model_or_count, trainable_only=False)
    )
    copies = 4 if training else 1
    return int(count) * 4 * copies  # float32: 4 bytes per value


def describe(model: nn.Module) -> str:
    """Return one line naming the model, its class, parameter count and sample rate."""
    if not isinstance(model, nn.Module):
        raise InvalidArgumentError(f"describe: expected a torch model, got {type(model).__name__}")
    name = getattr(model, "model_name", type(model).__name__)
    n = count_parameters(model, trainable_only=False)
    sr = getattr(model, "config", {}).get("sample_rate")
    rate = f", {sr} Hz" if sr else ""
    return f"{name} ({type(model).__name__}): {n:,} parameters{rate}"


def _pad_to_multiple(x: torch.Tensor, multiple: int, minimum: int = 0) -> torch.Tensor:
    """Return ``x`` zero-padded at the end so its length is >= minimum and a multiple of ``multiple``."""
    length = max(x.shape[-1], minimum)
    target = -(-length // multiple) * multiple
    return F.pad(x, (0, target - x.shape[-1])) if target > x.shape[-1] else x


class Denoiser(nn.Module):
    """Base class: checks the (batch, 1, time) contract and normalises the level around the network.

    Subclasses implement ``_denoise(x)`` on level-normalised audio of any length and set ``config``.
    """

    model_name: str = ""

    def __init__(self, sample_rate: int = 16000, level: str = "rms") -> None:
        super().__init__()
        if level not in LEVEL_MODES:
            raise InvalidArgumentError(f"level must be one of {LEVEL_MODES}, got {level!r}")
        if int(sample_rate) <= 0:
            raise InvalidArgumentError(f"sample_rate must be positive, got {sample_rate}")
        self.sample_rate = int(sample_rate)
        self.level = level
        self.config: dict[str, Any] = {}

    def _scale(self, x: torch.Tensor) -> torch.Tensor:
        """Return the per-clip level (batch, 1, 1) that the input is divided by."""
        if self.level == "none":
            return torch.ones(x.shape[0], 1, 1, dtype=x.dtype, device=x.device)
        if self.level == "peak":
            return (x.abs().amax(dim=(1, 2), keepdim=True).pow(2) + _LEVEL_EPS**2).sqrt()
        # sqrt(level^2 + eps^2), not level + eps: eps then only matters near silence (and the RMS
        # keeps a finite gradient there).
        return (x.pow(2).mean(dim=(1, 2), keepdim=True) + _LEVEL_EPS**2).sqrt()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return the denoised audio (batch, 1, time) for noisy audio (batch, 1, time)."""
        if x.dim() != 3 or x.shape[1] != 1:
            raise InvalidArgumentError(
                f"{type(self).__name__} expects audio shaped (batch, 1, time), got {tuple(x.shape)}"
            )
        if not x.is_floating_point():
            raise InvalidArgumentError(f"{type(self).__name__} expects float audio, got {x.dtype}")
        if x.shape[-1] == 0:
            return x.clone()
        scale = self._scale(x)
        y = self._denoise(x / scale)
        return y[..., : x.shape[-1]] * scale

    def _denoise(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError


# ----------------------------------------------------------------------------------------------
# The original study's model: a dense autoencoder
# ----------------------------------------------------------------------------------------------

_OUTPUTS = ("sigmoid", "tanh", "linear")


@register_model("dense")
class DenseAutoencoder(Denoiser):
    """The original study's fully connected autoencoder, applied to consecutive frames of ``frame_length``.

    Linear(F->H)-ReLU-Dropout-Linear(H->B)-ReLU-Linear(B->H)-ReLU-Dropout-Linear(H->F)-output.
    The original study ran it on whole 48 kHz clips (F = 70000, see :meth:`original_config`); here longer input
    is cut into frames (the last one zero-padded), each frame is denoised alone, and the frames are
    joined again. ``output="sigmoid"`` is the original study's choice and cannot produce the negative half of
    a waveform; ``"tanh"`` fixes that. The level is normalised by the peak (not the RMS) because
    sigmoid/tanh outputs are bounded to [0, 1] / [-1, 1], the range of peak-normalised audio; RMS
    normalised speech peaks at 10-30 and a tanh would clip it.
    """

    def __init__(
        self,
        frame_length: int = 16000,
        hidden: int = 4096,
        bottleneck: int = 512,
        dropout: float = 0.2,
        output: str = "sigmoid",
        sample_rate: int = 16000,
        level: str = "peak",
    ) -> None:
        super().__init__(sample_rate, level)
        if output not in _OUTPUTS:
            raise InvalidArgumentError(f"output must be one of {_OUTPUTS}, got {output!r}")
        if min(frame_length, hidden, bottleneck) < 1:
            raise InvalidArgumentError("frame_length, hidden and bottleneck must be positive")
        self.frame_length = int(frame_length)
        self.config = {
            "frame_length": int(frame_length),
            "hidden": int(hidden),
            "bottleneck": int(bottleneck),
            "dropout": float(dropout),
            "output": output,
            "sample_rate": self.sample_rate,
            "level": level,
        }
        self.net = nn.Sequential(
            nn.Linear(frame_length, hidden),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(hidden, bottleneck),
            nn.ReLU(),
            nn.Linear(bottleneck, hidden),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(hidden, frame_length),
        )
        self.out = {"sigmoid": nn.Sigmoid(), "tanh": nn.Tanh(), "linear": nn.Identity()}[output]

    @classmethod
    def original_config(
        cls, sample_rate: int = 48000, clip_seconds: float = 70000 / 48000
    ) -> dict[str, Any]:
        """Return the original study's exact configuration: one frame per whole clip, sigmoid, no level norm."""
        return {
            "frame_length": round(sample_rate * clip_seconds),
            "hidden": 4096,
            "bottleneck": 512,
            "dropout": 0.2,
            "output": "sigmoid",
            "sample_rate": int(sample_rate),
            "level": "none",
        }

    @staticmethod
    def expected_parameters(frame_length: int, hidden: int = 4096, bottleneck: int = 512) -> int:
        """Return the parameter count of the four Linear layers (weights + biases) by formula."""
        f, h, b = frame_length, hidden, bottleneck
        return (f * h + h) + (h * b + b) + (b * h + h) + (h * f + f)

    def _denoise(self, x: torch.Tensor) -> torch.Tensor:
        batch = x.shape[0]
        frames = _pad_to_multiple(x, self.frame_length).reshape(-1, self.frame_length)
        y = self.out(self.net(frames))
        return y.reshape(batch, 1, -1)


# ----------------------------------------------------------------------------------------------
# Waveform convolutional models
# ----------------------------------------------------------------------------------------------


def _check_kernel_stride(kernel_size: int, stride: int) -> int:
    """Return the padding that makes each strided layer map length L to exactly L / stride."""
    if stride < 1 or kernel_size < stride or (kernel_size - stride) % 2:
        raise InvalidArgumentError(
            f"need kernel_size >= stride >= 1 with an even difference, got {kernel_size}, {stride}"
        )
    return (kernel_size - stride) // 2


@register_model("conv")
class ConvAutoencoder(Denoiser):
    """A 1-D convolutional autoencoder on the waveform: strided convs down, transposed convs up.

    No skip connections: everything must pass through the bottleneck (T / stride^depth frames of
    ``channels[-1]`` values), which is what makes it an autoencoder and limits its detail. The
    output is linear by default because RMS-normalised audio exceeds [-1, 1].
    """

    def __init__(
        self,
        channels: Sequence[int] = (32, 64, 128, 256),
        kernel_size: int = 8,
        stride: int = 4,
        output: str = "linear",
        sample_rate: int = 16000,
        level: str = "rms",
    ) -> None:
        super().__init__(sample_rate, level)
        if output not in ("tanh", "linear"):
            raise InvalidArgumentError(f"output must be 'tanh' or 'linear', got {output!r}")
        channels = [int(c) for c in channels]
        if not channels:
            raise InvalidArgumentError("channels must name at least one layer")
        pad = _check_kernel_stride(kernel_size, stride)
        self.multiple = stride ** len(channels)
        self.config = {
            "channels": channels,
            "kernel_size": int(kernel_size),
            "stride": int(stride),
            "output": output,
            "sample_rate": self.sample_rate,
            "level": level,
        }
        widths = [1, *channels]
        enc: list[nn.Module] = []
        for cin, cout in zip(widths[:-1], widths[1:], strict=True):
            enc += [nn.Conv1d(cin, cout, kernel_size, stride, pad), nn.ReLU()]
        dec: list[nn.Module] = []
        for cin, cout in zip(widths[:0:-1], widths[-2::-1], strict=True):
            dec += [nn.ConvTranspose1d(cin, cout, kernel_size, stride, pad), nn.ReLU()]
        dec[-1] = nn.Tanh() if output == "tanh" else nn.Identity()
        self.encoder = nn.Sequential(*enc)
        self.decoder = nn.Sequential(*dec)

    def _denoise(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encoder(_pad_to_multiple(x, self.multiple)))


@register_model("unet")
class WaveUNet(Denoiser):
    """A small Demucs-like waveform U-Net: strided conv + GLU encoder, transposed conv decoder.

    Each encoder layer is Conv1d(K, S)-ReLU-Conv1d(1x1)-GLU; each decoder layer adds the skip
    from its encoder twin, then Conv1d(1x1)-GLU-ConvTranspose1d(K, S)-ReLU (no ReLU on the last).
    An optional bidirectional LSTM at the bottleneck (``lstm_layers``) gives whole-clip context at
    a low frame rate (sample_rate / stride^depth). Output is linear, like Demucs.
    """

    def __init__(
        self,
        channels: Sequence[int] = (32, 64, 128, 256),
        kernel_size: int = 8,
        stride: int = 4,
        lstm_layers: int = 1,
        sample_rate: int = 16000,
        level: str = "rms",
    ) -> None:
        super().__init__(sample_rate, level)
        channels = [int(c) for c in channels]
        if not channels:
            raise InvalidArgumentError("channels must name at least one layer")
        pad = _check_kernel_stride(kernel_size, stride)
        self.multiple = stride ** len(channels)
        self.config = {
            "channels": channels,
            "kernel_size": int(kernel_size),
            "stride": int(stride),
            "lstm_layers": int(lstm_layers),
            "sample_rate": self.sample_rate,
            "level": level,
        }
        widths = [1, *channels]
        self.encoder = nn.ModuleList()
        self.decoder = nn.ModuleList()
        for i, (cin, ch) in enumerate(zip(widths[:-1], widths[1:], strict=True)):
            self.encoder.append(
                nn.Sequential(
                    nn.Conv1d(cin, ch, kernel_size, stride, pad),
                    nn.ReLU(),
                    nn.Conv1d(ch, 2 * ch, 1),
                    nn.GLU(dim=1),
                )
            )
            up: list[nn.Module] = [
                nn.Conv1d(ch, 2 * ch, 1),
                nn.GLU(dim=1),
                nn.ConvTranspose1d(ch, cin, kernel_size, stride, pad),
            ]
            if i > 0:
                up.append(nn.ReLU())
            self.decoder.insert(0, nn.Sequential(*up))
        top = channels[-1]
        self.lstm = (
            nn.LSTM(top, top // 2, lstm_layers, batch_first=True, bidirectional=True)
            if lstm_layers > 0
            else None
        )
        if self.lstm is not None and top % 2:
            raise InvalidArgumentError(f"the LSTM needs an even top channel count, got {top}")

    def _denoise(self, x: torch.Tensor) -> torch.Tensor:
        x = _pad_to_multiple(x, self.multiple)
        skips = []
        for layer in self.encoder:
            x = layer(x)
            skips.append(x)
        if self.lstm is not None:
            # Residual around the LSTM so that it starts as a no-op and only adds context.
            x = x + self.lstm(x.transpose(1, 2))[0].transpose(1, 2)
        for layer in self.decoder:
            x = layer(x + skips.pop())
        return x


# ----------------------------------------------------------------------------------------------
# Spectrogram mask model
# ----------------------------------------------------------------------------------------------


class _FrameLayerNorm(nn.Module):
    """LayerNorm over channels at each frame of (batch, channels, frames).

    Per-frame statistics (not per-clip like GroupNorm(1, C)) keep the output of a frame
    independent of how long the clip is, so chunked processing of long files matches whole-file.
    """

    def __init__(self, channels: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(1, channels, 1))
        self.bias = nn.Parameter(torch.zeros(1, channels, 1))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean = x.mean(dim=1, keepdim=True)
        var = (x - mean).pow(2).mean(dim=1, keepdim=True)
        return (x - mean) * torch.rsqrt(var + self.eps) * self.weight + self.bias


class _ResidualBlock(nn.Module):
    """Pre-norm residual block: norm-PReLU-dilated conv-norm-PReLU-1x1 conv, added to the input."""

    def __init__(self, channels: int, kernel_size: int, dilation: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            _FrameLayerNorm(channels),
            nn.PReLU(channels),
            nn.Conv1d(
                channels,
                channels,
                kernel_size,
                dilation=dilation,
                padding=dilation * (kernel_size // 2),
            ),
            _FrameLayerNorm(channels),
            nn.PReLU(channels),
            nn.Conv1d(channels, channels, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


@register_model("mask")
class MaskNet(Denoiser):
    """A spectrogram mask estimator: STFT -> compressed magnitude -> dilated TCN -> mask -> iSTFT.

    Frequency bins are the channels of a stack of non-causal dilated residual 1-D conv blocks over
    STFT frames (dilations 1, 2, 4, ..., so ``blocks=6`` sees about 1 s at 16 kHz, hop 128). The
    network predicts a mask in [0, ``mask_bound``] per time-frequency bin, applied to the complex
    noisy STFT (so the noisy phase is kept), and the inverse STFT returns the input's length.
    """

    def __init__(
        self,
        n_fft: int = 512,
        hop_length: int = 128,
        channels: int = 128,
        blocks: int = 6,
        kernel_size: int = 3,
        compress: float = 0.3,
        mask_bound: float = 1.0,
        sample_rate: int = 16000,
        level: str = "rms",
    ) -> None:
        super().__init__(sample_rate, level)
        if kernel_size % 2 == 0:
            raise InvalidArgumentError(
                f"kernel_size must be odd to keep frames aligned, got {kernel_size}"
            )
        if not 0 < hop_length <= n_fft // 2:
            raise InvalidArgumentError(
                f"need 0 < hop_length <= n_fft / 2, got {hop_length}, {n_fft}"
            )
        self.n_fft, self.hop_length = int(n_fft), int(hop_length)
        self.compress, self.mask_bound = float(compress), float(mask_bound)
        self.config = {
            "n_fft": self.n_fft,
            "hop_length": self.hop_length,
            "channels": int(channels),
            "blocks": int(blocks),
            "kernel_size": int(kernel_size),
            "compress": self.compress,
            "mask_bound": self.mask_bound,
            "sample_rate": self.sample_rate,
            "level": level,
        }
        bins = n_fft // 2 + 1
        self.register_buffer("window", torch.hann_window(n_fft), persistent=False)
        self.inp = nn.Conv1d(bins, channels, 1)
        self.blocks = nn.Sequential(
            *[_ResidualBlock(channels, kernel_size, 2**i) for i in range(blocks)]
        )
        self.out = nn.Sequential(
            _FrameLayerNorm(channels), nn.PReLU(channels), nn.Conv1d(channels, bins, 1)
        )

    def _denoise(self, x: torch.Tensor) -> torch.Tensor:
        batch, _, length = x.shape
        # torch.stft(center=True) reflect-pads by n_fft/2, which needs at least that many samples.
        x = _pad_to_multiple(x, self.hop_length, minimum=self.n_fft)
        # FFTs stay in float32 under autocast: half-precision STFTs lose the quiet bins.
        with torch.autocast(device_type=x.device.type, enabled=False):
            spec = torch.stft(
                x.reshape(batch, -1).float(),
                self.n_fft,
                self.hop_length,
                window=self.window,
                center=True,
                return_complex=True,
            )  # (batch, bins, frames)
            # |X|^c via the power of |X|^2 + tiny: finite gradient even for silent bins.
            power = spec.real.pow(2) + spec.imag.pow(2)
            features = (power + 1e-12).pow(self.compress / 2)
        mask = torch.sigmoid(self.out(self.blocks(self.inp(features)))) * self.mask_bound
        with torch.autocast(device_type=x.device.type, enabled=False):
            wav = torch.istft(
                spec * mask.float(),
                self.n_fft,
                self.hop_length,
                window=self.window,
                center=True,
                length=x.shape[-1],
            )
        return wav.reshape(batch, 1, -1)[..., :length]


#: The model ladder of notebook 04, one change per rung: (rung, what changed, model, kwargs).
_DENSE = dict(frame_length=1024, hidden=512, bottleneck=64, dropout=0.2, level="peak")
_CONV = dict(channels=(32, 64, 128, 256), kernel_size=8, stride=4, level="peak")
LADDER: tuple[tuple[str, str, str, dict[str, Any]], ...] = (
    ("dense + sigmoid", "the original study's model", "dense", {**_DENSE, "output": "sigmoid"}),
    ("dense + linear", "output layer: sigmoid -> none", "dense", {**_DENSE, "output": "linear"}),
    ("conv autoencoder", "dense layers -> 1-D convolutions", "conv", {**_CONV, "output": "linear"}),
    (
        "U-Net",
        "+ skip connections (GLU-gated layers, no LSTM)",
        "unet",
        {**_CONV, "lstm_layers": 0},
    ),
    ("mask network", "waveform -> mask on the noisy STFT", "mask", {"level": "peak"}),
)


def trace_shapes(model: nn.Module, length: int = 16000):  # -> pandas.DataFrame
    """Return a table of each block's output shape for a (1, 1, length) input, via forward hooks.

    The blocks are the children of the model's top-level parts (or the parts themselves when
    they have no children): enough detail to follow the shapes without drowning in layers.
    """
    import pandas as pd

    rows: list[tuple[str, str, tuple[int, ...]]] = [("input", "", (1, 1, length))]

    def record(name: str):
        def hook(module: nn.Module, inputs: tuple, output: Any) -> None:
            out = output[0] if isinstance(output, tuple) else output
            rows.append((name, type(module).__name__, tuple(out.shape)))

        return hook

    parts = [
        (f"{top}.{sub}" if sub else top, module)
        for top, part in model.named_children()
        for sub, module in (list(part.named_children()) or [("", part)])
    ]
    hooks = [module.register_forward_hook(record(name)) for name, module in parts]
    try:
        with torch.no_grad():
            rows.append(("output", "", tuple(model(torch.zeros(1, 1, length)).shape)))
    finally:
        for h in hooks:
            h.remove()
    return pd.DataFrame(rows, columns=["block", "type", "output shape"])
