"""A spoken-command data set synthesised with espeak-ng (no download).

Ten command words (`WORDS`) are spoken by many espeak-ng voices: English accents and other
languages' voices reading the English word, each combined with a voice variant (`+m3`,
`+f2`, `+klatt`, ...). Every clip gets its own random speed (`-s`), pitch (`-p`), gain, a small
time shift and light white noise, and is cut to exactly 1 s at 16 kHz mono.

The split is by voice: a voice (base + variant, e.g. `en-gb-scotland+f2`) is either a training
voice or a test voice, so the test set measures how well a model hears a voice it never heard.

Layout written under `out_dir`:

    manifest.csv                         path,label,voice,split (path relative to out_dir)
    train/<word>/<word>__<voice>__<k>.wav
    test/<word>/<word>__<voice>__<k>.wav

so `out_dir/train` and `out_dir/test` are class-per-folder trees as well.

Needs the Debian package `espeak-ng` (run `bench/setup.sh`).

Command line (from the repository root):

    .venv/bin/python -m bench.data.speech --out /tmp/speech
"""

import argparse
import io
import os
import shutil
import subprocess
import time
from multiprocessing.pool import ThreadPool

import numpy as np
import pandas as pd
import soundfile as sf
import soxr

WORDS = ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go")

SAMPLE_RATE = 16000
CLIP_SECONDS = 1.0

# espeak-ng's English accents.
ENGLISH_VOICES = (
    "en-us",
    "en-gb",
    "en-gb-scotland",
    "en-gb-x-gbclan",
    "en-gb-x-gbcwmd",
    "en-gb-x-rp",
    "en-029",
    "en-us-nyc",
)
# Other languages' voices reading the English word: they apply their own letter-to-sound
# rules, which gives foreign-accented (sometimes quite different) pronunciations. Only
# Latin-script languages, so that the word is read as a word and not spelled out.
OTHER_LANGUAGE_VOICES = (
    "de",
    "fr-fr",
    "es",
    "it",
    "nl",
    "sv",
    "pl",
    "pt-br",
    "ro",
    "hu",
    "fi",
    "sw",
)
# Variants change formants, pitch range and voicing (male m*, female f*, the Klatt
# synthesiser, a croaky and a whispered voice).
VARIANTS = (
    "m1", "m2", "m3", "m4", "m5", "m6", "m7",
    "f1", "f2", "f3", "f4", "f5",
    "klatt", "klatt3", "croak", "whisper",
)  # fmt: skip

# Ranges of the per-clip random draws. espeak-ng defaults: speed 175 words/min, pitch 50.
SPEED_RANGE = (120, 240)
PITCH_RANGE = (25, 75)
PEAK_RANGE = (0.3, 0.9)
NOISE_SNR_DB_RANGE = (20.0, 40.0)
MAX_SHIFT_SECONDS = 0.1


def _espeak():
    path = shutil.which("espeak-ng")
    if path is None:
        raise RuntimeError(
            "espeak-ng is not installed. Run `bench/setup.sh` (or `apt-get install espeak-ng`)."
        )
    return path


def _installed_voice_names(kind=None):
    """Language codes (kind=None) or variant file names (kind="variant") espeak-ng knows."""
    args = [_espeak(), "--voices" if kind is None else f"--voices={kind}"]
    lines = subprocess.run(args, check=True, capture_output=True, text=True).stdout.splitlines()
    names = set()
    for line in lines[1:]:
        fields = line.split()
        if len(fields) < 5:
            continue
        if kind == "variant":
            names.add(fields[4].split("/")[-1])  # file column, e.g. "!v/m3"
        else:
            names.add(fields[1])
    return names


def default_voices():
    """Every base voice combined with every variant, checked against the installed espeak-ng.

    Returns:
        Sorted list of voice names `"<base>+<variant>"` (320 with the defaults).
    """
    languages = _installed_voice_names()
    variants = _installed_voice_names("variant")
    bases = ENGLISH_VOICES + OTHER_LANGUAGE_VOICES
    missing = [b for b in bases if b not in languages] + [v for v in VARIANTS if v not in variants]
    if missing:
        raise RuntimeError(
            f"espeak-ng lacks these voices/variants: {missing}. Is the full `espeak-ng-data` "
            "package installed? (`bench/setup.sh`)"
        )
    return sorted(f"{b}+{v}" for b in bases for v in VARIANTS)


