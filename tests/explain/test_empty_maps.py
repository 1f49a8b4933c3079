"""Grad-CAM maps of a confidently predicted class are not blank, and a blank one is named as such.

Each model is a tiny image classifier whose head weights are set by hand, so that the case
the map must survive is built in (float32 everywhere, the same verdict on any CPU):

- a softmax class that wins with a negative logit everywhere (the others are lower still);
- a head that flattens the feature maps, where the mean gradient over positions is negative
  but one position carries the evidence;
- a sigmoid score saturated at 1.0 in float32, where the probability's gradient is zero.
"""

import keras
import numpy as np

import mmcnn.image as mi
from mmcnn.explain import grad_cam
from mmcnn.report import plot_explanation

SIZE = 16


def classifier(preset="tiny", multi_label=False):
    return mi.ImageClassifier(
        class_names=["dress", "coat"],
        image_size=(SIZE, SIZE),
        channels=1,
        preset=preset,
        precision="float32",
        multi_label=multi_label,
        augmentation="none",
    )


def images(n=4):
    return np.random.default_rng(0).uniform(0, 255, (n, SIZE, SIZE, 1)).astype("float32")


def head_features(clf, batch):
    head = clf.model.get_layer("head")
    return np.asarray(keras.Model(clf.model.inputs, head.input)([batch]))


def set_head(clf, kernel, bias):
    dense = clf.model.get_layer("head").dense
    dense.kernel.assign(np.asarray(kernel, "float32"))
    dense.bias.assign(np.asarray(bias, "float32"))


def test_softmax_class_that_wins_with_negative_logits_gets_a_map():
    clf = classifier()
    batch = clf.preprocess(images())
    pooled = head_features(clf, batch).mean(axis=(1, 2))  # (n, channels), >= 0 after the ReLU
    scale = 10.0 / pooled.sum(axis=1).min()
    # Both logits negative wherever a feature is on; "coat" three times as negative.
    set_head(
        clf, np.stack([-scale * np.ones(pooled.shape[1]), -3 * scale * np.ones(pooled.shape[1])], 1), [0, 0]
    )
    out = grad_cam(clf.model, batch)
    assert (out["class_ids"] == 0).all() and (out["probabilities"][:, 0] > 0.99).all()
    # Before: the raw logit's positive part was empty for every input.
    assert (out["maps"].reshape(len(batch), -1).max(axis=1) == 1.0).all()
    assert not out["empty"].any()


def test_flatten_head_map_shows_the_one_position_with_evidence():
    clf = classifier(preset="compact")
    assert clf.model.get_layer("head").pooling == "flatten"
    batch = clf.preprocess(images(1))
    features = head_features(clf, batch)[0]  # (h, w, channels)
    h, w, channels = features.shape
    r, c = np.unravel_index(np.argmax(features.sum(axis=-1)), (h, w))
    # "dress" reads position (r, c) with +1 and every other one with -1: each channel's mean weight
    # is negative, so the mean-gradient map was empty; the bias makes "dress" confident.
    weights = -np.ones((h, w, channels), "float32")
    weights[r, c] = 1.0
    set_head(clf, np.stack([weights.reshape(-1), np.zeros(h * w * channels)], 1), [1000.0, 0.0])
    out = grad_cam(clf.model, batch)
    assert out["class_ids"][0] == 0 and out["probabilities"][0, 0] > 0.99
    assert out["maps"][0].max() == 1.0 and not out["empty"][0]
    assert np.unravel_index(np.argmax(out["maps"][0]), (h, w)) == (r, c)
    assert out["maps"][0][r, c] == 1.0 and np.count_nonzero(out["maps"][0]) == 1


def test_saturated_sigmoid_score_gets_a_map():
    clf = classifier(multi_label=True)
    batch = clf.preprocess(images())
    channels = head_features(clf, batch).shape[-1]
    # "dress" scores sigmoid(>= 40) == 1.0 in float32: its gradient through the sigmoid is zero.
    set_head(clf, np.stack([np.ones(channels), np.zeros(channels)], 1), [40.0, 0.0])
    out = grad_cam(clf.model, batch, class_ids=0)
    assert (out["probabilities"][:, 0] == 1.0).all()
    assert (out["maps"].reshape(len(batch), -1).max(axis=1) == 1.0).all()
    assert not out["empty"].any()


def test_a_map_without_evidence_is_named_empty_in_the_picture():
    clf = classifier()
    channels = clf.model.get_layer("head").dense.kernel.shape[0]
    # Only the bias speaks: "dress" at 0.993 with no position adding anything.
    set_head(clf, np.zeros((channels, 2)), [5.0, 0.0])
    out = clf.explain(images(2))
    assert out["class_names"] == ["dress", "dress"] and (out["probabilities"][:, 0] > 0.99).all()
    fig = plot_explanation(out, 0)
    title = fig.axes[1].get_title()
    assert "empty" in title and "where the evidence" not in title
    assert any("no map" in text.get_text() for text in fig.axes[1].texts)
    assert list(out["empty"]) == [True, True]
