"""A small set of real instrument and sound-effect clips: nine sample families of Sonic Pi.

Debian's `sonic-pi-samples` installs 165 samples (`/usr/share/sonic-pi/samples/*.flac`) whose
name starts with a family: `ambi_choir`, `bass_hard_c`, `loop_amen`... The family is the label.
Nine families (`FAMILIES`), chosen to have at least four source files and about 20 clips each:

- ambi (ambient pads, drones, swooshes), bass (bass notes), elec (electronic blips and hits),
  guit (guitar), loop (rhythmic loops), perc (bells, impacts, snaps), tabla (tabla strokes):
  the package's families as they are;
- drum: `drum_*` with `bd_*` (bass drums) and `sn_*` (snares), all single drum hits; `bd`
  (13 files but 6 s of sound) and `sn` (4 files) are too small alone;
- glitch: `glitch_*` with `mehackit_*`, both short robot, phone and glitch effects
  (`glitch_robot1` and `mehackit_robot1` are the same kind of sound).

Left out: `misc` (3 unrelated files: a burp, a cinematic boom, a crow) and `vinyl` (4 files,
8 of its 13 seconds one hiss). The families overlap in places (an `elec_snare` is a snare,
`loop_tabla` is tabla), as the package names them; the labels are not cleaned.

Each sample is mixed to mono at 16 kHz (librosa), its leading and trailing silence trimmed
(60 dB under the peak), and cut into consecutive one-second clips; a last piece of at least
half a second is kept, zero-padded, and so is a sample shorter than a second (one clip, padded).
Clips whose RMS is under `MIN_RMS_DB` dBFS are skipped (near-silent tails); a sample gives at
most `MAX_CLIPS_PER_SOURCE` clips, evenly spread over it, so long loops and drones do not
dominate. About 330 clips.

The split is by source file: within a family the files are ordered by a seeded hash of their
name and the first quarter (at least one) is the test set, so every family has test clips and
no test clip comes from a file heard in training.

Layout written under `out_dir`:

    manifest.csv                         path,label,source,start_s,rms_db,split (path relative to out_dir)
    train/<family>/<source>__<k>.wav
    test/<family>/<source>__<k>.wav

Needs the Debian package `sonic-pi-samples` (run `bench/setup.sh`).

Command line (from the repository root):

    .venv/bin/python -m bench.data.sonic_pi --out /tmp/sonic_pi
"""

import argparse
import hashlib
import os
import time

import librosa
import numpy as np
import pandas as pd
import soundfile as sf

SONIC_PI_DIR = "/usr/share/sonic-pi/samples"
SAMPLE_RATE = 16000
CLIP_SECONDS = 1.0
MIN_RMS_DB = -45.0
MAX_CLIPS_PER_SOURCE = 8
TEST_FRACTION = 0.25
SEED = 0

# Family -> the name prefixes (before the first "_") that belong to it.
FAMILIES = {
    "ambi": ("ambi",),
    "bass": ("bass",),
    "drum": ("drum", "bd", "sn"),
    "elec": ("elec",),
    "glitch": ("glitch", "mehackit"),
    "guit": ("guit",),
    "loop": ("loop",),
    "perc": ("perc",),
    "tabla": ("tabla",),
}
FAMILY_NAMES = tuple(FAMILIES)


def family_of(name):
    """The family (one of `FAMILY_NAMES`) of a sample name, or None when it is left out.

    Example:
    >>> family_of("bd_808"), family_of("mehackit_phone1"), family_of("vinyl_hiss")
    ('drum', 'glitch', None)
    """
    prefix = name.split("_", 1)[0]
    return next((family for family, prefixes in FAMILIES.items() if prefix in prefixes), None)


def sonic_pi_sources(directory=SONIC_PI_DIR):
    """`[(family, name, path)]` for every sample of the kept families, sorted by name."""
    if not os.path.isdir(directory):
        raise RuntimeError(
            f"No samples in {directory}. Run `bench/setup.sh` (or `apt-get install sonic-pi-samples`)."
        )
    rows = []
    for file in sorted(os.listdir(directory)):
        name, ext = os.path.splitext(file)
        family = family_of(name)
        if ext == ".flac" and family is not None:
            rows.append((family, name, os.path.join(directory, file)))
    return rows


