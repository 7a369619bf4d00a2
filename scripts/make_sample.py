"""Generate data/sample/: a small synthetic stand-in for RAVDESS speech, named exactly like RAVDESS.

The course uses this sample whenever the real RAVDESS download (data/ravdess/) is absent. It is
synthetic speech, NOT RAVDESS: twelve "actors" are twelve text-to-speech voices, each with a
fixed pitch and vocal-tract-length (formant) setting, and the eight emotions are prosody changes
(rate, pitch mean, pitch range, level). See data/README.md for the tables this script encodes.

Debian packages it needs (plus this repository's .venv for numpy/soundfile):

    apt-get install -y sox flite espeak-ng festival \\
        festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts festvox-italp16k

Run it with ``make sample`` (= ``.venv/bin/python scripts/make_sample.py``). It is deterministic:
every choice is fixed in the tables below and the synthesizers have no randomness, so a rerun with
the same package versions rewrites the same bytes. It writes exactly the tracked files
data/sample/Actor_XX/03-01-EE-II-SS-RR-AA.wav (16 kHz, mono, 16-bit PCM) and removes any other
.wav file under data/sample/.
"""

from __future__ import annotations

import argparse
import math
import shutil
import subprocess
import sys
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without installing the package

from audio_denoise_utils.audio import save_audio  # noqa: E402
from audio_denoise_utils.ravdess import STATEMENTS  # noqa: E402

SR = 16_000
PAD_S = 0.15  # silence kept before and after the speech
TRIM_DB = 45.0  # frames quieter than (loudest frame - TRIM_DB) count as silence
CLIPS_PER_ACTOR = 10
MAX_TOTAL_BYTES = 7_500_000
APT_PACKAGES = "sox flite espeak-ng festival festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts festvox-italp16k"


@dataclass(frozen=True)
class Actor:
    """One synthetic speaker: a TTS voice plus a fixed pitch and formant setting."""

    number: int  # RAVDESS actor 01..24: odd = male, even = female
    engine: str  # "flite" | "festival" | "espeak-ng"
    voice: str  # engine-specific voice name
    f0: float  # target mean pitch in Hz for neutral speech
    f0_std: float  # target pitch standard deviation in Hz for neutral speech
    vtl: float  # formant scale via sox `speed` (>1 shorter vocal tract: higher formants)
    rate: float  # base speaking rate (1 = the voice's default)
    native_f0: float  # the voice's own mean pitch, used where the engine cannot set pitch
    description: str
    # Who recorded the voice's source data. One person reached through two engines (Kal in flite
    # and festival, SLT in flite and festival HTS) is one speaker; espeak-ng has no recording, its
    # formant variants are distinct synthetic voices.
    speaker: str


# Training and validation actors (01-10) reuse recorded speakers with other pitch and formant
# settings; the formant-synthesised espeak-ng voices (robotic) are a minority so the model hears
# mostly natural-sounding spectra. The test actors of the sample's split (11 and 12, see
# ravdess.split_by_actor) use speakers no other actor uses, so "speakers never heard" holds
# (tests/test_sample_data.py checks it from the `speaker` column). Debian (main) has no recorded
# English voice left for actor 12, so she is the Italian female diphone voice of festvox-italp16k
# reading the English sentences through ITALIAN_LEXICON (Italian-accented English).
ACTORS: tuple[Actor, ...] = (
    Actor(1, "flite", "kal16", 108, 18, 1.00, 1.00, 89, "US male diphone (Kal)", "Kal"),
    Actor(2, "flite", "slt", 192, 32, 1.00, 1.02, 173, "US female statistical (SLT)", "SLT"),
    Actor(3, "flite", "awb", 122, 20, 0.96, 0.97, 131, "Scottish male statistical (AWB)", "AWB"),
    Actor(
        4,
        "festival",
        "cmu_us_slt_arctic_hts",
        205,
        0,
        1.03,
        1.05,
        178,
        "US female HTS (SLT)",
        "SLT",
    ),
    Actor(5, "flite", "rms", 92, 0, 1.00, 1.00, 97, "US male statistical (RMS)", "RMS"),
    Actor(6, "flite", "awb", 212, 36, 1.18, 1.00, 131, "AWB, formants +18%: female", "AWB"),
    Actor(7, "festival", "ked_diphone", 112, 20, 0.95, 1.04, 100, "US male diphone (KED)", "KED"),
    Actor(
        8, "festival", "kal_diphone", 218, 34, 1.20, 0.98, 100, "Kal, formants +20%: female", "Kal"
    ),
    Actor(9, "flite", "slt", 118, 20, 0.84, 1.00, 173, "SLT, formants -16%: male", "SLT"),
    Actor(
        10,
        "espeak-ng",
        "en-us+f3",
        200,
        0,
        1.00,
        0.95,
        200,
        "espeak-ng en-us+f3 (formant)",
        "espeak-ng f3",
    ),
    Actor(
        11,
        "espeak-ng",
        "en-gb-x-rp+m3",
        104,
        0,
        1.00,
        1.00,
        104,
        "espeak-ng RP + m3",
        "espeak-ng m3",
    ),
    Actor(
        12, "festival", "lp_diphone", 210, 0, 1.00, 1.00, 208, "Italian female diphone (LP)", "LP"
    ),
)