def split_voices(voices, test_fraction=0.2, seed=0):
    """Splits voice names into disjoint train and test lists, deterministically.

    Args:
        voices: voice names.
        test_fraction: share of the voices (not of the clips) held out for testing.
        seed: the split depends only on this seed and the set of voice names.

    Returns:
        `(train_voices, test_voices)`, both sorted.
    """
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(
            f"`test_fraction` must be strictly between 0 and 1. Received: test_fraction={test_fraction}"
        )
    voices = sorted(set(voices))
    if len(voices) < 2:
        raise ValueError(f"Need at least two voices to split. Received: voices={voices}")
    order = np.random.default_rng(seed).permutation(len(voices))
    num_test = min(max(1, round(test_fraction * len(voices))), len(voices) - 1)
    test = sorted(voices[i] for i in order[:num_test])
    train = sorted(voices[i] for i in order[num_test:])
    return train, test


def synthesize(word, voice, speed=175, pitch=50):
    """Speaks `word` with espeak-ng and returns a float32 waveform at `SAMPLE_RATE`.

    Leading and trailing silence is trimmed.
    """
    result = subprocess.run(
        [_espeak(), "-v", voice, "-s", str(int(speed)), "-p", str(int(pitch)), "--stdout", word],
        capture_output=True,
        check=False,
    )
    # espeak-ng exits 0 with an error on stderr for an unknown variant: treat any stderr as failure.
    if result.returncode != 0 or not result.stdout or result.stderr.strip():
        raise RuntimeError(
            f"espeak-ng failed for word={word!r} voice={voice!r}: "
            f"{result.stderr.decode(errors='replace').strip() or 'no audio'}"
        )
    wave, rate = sf.read(io.BytesIO(result.stdout), dtype="float32")
    if wave.ndim > 1:
        wave = wave.mean(axis=1)
    wave = soxr.resample(wave, rate, SAMPLE_RATE).astype(np.float32)
    loud = np.flatnonzero(np.abs(wave) > 0.02 * np.abs(wave).max())
    if loud.size == 0:
        raise RuntimeError(f"espeak-ng produced silence for word={word!r} voice={voice!r}")
    margin = int(0.01 * SAMPLE_RATE)
    return wave[max(0, loud[0] - margin) : loud[-1] + 1 + margin]


