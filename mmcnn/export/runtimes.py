"""Running exported files in their own runtimes, as a phone or a server would.

`load_edge_model(path)` gives an `EdgeModel` whatever the format: call it on a
batch of edge inputs (what `Classifier.edge_inputs` gives) and it runs them one
example at a time (batch 1, as on a device) and returns float32 probabilities.
Which runtime runs a file is its format's `runner` (`mmcnn.export.formats`):
`LiteRTModel` (`litert.py`: `ai_edge_litert`'s interpreter, int8 outputs
dequantized) for a `.tflite` file, `OnnxModel` (`onnx.py`: onnxruntime) for an
`.onnx` file. `class_names`, `document` and, for multi-label files,
`thresholds` are read from inside the file.
"""

import os
import time

import numpy as np

from mmcnn.export.edge import metadata_entries, require
from mmcnn.export.formats import format_for_path, registered_formats


class EdgeModel:
    """A converted classifier file: `model(batch) -> (n, num_classes)` float32 probabilities."""

    format = None

    def __init__(self, path):
        self.path = os.fspath(path)
        self.file_size_bytes = os.path.getsize(self.path)
        self.document = {}
        self.class_names = []

    @property
    def thresholds(self):
        """A multi-label file's per-class thresholds (float32 array), None for a single-label one."""
        if not self.document.get("multi_label"):
            return None
        return np.asarray(self.document["thresholds"], dtype=np.float32)

    def __call__(self, inputs):
        """Probabilities `(n, num_classes)` for a batch of edge inputs, run one example at a time."""
        inputs = np.asarray(inputs)
        return np.stack([self.run_one(row[None])[0] for row in inputs])

    def run_one(self, x):
        raise NotImplementedError

    def timed(self, inputs):
        """Like calling it, plus each example's run time in milliseconds."""
        probs, times = [], []
        for row in np.asarray(inputs):
            start = time.perf_counter()
            probs.append(self.run_one(row[None])[0])
            times.append((time.perf_counter() - start) * 1000)
        return np.stack(probs), np.asarray(times)


def invoke_tflite(interpreter, x, input=None, output=None):
    """One `invoke` of a LiteRT interpreter (`ai_edge_litert`'s or TensorFlow's) on the batch `x`.

    A float `x` for an integer input tensor is quantized as the converter
    would have; an integer output is dequantized to float32."""
    input = input or interpreter.get_input_details()[0]
    output = output or interpreter.get_output_details()[0]
    dtype = input["dtype"]
    x = np.asarray(x)
    scale, zero = input["quantization"]
    if np.issubdtype(dtype, np.integer) and x.dtype != dtype and scale:
        # A float input to an int8 input tensor: quantize it as the converter would have.
        info = np.iinfo(dtype)
        x = np.clip(np.round(x / scale + zero), info.min, info.max)
    interpreter.set_tensor(input["index"], x.astype(dtype, copy=False))
    interpreter.invoke()
    y = interpreter.get_tensor(output["index"])
    scale, zero = output["quantization"]
    if np.issubdtype(y.dtype, np.integer) and scale:
        y = (y.astype(np.float32) - zero) * scale
    return y.astype(np.float32, copy=False)


def load_edge_model(path):
    """The file in its runtime: the `runner` of the format whose suffix `path` ends in.

    A `LiteRTModel` for a `.tflite` file, an `OnnxModel` for an `.onnx` file,
    and so on for every registered format with a runner (`mmcnn.export.formats`)."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: no such model file")
    record = format_for_path(path)
    if record is None or record.runner is None:
        raise ValueError(f"{path}: expected a {runnable_suffixes()} file")
    model = record.runner(path)
    if model.format is None:
        model.format = record.name
    return model


def runnable_suffixes():
    """`".tflite or .onnx"`: the suffixes of the files `load_edge_model` runs, for messages."""
    suffixes = [f.suffix for f in registered_formats().values() if f.runner is not None]
    if len(suffixes) > 1:
        return ", ".join(suffixes[:-1]) + " or " + suffixes[-1]
    return suffixes[0] if suffixes else "no"


def read_class_names(path):
    """The class names stored inside a `.tflite` or `.onnx` file."""
    return load_edge_model(path).class_names


def read_tflite_metadata(data):
    """`{name: bytes}` of a `.tflite` flatbuffer's `Model.metadata` (with the `ai_edge_litert` schema)."""
    schema = require("ai_edge_litert.schema_py_generated", "lite", "reading a .tflite file")
    return metadata_entries(schema.Model.GetRootAs(data, 0))