@dataclass(frozen=True)
class Prosody:
    """How one emotion at normal intensity changes the neutral voice."""

    f0: float  # pitch-mean ratio
    range: float  # pitch-range (std) ratio
    rate: float  # speaking-rate ratio (>1 faster)
    level_db: float  # peak level in dBFS (before the per-clip variation)
    level_strong_db: float  # peak level at strong intensity
    end: str  # sentence-final punctuation, which shapes the synthesizers' contour


PROSODY: dict[int, Prosody] = {
    1: Prosody(1.00, 1.00, 1.00, -3.0, -3.0, "."),  # neutral
    2: Prosody(0.96, 0.75, 0.90, -5.0, -6.5, "."),  # calm
    3: Prosody(1.12, 1.35, 1.06, -2.0, -1.0, "!"),  # happy
    4: Prosody(0.90, 0.60, 0.83, -7.0, -9.0, "."),  # sad
    5: Prosody(1.08, 1.50, 1.10, -1.5, -1.0, "!"),  # angry
    6: Prosody(1.18, 1.20, 1.08, -4.0, -3.0, "."),  # fearful
    7: Prosody(0.93, 1.10, 0.90, -4.0, -4.5, "."),  # disgust
    8: Prosody(1.20, 1.60, 1.03, -2.0, -1.0, "?"),  # surprised
}
STRONG = 1.7  # strong intensity = the normal change raised to this power (a larger version)
LEVEL_JITTER_DB = 0.75  # per-clip level variation, from a hash of the file name

# Every (emotion, intensity) RAVDESS uses; neutral has no strong version.
COMBOS: tuple[tuple[int, int], ...] = ((1, 1),) + tuple((e, i) for e in range(2, 9) for i in (1, 2))


@dataclass(frozen=True)
class Clip:
    """One planned file and the prosody it is synthesised with."""

    actor: Actor
    emotion: int
    intensity: int
    statement: int
    repetition: int

    @property
    def name(self) -> str:
        """Return the RAVDESS file name 03-01-EE-II-SS-RR-AA.wav."""
        return (
            f"03-01-{self.emotion:02d}-{self.intensity:02d}-{self.statement:02d}-"
            f"{self.repetition:02d}-{self.actor.number:02d}.wav"
        )

    @property
    def relpath(self) -> str:
        """Return Actor_XX/<name>."""
        return f"Actor_{self.actor.number:02d}/{self.name}"


