"""RAVDESS: filename metadata, the speaker-independent split, and loading a split's clips.

RAVDESS (Livingstone & Russo, 2018) names every clip ``MM-VV-EE-II-SS-RR-AA.wav``: modality, vocal
channel, emotion, intensity, statement, repetition and actor (odd actors are male, even female).
The audio-speech archive on Zenodo holds 1440 clips in ``Actor_01/`` .. ``Actor_24/`` folders.
Downloading and extracting it safely is engine code (:mod:`audio_denoise_utils.engine.download`;
:func:`download_ravdess`, :func:`safe_extract` and :func:`is_complete` are re-exported here).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import pandas as pd

from . import paths
from .engine.download import (  # re-exported: the CLI, notebooks and tests use these names
    MARKER_NAME,
    RAVDESS_MD5,
    RAVDESS_SIZE,
    RAVDESS_URL,
    UnreadLocationWarning,
    default_data_dir,
    describe_source,
    download_ravdess,
    is_complete,
    project_root,
    safe_extract,
    unread_location_note,
)
from .errors import AudioDenoiseError, AudioLoadError, MetadataError

PathLike = str | os.PathLike


#: Speaker-independent split of the 24 RAVDESS actors (each split holds both genders).
RAVDESS_VAL_ACTORS: tuple[int, ...] = (19, 20)
RAVDESS_TEST_ACTORS: tuple[int, ...] = (21, 22, 23, 24)


# ---------------------------------------------------------------------------------------------
# Filename metadata
# ---------------------------------------------------------------------------------------------

MODALITIES = {1: "full-AV", 2: "video-only", 3: "audio-only"}
VOCAL_CHANNELS = {1: "speech", 2: "song"}
EMOTIONS = {
    1: "neutral", 2: "calm", 3: "happy", 4: "sad",
    5: "angry", 6: "fearful", 7: "disgust", 8: "surprised",
}  # fmt: skip
INTENSITIES = {1: "normal", 2: "strong"}
STATEMENTS = {1: "Kids are talking by the door", 2: "Dogs are sitting by the door"}
REPETITIONS = (1, 2)
ACTORS = range(1, 25)

_FIELD_NAMES = (
    "modality", "vocal channel", "emotion", "intensity", "statement", "repetition", "actor",
)  # fmt: skip


@dataclass(frozen=True)
class RavdessMeta:
    """Metadata encoded in one RAVDESS file name."""

    modality: str  # "full-AV" | "video-only" | "audio-only"
    vocal_channel: str  # "speech" | "song"
    emotion: str  # "neutral" .. "surprised"
    intensity: str  # "normal" | "strong"
    statement: int  # 1 or 2
    text: str  # the sentence spoken
    repetition: int  # 1 or 2
    actor: int  # 1..24
    gender: str  # "male" (odd actor) | "female" (even actor)


META_COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(RavdessMeta))


def parse_filename(name_or_path: PathLike) -> RavdessMeta:
    """Return the :class:`RavdessMeta` of a RAVDESS file name, raising MetadataError if malformed."""
    label = str(name_or_path)  # the message names the file as the caller knows it
    name = Path(name_or_path).name
    stem = name.split(".", 1)[0] if "." in name else name
    parts = stem.split("-")
    if len(parts) != 7:
        raise MetadataError(
            f"{label}: expected 7 fields MM-VV-EE-II-SS-RR-AA separated by '-', found {len(parts)}"
        )
    codes = []
    for field, part in zip(_FIELD_NAMES, parts, strict=True):
        if not (len(part) == 2 and part.isascii() and part.isdigit()):
            raise MetadataError(f"{label}: {field} field {part!r} is not a two-digit number")
        codes.append(int(part))
    modality, channel, emotion, intensity, statement, repetition, actor = codes

    def check(field: str, code: int, allowed: Iterable[int]) -> None:
        valid = list(allowed)
        if code not in valid:
            raise MetadataError(
                f"{label}: {field} code {code:02d} is out of range ({min(valid):02d}..{max(valid):02d})"
            )

    check("modality", modality, MODALITIES)
    check("vocal channel", channel, VOCAL_CHANNELS)
    check("emotion", emotion, EMOTIONS)
    check("intensity", intensity, INTENSITIES)
    check("statement", statement, STATEMENTS)
    check("repetition", repetition, REPETITIONS)
    check("actor", actor, ACTORS)
    if emotion == 1 and intensity == 2:
        raise MetadataError(f"{label}: intensity 02 (strong) is not used with emotion 01 (neutral)")
    return RavdessMeta(
        modality=MODALITIES[modality],
        vocal_channel=VOCAL_CHANNELS[channel],
        emotion=EMOTIONS[emotion],
        intensity=INTENSITIES[intensity],
        statement=statement,
        text=STATEMENTS[statement],
        repetition=repetition,
        actor=actor,
        gender="male" if actor % 2 else "female",
    )


def _wav_files(root: Path) -> list[Path]:
    """All *.wav files below ``root``, skipping hidden folders (downloads, temp dirs)."""
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        found += [Path(dirpath, f) for f in filenames if f.lower().endswith(".wav")]
    return found


def list_clips(root: PathLike, with_duration: bool = False, strict: bool = True) -> pd.DataFrame:
    """Return one row per WAV file below ``root``: ``path`` + metadata columns, sorted by path.

    ``path`` holds strings (``root`` joined with the file's relative path). With
    ``with_duration=True`` a ``duration`` column (seconds) is added from the file headers. A
    malformed name raises MetadataError, or with ``strict=False`` is skipped with a warning.
    """
    root = Path(root)
    if not root.is_dir():
        raise AudioLoadError(
            f"{root}: no such directory (run `audio-denoise download` for RAVDESS)"
        )
    rows = []
    skipped = []
    for path in sorted(_wav_files(root)):
        try:
            meta = parse_filename(path)
        except MetadataError as exc:
            if strict:
                raise
            skipped.append(str(exc))
            continue
        row = {"path": str(path), **asdict(meta)}
        if with_duration:
            from .audio import audio_info  # lazy: keeps metadata work free of torch imports

            row["duration"] = audio_info(path).duration
        rows.append(row)
    if skipped:
        shown = "; ".join(skipped[:3]) + (" ..." if len(skipped) > 3 else "")
        warnings.warn(
            f"{root}: skipped {len(skipped)} file(s) with non-RAVDESS names: {shown}", stacklevel=2
        )
    columns = ["path", *META_COLUMNS] + (["duration"] if with_duration else [])
    table = pd.DataFrame(rows, columns=columns)
    for col in ("statement", "repetition", "actor"):
        table[col] = table[col].astype("int64")
    if with_duration:
        table["duration"] = table["duration"].astype("float64")
    return table


# ---------------------------------------------------------------------------------------------
# Speaker-independent split
# ---------------------------------------------------------------------------------------------


class SplitError(AudioDenoiseError, ValueError):
    """A table cannot be split by actor as asked (too few actors, overlap, empty split)."""


def _pick_balanced(actors: Sequence[int], k: int) -> list[int]:
    """The ``k`` highest-numbered actors, alternating genders while both are available."""
    male = sorted((a for a in actors if a % 2), reverse=True)
    female = sorted((a for a in actors if a % 2 == 0), reverse=True)
    picked: list[int] = []
    n_male = n_female = 0
    while len(picked) < k and (male or female):
        # Take from the gender picked less so far; on a tie, the higher actor number.
        if not male:
            take_male = False
        elif not female:
            take_male = True
        elif n_male != n_female:
            take_male = n_male < n_female
        else:
            take_male = male[0] > female[0]
        if take_male:
            picked.append(male.pop(0))
            n_male += 1
        else:
            picked.append(female.pop(0))
            n_female += 1
    return sorted(picked)


def split_by_actor(
    table: pd.DataFrame,
    val_actors: Sequence[int] | None = None,
    test_actors: Sequence[int] | None = None,
) -> dict[str, pd.DataFrame]:
    """Return ``{"train", "val", "test"}`` tables with no actor in two splits (speaker-independent).

    Defaults: when the table holds all 24 RAVDESS actors, test = actors 21-24 and val = 19-20
    (both genders in every split). For any other set of actors (the bundled sample, a filtered
    table) the choice is deterministic from the actors present: test takes the highest-numbered
    ``max(1, round(n / 6))`` actors, alternating male/female where possible, val the next
    ``max(1, round(n / 6))`` picked the same way, train the rest. An explicit ``val_actors`` or
    ``test_actors`` is used as given; a missing one is then picked by the rule above from the
    actors left. Raises SplitError for fewer than 3 actors, overlapping lists or an empty split.
    """
    if not isinstance(table, pd.DataFrame):
        raise SplitError(f"expected a table from list_clips(), got {type(table).__name__}")
    if "actor" not in table.columns:
        raise SplitError("table has no 'actor' column (build it with list_clips())")
    present = sorted(int(a) for a in table["actor"].unique())
    if len(present) < 3:
        raise SplitError(
            f"need clips from at least 3 actors for a train/val/test split, found {len(present)} "
            f"({present})"
        )
    if val_actors is None and test_actors is None and set(present) == set(ACTORS):
        val_actors, test_actors = RAVDESS_VAL_ACTORS, RAVDESS_TEST_ACTORS
    k = max(1, round(len(present) / 6))
    if test_actors is None:
        taken = set(val_actors or ())
        test_actors = _pick_balanced([a for a in present if a not in taken], k)
    if val_actors is None:
        val_actors = _pick_balanced([a for a in present if a not in set(test_actors)], k)
    val_set, test_set = {int(a) for a in val_actors}, {int(a) for a in test_actors}
    if val_set & test_set:
        raise SplitError(f"actors {sorted(val_set & test_set)} are in both val and test")
    train_set = set(present) - val_set - test_set
    splits = {
        "train": table[table["actor"].isin(train_set)].reset_index(drop=True),
        "val": table[table["actor"].isin(val_set)].reset_index(drop=True),
        "test": table[table["actor"].isin(test_set)].reset_index(drop=True),
    }
    for key, part in splits.items():
        if part.empty:
            raise SplitError(
                f"the {key} split is empty (actors present: {present}, val {sorted(val_set)}, "
                f"test {sorted(test_set)})"
            )
    groups = [set(part["actor"]) for part in splits.values()]
    assert not (groups[0] & groups[1] or groups[0] & groups[2] or groups[1] & groups[2])
    return splits


# ---------------------------------------------------------------------------------------------
# Where the data lives
# ---------------------------------------------------------------------------------------------


__all__ = [
    "MARKER_NAME",
    "ACTORS",
    "EMOTIONS",
    "INTENSITIES",
    "META_COLUMNS",
    "MODALITIES",
    "RAVDESS_MD5",
    "RAVDESS_SIZE",
    "RAVDESS_TEST_ACTORS",
    "RAVDESS_URL",
    "RAVDESS_VAL_ACTORS",
    "STATEMENTS",
    "VOCAL_CHANNELS",
    "RavdessMeta",
    "SplitError",
    "UnreadLocationWarning",
    "default_data_dir",
    "describe_source",
    "download_ravdess",
    "is_complete",
    "list_clips",
    "parse_filename",
    "project_root",
    "safe_extract",
    "split_by_actor",
    "unread_location_note",
]


def load_split(
    data_dir: PathLike | None = None,
    split: str = "train",
    limit: int | None = None,
    sr: int = 16_000,
) -> tuple[pd.DataFrame, list]:
    """Return ``(table, clips)`` of one actor split: metadata rows and (1, T) clips in that order.

    ``data_dir`` defaults to :func:`default_data_dir`; ``limit`` keeps that many evenly spaced
    clips (so every actor of the split stays represented). Clips are decoded through an
    :class:`~audio_denoise_utils.audio.AudioCache` at ``sr`` stored in :func:`paths.cache_dir`, so
    a second call, even from another notebook, does not decode again.
    """
    from .audio import AudioCache

    root = Path(data_dir) if data_dir is not None else default_data_dir()
    splits = split_by_actor(list_clips(root, strict=False))
    if split not in splits:
        raise SplitError(f"unknown split {split!r}; choose one of {sorted(splits)}")
    table = splits[split]
    if limit is not None and len(table) > limit:
        rows = sorted({round(i * (len(table) - 1) / max(limit - 1, 1)) for i in range(limit)})
        table = table.iloc[rows]
    cache = AudioCache(sr, cache_dir=paths.cache_dir())
    return table.reset_index(drop=True), cache.load_many(table["path"])
