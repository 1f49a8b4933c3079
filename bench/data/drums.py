"""A small set of real non-speech sounds: nine kinds of drum hits from Debian's drum kits.

The recorded (and a few synthesised) one-shot samples of the 14 drum kits in Debian's
`hydrogen-drumkits` package and the drum samples of `sonic-pi-samples`, sorted into nine
kinds by the instrument names the kits give them (`KINDS`): kick, snare, closed hi-hat,
open hi-hat, tom, crash, ride, clap, cowbell. About 530 clips, 15-90 a kind; most kits record
an instrument at several strengths (velocity layers), so the clips of one instrument are
alike. The kits the names do not sort (stick, conga, djembe, effects...) are left out.

The split is by kit: a kit is either a training kit or a test kit, so the test set measures
how well a model hears a drum kit it never heard (`TEST_KITS`, chosen so that every kind has
test clips).

Every clip is mixed to mono, resampled to 16 kHz and cut or zero-padded to 1 s from its
onset (drum samples start with the hit).

Layout written under `out_dir`:

    manifest.csv                         path,label,kit,instrument,split (path relative to out_dir)
    train/<kind>/<kit>__<instrument>__<k>.wav
    test/<kind>/<kit>__<instrument>__<k>.wav

Needs the Debian packages `hydrogen-drumkits` and `sonic-pi-samples` (run `bench/setup.sh`).

Command line (from the repository root):

    .venv/bin/python -m bench.data.drums --out /tmp/drums
"""

import argparse
import os
import re
import time
import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd
import soundfile as sf
import soxr

HYDROGEN_DIR = "/usr/share/hydrogen/data/drumkits"
SONIC_PI_DIR = "/usr/share/sonic-pi/samples"
SAMPLE_RATE = 16000
CLIP_SECONDS = 1.0

# The first pattern that matches an instrument's name (lower case) gives its kind. Hi-hats are
# told apart before the other kinds, since "open"/"closed"/"pedal" alone say nothing.
KINDS = (
    ("open_hihat", r"(hat|\bhh\b).*\b(open|op|opened|semi-open|semiopen)\b|\b(open|op) (hh|hat)|\bohh\b"),
    (
        "closed_hihat",
        r"(hat|\bhh\b).*\b(closed|cl|pedal|pd|choke)\b|\b(closed|pedal) (hh|hat)|cymbal_(closed|pedal)",
    ),
    ("kick", r"kick|bass ?drum|\bbd\b|^bd_|drum_bass"),
    ("snare", r"snare|^sn_"),
    ("tom", r"\btom|_tom_"),
    ("crash", r"crash|splash|china|cymbal_hard|cymbal_soft"),
    ("ride", r"ride"),
    ("clap", r"clap"),
    ("cowbell", r"cowbell"),
)
KIND_NAMES = tuple(name for name, _ in KINDS)

# Held-out kits: about a fifth of the clips, every kind represented.
TEST_KITS = ("Millo_MultiLayered2", "The Black Pearl 1.0", "HardElectro1")


def kind_of(instrument):
    """The kind (one of `KIND_NAMES`) of an instrument name, or None.

    Example:
    >>> kind_of("Hi-Hat Open (Paiste Alpha Metal edge 14\\")"), kind_of("Tom Mid"), kind_of("Stick")
    ('open_hihat', 'tom', None)
    """
    name = instrument.lower()
    # "Crash/Ride" is a crash cymbal played as a ride: neither kind alone, left out.
    if "crash" in name and "ride" in name:
        return None
    for kind, pattern in KINDS:
        if re.search(pattern, name):
            return kind
    return None


def _namespace(tag):
    match = re.match(r"\{.*\}", tag)
    return match.group(0) if match else ""


def hydrogen_samples(directory=HYDROGEN_DIR):
    """`[(kit, instrument, path)]` for every layer file of every instrument of every kit."""
    if not os.path.isdir(directory):
        raise RuntimeError(
            f"No drum kits in {directory}. Run `bench/setup.sh` (or `apt-get install hydrogen-drumkits`)."
        )
    rows = []
    for kit in sorted(os.listdir(directory)):
        xml_path = os.path.join(directory, kit, "drumkit.xml")
        if not os.path.exists(xml_path):
            continue
        root = ET.parse(xml_path).getroot()
        ns = _namespace(root.tag)
        for instrument in root.iter(ns + "instrument"):
            name = (instrument.findtext(ns + "name") or "").strip()
            for element in instrument.iter(ns + "filename"):
                path = os.path.join(directory, kit, (element.text or "").strip())
                # Debian's package drops some kits' non-free files but keeps their entries.
                if element.text and os.path.isfile(path):
                    rows.append((kit, name, path))
    return rows


