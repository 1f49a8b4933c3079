"""Shared test helpers: one call checks everything a kind of thing must do.

Modelled on Keras core's `run_layer_test` and KerasHub's `run_task_test`:
every public mmcnn layer is tested through `run_layer_test` and every
classifier through `run_classifier_test`, so that a new layer or modality gets
the whole check by calling it.
"""

from mmcnn.testing.classifier_test import run_classifier_test, serve_in_fresh_process
from mmcnn.testing.layer_test import check_config, run_layer_test

__all__ = ["check_config", "run_classifier_test", "run_layer_test", "serve_in_fresh_process"]
