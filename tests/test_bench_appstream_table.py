"""bench/data/appstream_table.py on a hand-written AppStream collection (no apt lists needed)."""

import io
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from PIL import Image

from bench.data import appstream_table as at


def _component(app_id, package, categories, icon=True, summary="A tool"):
    cats = "".join(f"<category>{c}</category>" for c in categories)
    icon_xml = f'<icon type="cached" width="64" height="64">{package}_{app_id}.png</icon>' if icon else ""
    return (
        f'<component type="desktop-application"><id>{app_id}</id><pkgname>{package}</pkgname>'
        f'<summary>{summary} {app_id}</summary><summary xml:lang="de">Ein Werkzeug</summary>'
        f"<description><p>Does <em>things</em>.</p><ul><li>one</li><li>two</li></ul></description>"
        f"{icon_xml}<categories>{cats}</categories></component>"
    )


def _collection(components):
    return ET.fromstring(f"<components>{''.join(components)}</components>")


def _apps():
    components = [_component(f"game{i}", f"game{i}", ["Game", "Education"]) for i in range(6)]
    # Four apps of one source package (kdeedu), two of their own.
    edu_packages = ["kdeedu-bin"] * 4 + ["edu4", "edu5"]
    components += [_component(f"edu{i}", package, ["Education"]) for i, package in enumerate(edu_packages)]
    components += [
        _component("noicon", "noicon", ["Game"], icon=False),
        _component("nocat", "nocat", ["X-Custom"]),
        _component("nopkg", "missing-package", ["Game"]),
        _component("office0", "office0", ["Office"]),
    ]
    packages = {c.findtext("pkgname"): None for c in _collection(components)}
    packages.pop("missing-package")
    for name in packages:
        source = "kdeedu" if name == "kdeedu-bin" else name
        packages[name] = {
            "Package": name,
            "Source": f"{source} (1.0-1)" if source != name else name,
            "Section": "games" if name.startswith("game") else "x11/kde",
            "Installed-Size": "120",
            "Depends": "libc6 (>= 2.34), libfoo1",
            "Pre-Depends": "dpkg",
        }
    root = _collection(components)
    icon_names = {i.text for i in root.iter("icon")}
    return at.collect_apps(root, packages, icon_names)


def test_collect_apps_keeps_apps_with_an_icon_a_category_and_a_package():
    apps = {app["id"]: app for app in _apps()}
    assert set(apps) == {*(f"game{i}" for i in range(6)), *(f"edu{i}" for i in range(6)), "office0"}
    game = apps["game0"]
    # Game comes before Education in the fixed order; English text, markup removed.
    assert game["label"] == "Game"
    assert game["text"] == "A tool game0. Does things. one two"
    assert (game["installed_size_kb"], game["depends"], game["section"]) == (120, 3, "games")
    assert apps["edu0"]["source"] == "kdeedu" and apps["edu0"]["section"] == "kde"


def test_build_frame_splits_by_source_and_drops_rare_classes():
    frame = at.build_frame(_apps(), seed=0, min_class_rows=2, min_section_rows=1)
    # Office has one app: dropped; several apps of one source share its split.
    assert set(frame["label"]) == {"Game", "Education"}
    assert frame.groupby("source")["split"].nunique().max() == 1
    assert len(frame[frame["source"] == "kdeedu"]) == 4
    assert set(frame["split"]) <= set(at.SPLITS)
    assert frame.equals(at.build_frame(_apps(), seed=0, min_class_rows=2, min_section_rows=1))


def test_category_tags_are_the_categories_enough_training_apps_list():
    frame = at.build_frame(_apps(), seed=0, min_class_rows=2, min_section_rows=1)
    assert frame["categories"].str.contains("Education").sum() == 12
    tagged, tags = at.category_tags(frame, min_rows=1)
    train = frame[frame["split"] == "train"]
    assert set(tags) == {t for cats in train["categories"] for t in cats.split(";")}
    categories = dict(zip(frame["text"], frame["categories"]))
    for text, labels in zip(tagged["text"], tagged["labels"]):
        assert labels == ";".join(c for c in categories[text].split(";") if c in tags)
    assert len(tagged) == len(frame)  # every app keeps a tag here
    assert set(tagged["split"]) <= {"train", "validation", "test"}
    # A tag too rare in training is dropped from every row; a row left without tags goes.
    few, few_tags = at.category_tags(frame, min_rows=len(train) + 1)
    assert few_tags == [] and len(few) == 0


def test_rare_sections_become_other():
    frame = at.build_frame(_apps(), seed=0, min_class_rows=2, min_section_rows=100)
    assert set(frame["section"]) == {"other"}


def test_write_icon_composites_on_white(tmp_path):
    rgba = np.zeros((64, 64, 4), np.uint8)
    rgba[:32, :, :] = (255, 0, 0, 255)  # opaque red top half, transparent bottom half
    buffer = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buffer, format="PNG")
    path = tmp_path / "icon.png"
    at.write_icon(buffer.getvalue(), path, size=32)
    with Image.open(path) as image:
        assert (image.mode, image.size) == ("RGB", (32, 32))
        pixels = np.asarray(image)
    assert tuple(pixels[4, 4]) == (255, 0, 0) and tuple(pixels[28, 4]) == (255, 255, 255)


def test_missing_metadata_names_the_file_and_setup(tmp_path):
    with pytest.raises(at.MissingMetadata, match=r"Components-amd64.*bench/setup.sh"):
        at.find_inputs(str(tmp_path))
