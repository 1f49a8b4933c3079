"""A modality written against the old underscore hook names still works for one release, warned."""

import keras
import pytest

import mmcnn.image as mi


def test_an_old_hook_name_is_aliased_with_a_deprecation_warning():
    with pytest.warns(DeprecationWarning, match=r"OldImageClassifier\._metrics .*`training_metrics`"):

        class OldImageClassifier(mi.ImageClassifier):
            def _metrics(self):
                return ["accuracy", keras.metrics.SparseTopKCategoricalAccuracy(k=2, name="top2")]

    clf = OldImageClassifier(num_classes=3, image_size=(16, 16), channels=1, preset="tiny")
    assert [getattr(m, "name", m) for m in clf.training_metrics()] == ["accuracy", "top2"]


def test_a_new_hook_name_wins_over_an_old_one():
    class Both(mi.ImageClassifier):
        def _metrics(self):
            return ["old"]

        def training_metrics(self):
            return ["new"]

    assert Both(num_classes=2, image_size=(16, 16), channels=1, preset="tiny").training_metrics() == ["new"]