def sonic_pi_samples(directory=SONIC_PI_DIR):
    """`[("sonic-pi", name, path)]` for the drum samples of sonic-pi (one kit)."""
    if not os.path.isdir(directory):
        raise RuntimeError(
            f"No samples in {directory}. Run `bench/setup.sh` (or `apt-get install sonic-pi-samples`)."
        )
    names = sorted(f for f in os.listdir(directory) if re.match(r"(bd|sn|drum)_.*\.flac$", f))
    return [("sonic-pi", os.path.splitext(f)[0], os.path.join(directory, f)) for f in names]


def load_clip(path, num_samples=int(SAMPLE_RATE * CLIP_SECONDS)):
    """The sample at `path` as float32 mono at `SAMPLE_RATE`, cut or zero-padded to `num_samples`."""
    wave, rate = sf.read(path, dtype="float32", always_2d=True)
    wave = wave.mean(axis=1)
    if rate != SAMPLE_RATE:
        wave = soxr.resample(wave, rate, SAMPLE_RATE).astype(np.float32)
    loud = np.flatnonzero(np.abs(wave) > 0.01 * max(float(np.abs(wave).max()), 1e-9))
    if loud.size == 0:
        raise ValueError(f"{path}: silent sample")
    wave = wave[max(0, loud[0] - int(0.005 * SAMPLE_RATE)) :][:num_samples]
    return np.pad(wave, (0, num_samples - wave.shape[0]))


def _slug(text):
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-") or "x"


def build_drums(out_dir, test_kits=TEST_KITS, verbose=1):
    """Writes the drum set under `out_dir` (layout in the module docstring).

    Args:
        out_dir: folder to create (files already there are overwritten).
        test_kits: names of the kits held out for testing.
        verbose: 1 prints one summary line.

    Returns:
        The manifest as a DataFrame (`path` relative to `out_dir`).
    """
    start = time.perf_counter()
    samples = hydrogen_samples() + sonic_pi_samples()
    unknown = sorted(set(test_kits) - {kit for kit, _, _ in samples})
    if unknown:
        raise ValueError(f"`test_kits` names kits that are not installed: {unknown}")
    rows, seen = [], {}
    for kit, instrument, path in samples:
        kind = kind_of(instrument)
        if kind is None:
            continue
        key = (kit, instrument)
        seen[key] = seen.get(key, -1) + 1
        split = "test" if kit in test_kits else "train"
        rel = os.path.join(split, kind, f"{_slug(kit)}__{_slug(instrument)}__{seen[key]}.wav")
        os.makedirs(os.path.join(out_dir, split, kind), exist_ok=True)
        sf.write(os.path.join(out_dir, rel), load_clip(path), SAMPLE_RATE, subtype="PCM_16")
        rows.append({"path": rel, "label": kind, "kit": kit, "instrument": instrument, "split": split})
    manifest = pd.DataFrame(rows)
    missing = [k for k in KIND_NAMES if not ((manifest.label == k) & (manifest.split == "test")).any()]
    if missing:
        raise ValueError(f"The test kits {list(test_kits)} have no clips of {missing}; choose others.")
    manifest.to_csv(os.path.join(out_dir, "manifest.csv"), index=False)
    if verbose:
        counts = manifest.groupby("split").size().to_dict()
        print(
            f"drums: {len(manifest)} clips ({counts}), {manifest.kit.nunique()} kits, "
            f"{len(KIND_NAMES)} kinds, in {time.perf_counter() - start:.1f} s -> {out_dir}"
        )
    return manifest


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="output folder")
    args = parser.parse_args(argv)
    manifest = build_drums(args.out)
    print(pd.crosstab(manifest.label, manifest.split))


if __name__ == "__main__":
    main()