def plan() -> list[Clip]:
    """Return the fixed list of clips: CLIPS_PER_ACTOR consecutive emotion combos per actor."""
    clips = []
    for a, actor in enumerate(ACTORS):
        for k in range(CLIPS_PER_ACTOR):
            # Rotating offsets spread all 15 combos evenly over actors; alternating statements
            # give every actor both sentences.
            emotion, intensity = COMBOS[(a * CLIPS_PER_ACTOR + k) % len(COMBOS)]
            statement = 1 + (a + k) % 2
            repetition = 1 + ((a + k) // 2) % 2
            clips.append(Clip(actor, emotion, intensity, statement, repetition))
    return clips


def targets(clip: Clip) -> tuple[float, float, float, float]:
    """Return (f0 Hz, f0 std Hz, rate ratio, peak dBFS) for a clip."""
    p = PROSODY[clip.emotion]
    power = STRONG if clip.intensity == 2 else 1.0
    a = clip.actor
    # Repetition 02 is a second take: a little slower and lower, as a speaker would vary.
    take = (0.96, 0.97) if clip.repetition == 2 else (1.0, 1.0)
    f0 = a.f0 * p.f0**power * take[1]
    f0_std = a.f0_std * p.range**power
    rate = a.rate * p.rate**power * take[0]
    level = p.level_strong_db if clip.intensity == 2 else p.level_db
    jitter = (zlib.crc32(clip.name.encode()) % 1001 / 1000 - 0.5) * 2 * LEVEL_JITTER_DB
    return f0, f0_std, rate, min(level + jitter, -1.0)


# The Italian voice (lp_diphone) reads the two English sentences through these entries, written
# in its phone set (stress 1 = stressed syllable): English words through Italian letter-to-sound
# rules come out misread, and "by" is spelt letter by letter ("bi ipsilon"), so it is respelt
# "bai" before the tokenizer sees it. The result is Italian-accented English.
ITALIAN_LEXICON = " ".join(
    f'(lex.add.entry \'("{word}" nil {phones}))'
    for word, phones in (
        ("kids", "(((k i1 d s) 1))"),
        ("dogs", "(((d O1 g s) 1))"),
        ("are", "(((a r) 0))"),
        ("talking", "(((t O1) 1) ((k i n) 0))"),
        ("sitting", "(((s i1) 1) ((t i n) 0))"),
        ("bai", "(((b a1 i) 1))"),
        ("the", "(((d e) 0))"),
        ("door", "(((d O1 r) 1))"),
    )
)
FOREIGN_LEXICONS: dict[str, tuple[str, dict[str, str]]] = {
    "lp_diphone": (ITALIAN_LEXICON, {"by": "bai"}),
}


def _respell(text: str, respell: dict[str, str]) -> str:
    """Return ``text`` with whole words replaced by their respellings (case kept for the first)."""
    words = text.split(" ")
    for i, word in enumerate(words):
        core = word.rstrip(".!?")
        if core.lower() in respell:
            new = respell[core.lower()]
            new = new.capitalize() if core[:1].isupper() else new
            words[i] = new + word[len(core) :]
    return " ".join(words)


def _run(cmd: list[str], what: str) -> None:
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        raise RuntimeError(f"{what}: {' '.join(cmd[:3])}... failed: {res.stderr.strip()[-400:]}")


def synthesize(clip: Clip, tmp: Path) -> np.ndarray:
    """Return the clip as float32 mono at 16 kHz (untrimmed), synthesised into ``tmp``."""
    a = clip.actor
    f0, f0_std, rate, _ = targets(clip)
    p = PROSODY[clip.emotion]
    power = STRONG if clip.intensity == 2 else 1.0
    text = STATEMENTS[clip.statement] + p.end
    raw = tmp / "raw.wav"
    # `sox speed vtl` later scales pitch, formants and tempo by vtl; ask the engine for the
    # pitch and duration that come out right after it.
    syn_f0, syn_std, syn_rate = f0 / a.vtl, f0_std / a.vtl, rate / a.vtl
    pitch_fix = 0.0  # cents applied by sox where the engine cannot set the pitch itself
    if a.engine == "flite":
        cmd = ["flite", "-voice", a.voice, "--setf", f"duration_stretch={1 / syn_rate:.4f}"]
        if a.f0_std > 0:
            cmd += ["--setf", f"int_f0_target_mean={syn_f0:.2f}"]
            cmd += ["--setf", f"int_f0_target_stddev={syn_std:.2f}"]
        else:  # this voice (rms) ignores f0 targets
            pitch_fix = 1200 * math.log2(syn_f0 / a.native_f0)
        _run(cmd + ["-t", text, "-o", str(raw)], clip.name)
    elif a.engine == "festival":
        (tmp / "text.txt").write_text(text + "\n")
        if a.voice.endswith("_hts"):
            # HTS: speed through the engine's -r; its pitch model ignores intonation targets.
            setup = f'(set! hts_engine_params (append hts_engine_params (list \'("-r" {syn_rate:.4f}))))'
            pitch_fix = 1200 * math.log2(syn_f0 / a.native_f0)
        elif a.voice in FOREIGN_LEXICONS:
            # A non-English voice: its own intonation model (pitch set by sox), English words
            # spoken through phone strings in its language, speed through Duration_Stretch.
            lexicon, respell = FOREIGN_LEXICONS[a.voice]
            (tmp / "text.txt").write_text(_respell(text, respell) + "\n")
            setup = f"{lexicon} (Parameter.set 'Duration_Stretch {1 / syn_rate:.4f})"
            pitch_fix = 1200 * math.log2(syn_f0 / a.native_f0)
        else:
            setup = (
                f"(Parameter.set 'Duration_Stretch {1 / syn_rate:.4f}) "
                f"(set! int_lr_params '((target_f0_mean {syn_f0:.2f}) (target_f0_std {syn_std:.2f})"
                " (model_f0_mean 170) (model_f0_std 34)))"
            )
        cmd = ["text2wave", "-eval", f"(begin (voice_{a.voice}) {setup})"]
        _run(cmd + [str(tmp / "text.txt"), "-o", str(raw)], clip.name)
    elif a.engine == "espeak-ng":
        # espeak-ng: base pitch via -p, emotion via SSML relative pitch, range and rate.
        rel_f0 = 100 * (syn_f0 / a.native_f0 - 1)
        rel_range = 100 * p.range**power
        ssml = (
            f'<speak><prosody pitch="{rel_f0:+.0f}%" range="{rel_range:.0f}%" '
            f'rate="{100 * syn_rate:.0f}%">{text}</prosody></speak>'
        )
        _run(["espeak-ng", "-m", "-v", a.voice, "-p", "50", "-w", str(raw), ssml], clip.name)
    else:
        raise ValueError(f"unknown engine {a.engine!r} for actor {a.number}")

    out = tmp / "post.wav"
    effects = []
    if a.vtl != 1.0:
        effects += ["speed", f"{a.vtl:.4f}"]
    if abs(pitch_fix) > 1:
        effects += ["pitch", f"{pitch_fix:.1f}"]
    # Float output: no dither, so the 16-bit rounding below is the only (deterministic) step.
    _run(
        ["sox", str(raw), "-e", "floating-point", "-b", "32", "-c", "1", str(out)]
        + effects
        + ["rate", "-v", str(SR)],
        clip.name,
    )
    wav, sr = sf.read(str(out), dtype="float32")
    if sr != SR:
        raise RuntimeError(f"{clip.name}: sox wrote {sr} Hz, expected {SR}")
    return wav


def trim_and_level(wav: np.ndarray, peak_dbfs: float) -> np.ndarray:
    """Return ``wav`` with silence trimmed to PAD_S each side and its peak at ``peak_dbfs``."""
    hop = SR // 100
    n = len(wav) // hop
    rms = np.sqrt(np.mean(wav[: n * hop].reshape(n, hop) ** 2, axis=1) + 1e-12)
    db = 20 * np.log10(rms)
    voiced = np.flatnonzero(db > db.max() - TRIM_DB)
    pad = int(PAD_S * SR)
    start = voiced[0] * hop - pad
    end = (voiced[-1] + 1) * hop + pad
    # Zero-pad where the synthesizer left less than PAD_S of silence at an edge.
    seg = np.concatenate(
        [
            np.zeros(max(0, -start), np.float32),
            wav[max(0, start) : min(len(wav), end)],
            np.zeros(max(0, end - len(wav)), np.float32),
        ]
    )
    return (seg / np.abs(seg).max() * 10 ** (peak_dbfs / 20)).astype(np.float32)


def check_tools() -> None:
    """Exit with the apt-get line if a synthesizer is missing."""
    missing = [t for t in ("sox", "flite", "espeak-ng", "text2wave") if shutil.which(t) is None]
    # A festival voice that is not installed fails only at synthesis, deep inside text2wave.
    voices = Path("/usr/share/festival/voices")
    missing += [
        f"festival voice {a.voice}"
        for a in ACTORS
        if a.engine == "festival" and not any(voices.glob(f"*/{a.voice}"))
    ]
    if missing:
        sys.exit(f"error: missing {', '.join(missing)}; install: apt-get install -y {APT_PACKAGES}")


def main(argv: list[str] | None = None) -> int:
    """Write the sample and return 0; print a one-line summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "data" / "sample")
    args = parser.parse_args(argv)
    check_tools()
    clips = plan()
    out: Path = args.out
    wanted = {out / c.relpath for c in clips}
    for stale in sorted(out.glob("**/*.wav")):
        if stale not in wanted:
            stale.unlink()
    total_bytes, total_s = 0, 0.0
    with tempfile.TemporaryDirectory(prefix="make_sample_") as t:
        for clip in clips:
            wav = trim_and_level(synthesize(clip, Path(t)), targets(clip)[3])
            path = save_audio(out / clip.relpath, wav[None, :], SR)
            total_bytes += path.stat().st_size
            total_s += len(wav) / SR
    for d in sorted(out.glob("Actor_*")):
        if d.is_dir() and not any(d.iterdir()):
            d.rmdir()
    print(
        f"wrote {len(clips)} clips, {len(ACTORS)} actors, {total_s:.1f} s, "
        f"{total_bytes / 1e6:.2f} MB to {out}"
    )
    if total_bytes > MAX_TOTAL_BYTES:
        print(f"error: sample is {total_bytes} bytes > {MAX_TOTAL_BYTES}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
