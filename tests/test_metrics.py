"""Tests for metrics.py: hand-computed SNR / SI-SDR, PESQ and STOI behaviour, evaluate() and its table."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch
from signals import speech_like, with_white_noise  # tests/ helpers

from audio_denoise_utils import AudioDenoiseError
from audio_denoise_utils import metrics as M
from audio_denoise_utils.audio import resample

SR = 16_000


@pytest.fixture(scope="module")
def clip() -> torch.Tensor:
    return speech_like(0)


# --- SNR and SI-SDR against numbers computed by hand ---------------------------------------------


def test_si_sdr_matches_hand_computed_projection():
    rng = np.random.default_rng(1)
    x = np.sin(2 * np.pi * 220 * np.arange(8000) / SR) + 0.3 * np.sin(
        2 * np.pi * 530 * np.arange(8000) / SR
    )
    x -= x.mean()  # the standard SI-SDR is zero-mean (Le Roux et al. 2019): centre by hand
    e = rng.standard_normal(8000)
    e -= e.mean()
    e -= (e @ x) / (x @ x) * x  # orthogonal to x: the projection of a*x + e on x is exactly a*x
    a = 0.7
    e *= math.sqrt((a * a * (x @ x)) / (e @ e) / 10 ** (7.0 / 10))  # make the ratio exactly 7 dB
    est = a * x + e
    expected = 10 * math.log10((a * a * (x @ x)) / (e @ e))
    got = M.si_sdr(
        torch.tensor(est, dtype=torch.float32)[None], torch.tensor(x, dtype=torch.float32)[None]
    )
    assert got.shape == (1,)
    assert expected == pytest.approx(7.0, abs=1e-9)
    assert float(got[0]) == pytest.approx(expected, abs=1e-3)

    # A general (non-orthogonal) error: project by hand.
    est2 = 1.3 * x + 0.5 * rng.standard_normal(8000) + 0.2  # the offset must not count
    est2c = est2 - est2.mean()
    alpha = (est2c @ x) / (x @ x)
    hand = 10 * math.log10(
        ((alpha * x) @ (alpha * x)) / ((est2c - alpha * x) @ (est2c - alpha * x))
    )
    got2 = M.si_sdr(
        torch.tensor(est2, dtype=torch.float32)[None], torch.tensor(x, dtype=torch.float32)[None]
    )
    assert float(got2[0]) == pytest.approx(hand, abs=1e-3)


def test_snr_matches_hand_computed_value(clip):
    x = clip.double().numpy()[0]
    e = np.random.default_rng(2).standard_normal(x.shape) * 0.05
    hand = 10 * math.log10((x @ x) / (e @ e))
    got = M.snr(torch.tensor(x + e, dtype=torch.float32)[None], clip)
    assert float(got[0]) == pytest.approx(hand, abs=1e-3)


def test_scaled_copy_is_perfect_for_si_sdr_but_not_for_snr(clip):
    half = 0.5 * clip
    assert float(M.si_sdr(half, clip)[0]) > 100.0  # only float rounding is left as "distortion"
    # SNR sees the missing half as error: 10 log10(|x|^2 / |0.5 x|^2) = 6.02 dB
    assert float(M.snr(half, clip)[0]) == pytest.approx(10 * math.log10(4), abs=1e-3)


def test_batch_gives_one_value_per_clip_in_order(clip):
    clean = torch.stack([clip, clip, speech_like(1)])  # (3, 1, T)
    noisy = torch.stack(
        [
            with_white_noise(c, s, seed=i)
            for i, (c, s) in enumerate(zip(clean, (0, 10, 5), strict=True))
        ]
    )
    batch = M.si_sdr(noisy, clean)
    assert batch.shape == (3,)
    singles = torch.cat([M.si_sdr(noisy[i], clean[i]) for i in range(3)])
    torch.testing.assert_close(batch, singles)
    assert batch[0] < batch[2] < batch[1]  # 0 dB < 5 dB < 10 dB of white noise


def test_mismatched_lengths_raise_a_clear_value_error(clip):
    for fn in (M.snr, M.si_sdr, M.pesq, M.stoi):
        with pytest.raises(ValueError, match="same shape") as info:
            fn(clip[..., :-10], clip)
        assert isinstance(info.value, AudioDenoiseError)


# --- PESQ and STOI --------------------------------------------------------------------------------


def test_pesq_is_high_for_clean_and_drops_with_noise(clip):
    clean_score = float(M.pesq(clip, clip)[0])
    mild = float(M.pesq(with_white_noise(clip, 30, seed=3), clip)[0])
    harsh = float(M.pesq(with_white_noise(clip, 0, seed=3), clip)[0])
    assert clean_score > 4.4
    assert clean_score > mild > harsh
    assert harsh < 2.0


def test_stoi_is_one_for_clean_and_drops_with_noise(clip):
    scores = [float(M.stoi(clip, clip)[0])]
    scores += [float(M.stoi(with_white_noise(clip, snr, seed=4), clip)[0]) for snr in (10, 0, -10)]
    assert scores[0] > 0.99
    assert scores == sorted(scores, reverse=True)
    assert scores[-1] < scores[0] - 0.2


def test_pesq_resamples_48k_input_with_a_warning():
    clean48 = speech_like(2, seconds=1.2, sr=48_000)
    noisy48 = with_white_noise(clean48, 5, seed=5)
    with pytest.warns(UserWarning, match="resampling 48000 Hz"):
        perfect = M.pesq(clean48, clean48, sr=48_000)
    with pytest.warns(UserWarning, match="resampling"):
        noisy_score = M.pesq(noisy48, clean48, sr=48_000)
    assert float(perfect[0]) > 4.4
    assert float(noisy_score[0]) < float(perfect[0]) - 1.0
    # The same number as resampling to 16 kHz by hand first.
    by_hand = M.pesq(resample(noisy48, 48_000, SR), resample(clean48, 48_000, SR), sr=SR)
    assert float(noisy_score[0]) == pytest.approx(float(by_hand[0]), abs=1e-6)


def test_pesq_gives_nan_for_unscorable_clips_instead_of_failing(clip):
    silent = torch.zeros_like(clip)
    clean = torch.stack([clip, silent])
    with pytest.warns(UserWarning, match="clip 1 is silent"):
        scores = M.pesq(clean, clean)
    assert scores.shape == (2,)
    assert float(scores[0]) > 4.4
    assert math.isnan(float(scores[1]))
    with pytest.warns(UserWarning, match="could not be scored"):
        short = M.pesq(clip[..., 4000:5000], clip[..., 4000:5000])  # 62 ms: too short
    assert math.isnan(float(short[0]))


def test_stoi_gives_nan_for_clips_too_short_to_score(clip):
    """pystoi returns 1e-5 below 30 frames of speech (about 0.4 s) and fails on a few hundred
    samples: neither may enter a mean as if it were a score."""
    noisy = clip + 0.05 * torch.randn(clip.shape, generator=torch.Generator().manual_seed(0))
    whole = M.stoi(noisy, clip)
    assert 0.5 < float(whole[0]) < 1.0
    for start, stop in [(4000, 8000), (4000, 4100)]:  # 0.25 s, then 100 samples
        with pytest.warns(UserWarning, match="stoi: clip 0 could not be scored"):
            short = M.stoi(noisy[..., start:stop], clip[..., start:stop])
        assert math.isnan(float(short[0]))
    # In a batch only the unscorable row is NaN: a clip of the same length that is silent but for
    # 0.2 s of speech (pystoi drops the silent frames) next to the whole clip.
    sparse = torch.zeros_like(clip)
    sparse[..., 4000:7200] = clip[..., 4000:7200]
    target = torch.stack([clip, sparse])
    estimate = target + 0.05 * torch.randn(target.shape, generator=torch.Generator().manual_seed(1))
    with pytest.warns(UserWarning, match="stoi: clip 1 could not be scored"):
        pair = M.stoi(estimate, target)
    assert 0.5 < float(pair[0]) < 1.0 and math.isnan(float(pair[1]))


# --- evaluate() and format_table() ----------------------------------------------------------------


@pytest.fixture(scope="module")
def clips() -> list[torch.Tensor]:
    return [speech_like(seed) for seed in range(3)]


@pytest.fixture(scope="module")
def table(clips):
    torch.set_num_threads(2)
    methods = {"identity": lambda noisy, clean: noisy}
    return M.evaluate(methods, clips, snrs=(0, 10), noise="white", seed=0, progress=False)


def test_evaluate_table_shape_and_columns(table):
    expected = ["method", "input_snr"]
    expected += ["si_sdr", "si_sdr_i", "snr", "snr_i", "pesq", "pesq_i", "stoi", "stoi_i"]
    expected += ["n_clips", "rtf"]
    assert list(table.columns) == expected
    assert len(table) == 4  # (noisy, identity) x (0, 10) dB
    assert list(table["method"]) == ["noisy", "noisy", "identity", "identity"]
    assert list(table["input_snr"]) == [0, 10, 0, 10]
    assert (table["n_clips"] == 3).all()


def test_evaluate_noisy_row_has_the_asked_snr_and_identity_improves_nothing(table):
    noisy = table[table["method"] == "noisy"].set_index("input_snr")
    ident = table[table["method"] == "identity"].set_index("input_snr")
    for snr_db in (0, 10):
        assert noisy.loc[snr_db, "snr"] == pytest.approx(snr_db, abs=0.1)
    for col in ("si_sdr_i", "snr_i", "pesq_i", "stoi_i"):
        assert (noisy[col] == 0).all() and (ident[col] == 0).all()
    for col in ("si_sdr", "pesq", "stoi"):
        assert ident.loc[0, col] == noisy.loc[0, col]
        assert noisy.loc[10, col] > noisy.loc[0, col]  # less noise, better scores
    assert (noisy["rtf"] == 0).all() and (ident["rtf"] >= 0).all()


def test_evaluate_noise_is_fixed_by_seed_and_oracle_gets_clean(clips):
    seen = []

    def oracle(noisy, clean):
        seen.append((tuple(noisy.shape), tuple(clean.shape)))
        return clean

    def halve(noisy, clean):
        return 0.5 * noisy

    kw = dict(snrs=(5,), metrics=("si_sdr", "snr"), progress=False)
    a = M.evaluate({"oracle": oracle, "halve": halve}, clips[:2], seed=1, **kw)
    b = M.evaluate({"oracle": oracle, "halve": halve}, clips[:2], seed=1, **kw)
    c = M.evaluate({"oracle": oracle, "halve": halve}, clips[:2], seed=2, **kw)
    assert a.equals(b.assign(rtf=a["rtf"]))  # same seed, same noise, same numbers
    assert a.loc[0, "si_sdr"] != c.loc[0, "si_sdr"]  # another seed, other noise
    whole = (1, 1, clips[0].shape[-1])  # whole clips, one at a time
    assert set(seen) == {(whole, whole)}
    row = a.set_index("method")
    assert row.loc["oracle", "si_sdr"] > 100
    assert row.loc["halve", "si_sdr_i"] == pytest.approx(0, abs=1e-3)  # a gain change only
    assert row.loc["halve", "snr_i"] < 0


def test_evaluate_accepts_a_noise_function_and_per_clip_rows(clips):
    calls = []

    def my_noise(clean, snr_db, generator):
        calls.append(snr_db)
        return with_white_noise(
            clean, snr_db, seed=int(torch.randint(0, 1000, (1,), generator=generator))
        )

    df = M.evaluate(
        {"id": lambda n, c: n},
        clips[:2],
        snrs=(3,),
        noise=my_noise,
        metrics=("snr",),
        progress=False,
        per_clip=True,
    )
    assert calls == [3.0, 3.0]
    assert len(df) == 4 and set(df["clip"]) == {0, 1}
    assert df["snr"].to_numpy() == pytest.approx(3.0, abs=1e-3)


def test_evaluate_rejects_bad_methods_and_names(clips):
    with pytest.raises(AudioDenoiseError, match="'short'.*length"):
        M.evaluate(
            {"short": lambda n, c: n[..., :-5]},
            clips[:1],
            snrs=(0,),
            metrics=("snr",),
            progress=False,
        )
    with pytest.raises(AudioDenoiseError, match="reserved"):
        M.evaluate({"noisy": lambda n, c: n}, clips[:1], snrs=(0,), progress=False)
    with pytest.raises(AudioDenoiseError, match="unknown metric"):
        M.evaluate({"id": lambda n, c: n}, clips[:1], snrs=(0,), metrics=("mos",), progress=False)


def test_format_table_is_a_compact_markdown_table(table):
    text = M.format_table(table)
    lines = text.splitlines()
    assert lines[0] == "| method | SNR in (dB) | SI-SDR | SI-SDRi | PESQ | STOI |"
    assert len(lines) == 2 + len(table)
    assert all(
        line.startswith("|") and line.endswith("|") and line.count("|") == 7 for line in lines
    )
    first = lines[2].strip("| ").split(" | ")
    assert first[0] == "noisy" and first[1] == "0"
    assert float(first[2]) == pytest.approx(table.loc[0, "si_sdr"], abs=0.006)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a table without PESQ/STOI columns formats too
        short = M.format_table(table[["method", "input_snr", "si_sdr"]])
    assert short.splitlines()[0] == "| method | SNR in (dB) | SI-SDR |"
