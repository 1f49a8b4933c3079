"""Test-wide settings.

`precision="auto"` picks bfloat16 on machines that compute it natively (AMX,
AVX512-BF16, recent GPUs) and float32 elsewhere; CI machines differ between
sessions. The suite pins "auto" to float32 (`MMCNN_PRECISION`, inherited by
the subprocesses of CLI tests) so that it checks the same numbers everywhere;
tests of the precision choice itself pass `precision=` or inject the hardware.

On small data `fit` raises a preset's epochs (`mmcnn.models.schedule`): up to
200 epochs on the few dozen examples of a test. The suite keeps the presets'
schedules (`MMCNN_SCHEDULE=preset`); tests of the adaptation unset it.
"""

import os

os.environ.setdefault("MMCNN_PRECISION", "float32")
os.environ.setdefault("MMCNN_SCHEDULE", "preset")
