"""bench/harness.py's argument helpers and reports (no TensorFlow is imported)."""

import os

import pytest

from bench import harness
from bench.harness import parse_epochs

MODALITIES = ["image", "audio", "text"]


def test_one_number_sets_every_modality():
    assert parse_epochs(["5"], MODALITIES) == {"image": 5, "audio": 5, "text": 5}


def test_modality_items_set_their_own_modality_only():
    assert parse_epochs(["image=3", "text=4"], MODALITIES) == {"image": 3, "text": 4}


def test_no_value_keeps_the_presets():
    assert parse_epochs(None, MODALITIES) == {}
    assert parse_epochs([], MODALITIES) == {}


@pytest.mark.parametrize("value", ["table=3", "image=", "image=0", "image=two", "3=image", "=3", "0"])
def test_a_bad_item_is_refused_by_name(value):
    with pytest.raises(SystemExit, match=f"got {value!r}"):
        parse_epochs([value], MODALITIES)


def test_a_quick_run_never_replaces_a_committed_result(tmp_path, monkeypatch, capsys):
    results = tmp_path / "results"
    results.mkdir()
    measured = results / "measured.md"
    measured.write_text("the measurement\n")
    monkeypatch.setattr(harness, "RESULTS_DIR", os.fspath(results))
    harness.publish(["smoke"], os.fspath(measured), quick=True)
    assert measured.read_text() == "the measurement\n"
    assert "not written to" in capsys.readouterr().out
    # Elsewhere a quick run is written, marked as such; a real run replaces the result.
    elsewhere = tmp_path / "quick.md"
    harness.publish(["smoke"], os.fspath(elsewhere), quick=True)
    assert "smoke run" in elsewhere.read_text()
    harness.publish(["new measurement"], os.fspath(measured))
    assert measured.read_text() == "new measurement\n"
