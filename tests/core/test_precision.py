"""`precision="auto"` follows the hardware; a bf16-trained model saves, loads and exports (float32 ends)."""

import json

import numpy as np
import pytest
import tensorflow as tf

import mmcnn
import mmcnn.image
from mmcnn.models import precision
from mmcnn.models.precision import cpu_flags, resolve_precision

AMX = {"gpus": [], "cpu_flags": {"avx2", "avx512f", "amx_tile", "amx_bf16"}}
AVX512_BF16 = {"gpus": [], "cpu_flags": {"avx2", "avx512f", "avx512_bf16"}}
AVX2 = {"gpus": [], "cpu_flags": {"avx2", "fma"}}
AMPERE = {"gpus": [("NVIDIA A100", (8, 0))], "cpu_flags": set()}
TURING = {"gpus": [("Tesla T4", (7, 5))], "cpu_flags": {"amx_bf16"}}


@pytest.fixture
def no_override(monkeypatch):
    monkeypatch.delenv("MMCNN_PRECISION", raising=False)


@pytest.mark.parametrize(
    "hardware,policy",
    [(AMX, "mixed_bfloat16"), (AVX512_BF16, "mixed_bfloat16"), (AVX2, "float32"), (AMPERE, "mixed_bfloat16"),
     (TURING, "float32")],
)  # fmt: skip
def test_auto_follows_the_hardware(no_override, hardware, policy):
    chosen, reason = resolve_precision("auto", detect=lambda: hardware)
    assert chosen == policy and reason


def test_explicit_precision_and_the_override(no_override, monkeypatch):
    assert resolve_precision("mixed_float16", detect=lambda: AVX2)[0] == "mixed_float16"
    monkeypatch.setenv("MMCNN_PRECISION", "mixed_bfloat16")
    clf = mmcnn.image.ImageClassifier(num_classes=2, image_size=(8, 8), channels=1, preset="tiny")
    assert clf.model.get_layer("backbone").compute_dtype == "bfloat16"
    assert clf.precision_used == {"policy": "mixed_bfloat16", "reason": "MMCNN_PRECISION=mixed_bfloat16"}
    monkeypatch.setenv("MMCNN_PRECISION", "half")
    with pytest.raises(ValueError, match="MMCNN_PRECISION"):
        _ = mmcnn.image.ImageClassifier(num_classes=2, image_size=(8, 8), channels=1, preset="tiny").model
    with pytest.raises(ValueError, match="`precision` must be one of"):
        mmcnn.image.ImageClassifier(num_classes=2, precision="bf16")


