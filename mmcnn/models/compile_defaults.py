"""How a classifier's Keras model is compiled: AdamW, a cosine-decayed learning rate, its loss and metrics.

`Classifier.compile` delegates here; the modality hooks `training_loss()` and
`training_metrics()` still say what differs (MixUp's soft labels, top-5 for moves).
"""

import keras

from mmcnn.models.losses import SparseLabelSmoothingCrossentropy
from mmcnn.models.metrics import DEFAULT_THRESHOLD

STEPS_PER_EXECUTION = 8


def compile_classifier(clf, steps_per_epoch=None, epochs=None, multi_step=True, learning_rate=None):
    """`Classifier.compile` of `clf`: see there."""
    lr = learning_rate or clf.setting("learning_rate")
    if steps_per_epoch and epochs:
        lr = keras.optimizers.schedules.CosineDecay(
            0.0,
            decay_steps=max(1, steps_per_epoch * epochs - steps_per_epoch // 2),
            warmup_target=lr,
            warmup_steps=max(1, steps_per_epoch // 2),
            alpha=0.01,
        )
    clf.model.compile(
        optimizer=keras.optimizers.AdamW(
            learning_rate=lr, weight_decay=clf.preset_config.get("weight_decay", 1e-4)
        ),
        loss=keras.losses.BinaryCrossentropy() if clf.multi_label else clf.training_loss(),
        metrics=multilabel_metrics() if clf.multi_label else clf.training_metrics(),
        steps_per_execution=steps_per_execution(steps_per_epoch) if multi_step else 1,
    )


def default_loss(preset_config):
    """The training loss (labels are class ids), with the preset's `label_smoothing` (default 0)."""
    smoothing = preset_config.get("label_smoothing", 0.0)
    if smoothing:
        return SparseLabelSmoothingCrossentropy(label_smoothing=smoothing)
    return keras.losses.SparseCategoricalCrossentropy()


def multilabel_metrics():
    """What a multi-label model reports while training."""
    # Micro-F1 at 0.5 while training (the chosen thresholds come after), and the mean over
    # classes of the precision-recall AUC, which early stopping watches.
    return [
        keras.metrics.F1Score(average="micro", threshold=DEFAULT_THRESHOLD, name="micro_f1"),
        keras.metrics.AUC(curve="PR", multi_label=True, num_thresholds=200, name="pr_auc"),
    ]


def steps_per_execution(steps_per_epoch, most=STEPS_PER_EXECUTION):
    """Training steps per call of the compiled step function.

    Several steps per call gave 1.79x the training throughput of the default
    image preset on 2 CPU cores (bench/RESULTS.md, "What moves it"). Keras runs
    every call's steps in full, so the count must divide the epoch: otherwise
    the last call of an epoch would take batches of the next one (the epoch
    boundaries that make a resumed run reproducible would slip).
    """
    if not steps_per_epoch:
        return 1
    return max(d for d in range(1, most + 1) if steps_per_epoch % d == 0)