def fit_to_clip(wave, num_samples, shift=0):
    """Centres `wave` in `num_samples` samples (zero padding or centre crop), moved by `shift`.

    The shift is clipped so that no speech is cut when the word fits.
    """
    n = wave.shape[0]
    if n >= num_samples:
        start = (n - num_samples) // 2
        return wave[start : start + num_samples]
    slack = num_samples - n
    offset = int(np.clip(slack // 2 + shift, 0, slack))
    out = np.zeros(num_samples, dtype=wave.dtype)
    out[offset : offset + n] = wave
    return out


def make_clip(word, voice, rng, noise=True):
    """One 1 s clip of `word` by `voice` with random speed, pitch, gain, shift and noise.

    Args:
        word: the text to speak.
        voice: espeak-ng voice, e.g. `"en-gb+f2"`.
        rng: a `numpy.random.Generator`; the clip depends only on its state.
        noise: add white noise at a random SNR in `NOISE_SNR_DB_RANGE`.

    Returns:
        `(float32 waveform of SAMPLE_RATE * CLIP_SECONDS samples, dict of the drawn settings)`.
    """
    speed = int(rng.integers(SPEED_RANGE[0], SPEED_RANGE[1] + 1))
    pitch = int(rng.integers(PITCH_RANGE[0], PITCH_RANGE[1] + 1))
    peak = float(rng.uniform(*PEAK_RANGE))
    shift = int(rng.uniform(-MAX_SHIFT_SECONDS, MAX_SHIFT_SECONDS) * SAMPLE_RATE)
    snr_db = float(rng.uniform(*NOISE_SNR_DB_RANGE))
    wave = synthesize(word, voice, speed=speed, pitch=pitch)
    wave = wave * (peak / np.abs(wave).max())
    speech_rms = float(np.sqrt(np.mean(wave**2)))
    clip = fit_to_clip(wave, int(SAMPLE_RATE * CLIP_SECONDS), shift)
    if noise:
        noise_rms = speech_rms / (10.0 ** (snr_db / 20.0))
        clip = clip + rng.normal(0.0, noise_rms, clip.shape).astype(np.float32)
    clip = np.clip(clip, -1.0, 1.0).astype(np.float32)
    settings = {"speed": speed, "pitch": pitch, "peak": round(peak, 3), "snr_db": round(snr_db, 1)}
    if not noise:
        settings["snr_db"] = None
    return clip, settings


def _file_voice(voice):
    # "+" is legal in file names but awkward in shells and URLs.
    return voice.replace("+", "_")


def build_speech_commands(
    out_dir,
    clips_per_word_per_voice=1,
    seed=0,
    voices=None,
    words=WORDS,
    test_fraction=0.2,
    noise=True,
    file_format="wav",
    workers=None,
):
    """Synthesises the spoken-command set into `out_dir` and writes `manifest.csv`.

    Args:
        out_dir: output folder (created; existing clips with the same names are overwritten).
        clips_per_word_per_voice: clips of each word per voice, each with its own random
            speed, pitch, gain, shift and noise.
        seed: seed of the voice split and of every clip's random draws. Same seed, same data.
        voices: espeak-ng voice names (`"<base>+<variant>"`); default `default_voices()`.
        words: the words (the class labels).
        test_fraction: share of voices held out as test voices.
        noise: add light white noise (SNR drawn from `NOISE_SNR_DB_RANGE`).
        file_format: `"wav"` (16-bit PCM) or `"flac"` (16-bit, lossless, ~3x smaller).
        workers: parallel espeak-ng processes; default the number of CPU cores.

    Returns:
        The manifest as a pandas DataFrame with columns path,label,voice,split (+ the drawn
        speed, pitch, peak, snr_db), in the order of `manifest.csv`.
    """
    if int(clips_per_word_per_voice) < 1:
        raise ValueError(
            "`clips_per_word_per_voice` must be a positive integer. "
            f"Received: clips_per_word_per_voice={clips_per_word_per_voice}"
        )
    if file_format not in ("wav", "flac"):
        raise ValueError(f"`file_format` must be 'wav' or 'flac'. Received: file_format={file_format!r}")
    voices = default_voices() if voices is None else sorted(set(voices))
    train_voices, test_voices = split_voices(voices, test_fraction=test_fraction, seed=seed)
    split_of = {v: "train" for v in train_voices} | {v: "test" for v in test_voices}

    jobs = [
        (word, voice, k) for voice in voices for word in words for k in range(int(clips_per_word_per_voice))
    ]

    def run(index):
        word, voice, k = jobs[index]
        # One generator per clip, keyed by (seed, clip index): the result does not depend on
        # which thread runs which clip.
        rng = np.random.default_rng([seed, index])
        clip, settings = make_clip(word, voice, rng, noise=noise)
        rel = f"{split_of[voice]}/{word}/{word}__{_file_voice(voice)}__{k}.{file_format}"
        path = os.path.join(out_dir, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        sf.write(path, clip, SAMPLE_RATE, subtype="PCM_16", format=file_format.upper())
        return {"path": rel, "label": word, "voice": voice, "split": split_of[voice], **settings}

    os.makedirs(out_dir, exist_ok=True)
    with ThreadPool(workers or os.cpu_count() or 1) as pool:
        rows = pool.map(run, range(len(jobs)), chunksize=8)
    manifest = pd.DataFrame(rows)
    manifest.to_csv(os.path.join(out_dir, "manifest.csv"), index=False)
    return manifest


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--clips-per-word-per-voice", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--test-fraction", type=float, default=0.2)
    parser.add_argument("--format", choices=("wav", "flac"), default="wav")
    parser.add_argument("--no-noise", action="store_true", help="do not add white noise")
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args(argv)

    start = time.perf_counter()
    manifest = build_speech_commands(
        args.out,
        clips_per_word_per_voice=args.clips_per_word_per_voice,
        seed=args.seed,
        test_fraction=args.test_fraction,
        noise=not args.no_noise,
        file_format=args.format,
        workers=args.workers,
    )
    elapsed = time.perf_counter() - start
    counts = manifest.groupby("split").agg(clips=("path", "size"), voices=("voice", "nunique"))
    print(
        f"wrote {len(manifest)} clips to {args.out} in {elapsed:.1f} s "
        f"({len(manifest) / elapsed:.0f} clips/s, workers={args.workers or os.cpu_count()})"
    )
    print(counts.to_string())


if __name__ == "__main__":
    main()