def test_this_machine_is_read(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor : 0\nflags\t\t: fpu avx2 amx_bf16\n")
    assert cpu_flags(str(cpuinfo)) == {"fpu", "avx2", "amx_bf16"}
    assert cpu_flags(str(tmp_path / "missing")) == set()


def test_a_bfloat16_model_trains_saves_loads_and_exports_with_float32_ends(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, (16, 12, 12, 1)).astype("float32")
    x[8:, :6] += 60  # class 1 is brighter on top
    data = mmcnn.image.from_arrays(np.clip(x, 0, 255), [0] * 8 + [1] * 8)
    clf = mmcnn.image.ImageClassifier(
        image_size=(12, 12), channels=1, preset="tiny", augmentation="none", precision="mixed_bfloat16"
    )
    clf.fit(data, epochs=2, batch_size=8, verbose=0)
    assert clf.precision_used["policy"] == "mixed_bfloat16"
    assert clf.model.get_layer("backbone").compute_dtype == "bfloat16"
    assert clf.model.output.dtype == "float32"
    probs = clf.predict_proba(x[:4])
    assert probs.dtype == np.float32 and np.allclose(probs.sum(-1), 1, atol=1e-3)
    clf.save(tmp_path / "m.keras")
    loaded = mmcnn.load(tmp_path / "m.keras")
    assert loaded.model.metadata["precision"]["policy"] == "mixed_bfloat16"
    np.testing.assert_allclose(loaded.predict_proba(x[:4]), probs, atol=1e-6)
    export = clf.export(tmp_path / "export")
    served = tf.saved_model.load(export).signatures["features"](pixels=tf.constant(x[:4]))["probabilities"]
    assert served.dtype == tf.float32
    np.testing.assert_allclose(served.numpy(), probs, atol=2e-2)  # bf16 kernels may fuse differently


def test_exports_of_a_bfloat16_model_are_float32(tmp_path):
    clf = mmcnn.image.ImageClassifier(
        num_classes=2, image_size=(12, 12), channels=1, preset="tiny", precision="mixed_bfloat16"
    )
    x = np.random.default_rng(1).integers(0, 256, (3, 12, 12, 1)).astype("float32")  # exact as uint8
    copy_ = clf.float32_copy()
    assert copy_ is not clf and all(layer.dtype_policy.name == "float32" for layer in copy_.model.layers)
    assert clf.model.get_layer("backbone").compute_dtype == "bfloat16"  # the classifier itself is unchanged
    np.testing.assert_allclose(copy_.predict_proba(x), clf.predict_proba(x), atol=2e-2)
    from mmcnn.export import load_edge_model

    edge = load_edge_model(clf.export(tmp_path / "m.tflite", format="litert"))  # built-in float32 kernels
    on_device = np.concatenate([edge(clf.edge_inputs(x[i : i + 1])) for i in range(3)])
    np.testing.assert_allclose(on_device, copy_.predict_proba(x), atol=1e-5)


@pytest.fixture
def cache(monkeypatch, tmp_path):
    monkeypatch.setenv("MMCNN_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache" / "precision.json"


def test_auto_measures_the_model_at_hand_and_caches_it(no_override, cache, monkeypatch):
    monkeypatch.setattr(precision, "detect_hardware", lambda: AMX)

    def build():
        clf = mmcnn.image.ImageClassifier(
            num_classes=2, image_size=(8, 8), channels=1, preset="tiny", batch_size=8
        )
        return clf, clf.model

    clf, model = build()
    used = clf.precision_used
    rates = used["rates"]
    assert set(rates) == {"float32", "mixed_bfloat16"} and min(rates.values()) > 0 and not used["cached"]
    faster = used["speedup"] >= precision.MARGIN
    assert used["policy"] == ("mixed_bfloat16" if faster else "float32") and "measured" in used["reason"]
    assert model.get_layer("backbone").compute_dtype == ("bfloat16" if faster else "float32")
    assert len(json.loads(cache.read_text())) == 1
    again, _ = build()
    assert again.precision_used["cached"] and again.precision_used["rates"] == rates
    assert again.precision_used["policy"] == used["policy"]


def test_measured_precision_keeps_bfloat16_only_where_it_is_faster(cache):
    def never(build, batch_size):
        raise AssertionError("measured again instead of read from the cache")

    slow = precision.measured_precision(
        None, "a", 8, AMX, measure=lambda b, n: {"float32": 100.0, "mixed_bfloat16": 104.0}
    )
    assert slow[0] == "float32" and "not 1.05x" in slow[1]
    fast = precision.measured_precision(
        None, "b", 8, AMX, measure=lambda b, n: {"float32": 100.0, "mixed_bfloat16": 190.0}
    )
    assert fast[0] == "mixed_bfloat16" and fast[2]["rates"] == {"float32": 100.0, "mixed_bfloat16": 190.0}
    assert precision.measured_precision(None, "a", 8, AMX, measure=never)[0] == "float32"
    assert precision.measured_precision(None, "b", 8, AMX, measure=never)[2]["cached"]
    # Another batch size (or machine) is another model shape: measured again.
    calls = []
    precision.measured_precision(None, "b", 16, AMX, measure=lambda b, n: calls.append(n) or fast[2]["rates"])
    assert calls == [16]


@pytest.mark.parametrize("hardware, given", [(AVX2, "auto"), (AMX, "float32"), (AMX, "mixed_bfloat16")])
def test_no_measurement_without_bfloat16_or_when_the_precision_is_given(
    no_override, cache, monkeypatch, hardware, given
):
    monkeypatch.setattr(precision, "detect_hardware", lambda: hardware)
    clf = mmcnn.image.ImageClassifier(
        num_classes=2, image_size=(8, 8), channels=1, preset="tiny", precision=given
    )
    _ = clf.model
    assert "rates" not in clf.precision_used and not cache.exists()
    assert clf.precision_used["policy"] == ("float32" if given == "auto" else given)


def test_a_measurement_that_fails_keeps_the_hardware_rule_and_says_so(cache, caplog):
    def broken(build, batch_size):
        raise ValueError("no batch for this input")

    with caplog.at_level("WARNING", logger="mmcnn"):
        policy, reason, measured = precision.measured_precision(None, "c", 8, AMX, measure=broken)
    assert policy == "mixed_bfloat16" and "measurement failed" in reason and measured == {}
    assert "could not time this model (ValueError: no batch for this input)" in caplog.text
    assert not cache.exists()


def test_a_model_with_a_dict_of_inputs_is_timed():
    """A table model takes a dict (one input per column, strings among them): the trial steps feed
    that structure, instead of failing and falling back unmeasured."""
    import keras

    from mmcnn.models.classifier_model import ClassifierModel

    def build():
        # Not in sorted order, as a table's columns need not be.
        inputs = {
            "note": keras.Input((), dtype="string", name="note"),
            "hour": keras.Input((1,), name="hour"),
        }
        ids = keras.layers.StringLookup(vocabulary=["text"])(inputs["note"])
        embedded = keras.layers.Embedding(2, 2)(ids)
        joined = keras.layers.Concatenate()([inputs["hour"], embedded])
        return ClassifierModel(inputs, keras.layers.Dense(2, activation="softmax")(joined), metadata={})

    rates = precision.measure_rates(build, batch_size=4, steps=1)
    assert rates["float32"] > 0 and rates["mixed_bfloat16"] > 0
    # Under a strategy (`fit(..., strategy=...)` builds in its scope) the strings are a tensor
    # Keras distributes: NumPy objects were refused ("Invalid dtype: object").
    import tensorflow as tf

    with tf.distribute.OneDeviceStrategy("/cpu:0").scope():
        rates = precision.measure_rates(build, batch_size=4, steps=1)
    assert rates["float32"] > 0 and rates["mixed_bfloat16"] > 0