def cut_clips(path, num_samples=int(SAMPLE_RATE * CLIP_SECONDS)):
    """`[(start_s, clip, rms_db)]`: the kept one-second clips of the sample at `path` (float32 mono)."""
    wave, _ = librosa.load(path, sr=SAMPLE_RATE, mono=True)
    wave, _ = librosa.effects.trim(wave, top_db=60)
    clips = []
    for start in range(0, max(len(wave), 1), num_samples):
        piece = wave[start : start + num_samples]
        if start > 0 and len(piece) < num_samples // 2:
            break
        rms_db = 20 * np.log10(max(float(np.sqrt(np.mean(piece**2))) if len(piece) else 0.0, 1e-10))
        if rms_db >= MIN_RMS_DB:
            clip = np.pad(piece, (0, num_samples - len(piece))).astype(np.float32)
            clips.append((start / SAMPLE_RATE, clip, rms_db))
    if len(clips) > MAX_CLIPS_PER_SOURCE:
        keep = np.linspace(0, len(clips) - 1, MAX_CLIPS_PER_SOURCE).round().astype(int)
        clips = [clips[i] for i in keep]
    return clips


def split_sources(sources, seed=SEED, test_fraction=TEST_FRACTION):
    """`{name: "train" | "test"}`: per family, the first `test_fraction` of the names (at least one)
    in the order of a seeded hash go to the test set."""
    split = {}
    families = sorted({family for family, _, _ in sources})
    for family in families:
        names = sorted(
            (name for f, name, _ in sources if f == family),
            key=lambda n: hashlib.sha1(f"{seed}:{n}".encode()).hexdigest(),
        )
        k = max(1, int(round(test_fraction * len(names))))
        split.update({n: "test" if i < k else "train" for i, n in enumerate(names)})
    return split


def build_sonic_pi(out_dir, seed=SEED, verbose=1):
    """Writes the Sonic Pi set under `out_dir` (layout in the module docstring).

    Args:
        out_dir: folder to create (files already there are overwritten).
        seed: seed of the hash that splits the source files.
        verbose: 1 prints one summary line.

    Returns:
        The manifest as a DataFrame (`path` relative to `out_dir`).
    """
    start = time.perf_counter()
    sources = sonic_pi_sources()
    split = split_sources(sources, seed)
    rows = []
    for family, name, path in sources:
        os.makedirs(os.path.join(out_dir, split[name], family), exist_ok=True)
        for k, (start_s, clip, rms_db) in enumerate(cut_clips(path)):
            rel = os.path.join(split[name], family, f"{name}__{k}.wav")
            sf.write(os.path.join(out_dir, rel), clip, SAMPLE_RATE, subtype="PCM_16")
            rows.append(
                {
                    "path": rel,
                    "label": family,
                    "source": name,
                    "start_s": start_s,
                    "rms_db": round(rms_db, 1),
                    "split": split[name],
                }
            )
    manifest = pd.DataFrame(rows)
    missing = [f for f in FAMILY_NAMES if not ((manifest.label == f) & (manifest.split == "test")).any()]
    if missing:
        raise ValueError(f"The test files of seed {seed} give no clips of {missing}; choose another seed.")
    manifest.to_csv(os.path.join(out_dir, "manifest.csv"), index=False)
    if verbose:
        counts = manifest.groupby("split").size().to_dict()
        print(
            f"sonic-pi: {len(manifest)} clips ({counts}) from {manifest.source.nunique()} files, "
            f"{len(FAMILY_NAMES)} families, in {time.perf_counter() - start:.1f} s -> {out_dir}"
        )
    return manifest


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--seed", type=int, default=SEED, help="seed of the split by source file")
    args = parser.parse_args(argv)
    manifest = build_sonic_pi(args.out, seed=args.seed)
    clips = pd.crosstab(manifest.label, manifest.split, margins=True)
    files = pd.crosstab(manifest.label, manifest.split, values=manifest.source, aggfunc="nunique")
    print(clips.join(files.add_suffix(" files")))


if __name__ == "__main__":
    main()
