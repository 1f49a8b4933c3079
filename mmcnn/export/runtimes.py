"""Running exported `.tflite` and `.onnx` files in their own runtimes, as a phone or a server would.

`load_edge_model(path)` gives an `EdgeModel` whatever the format: call it on a
batch of edge inputs (what `Classifier.edge_inputs` gives) and it runs them one
example at a time (batch 1, as on a device) through `ai_edge_litert`'s
interpreter or onnxruntime, and returns float32 probabilities (int8 outputs
dequantized). `class_names`, `document` and, for multi-label files,
`thresholds` are read from inside the file.
Neither needs TensorFlow.
"""

import json
import os
import time

import numpy as np

from mmcnn._stderr import quiet_native
from mmcnn.export.edge import CLASS_NAMES_KEY, DOCUMENT_KEY, LABELS_KEY, metadata_entries, require


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


class LiteRTModel(EdgeModel):
    """A `.tflite` file in `ai_edge_litert`'s interpreter."""

    format = "litert"

    def __init__(self, path, num_threads=None):
        super().__init__(path)
        litert = require("ai_edge_litert.interpreter", "lite", "running a .tflite file")
        with open(self.path, "rb") as f:
            data = f.read()
        entries = read_tflite_metadata(data)
        self.document = json.loads(entries[DOCUMENT_KEY]) if DOCUMENT_KEY in entries else {}
        self.class_names = (
            entries[LABELS_KEY].decode("utf-8").split("\n")
            if LABELS_KEY in entries
            else self.document.get("class_names", [])
        )
        with quiet_native():  # "Created TensorFlow Lite XNNPACK delegate for CPU."
            self.interpreter = litert.Interpreter(model_content=data, num_threads=num_threads)
            self.interpreter.allocate_tensors()
        self.input = self.interpreter.get_input_details()[0]
        self.output = self.interpreter.get_output_details()[0]

    def run_one(self, x):
        return invoke_tflite(self.interpreter, x, self.input, self.output)


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


class OnnxModel(EdgeModel):
    """An `.onnx` file in onnxruntime (CPU)."""

    format = "onnx"

    def __init__(self, path):
        super().__init__(path)
        ort = require("onnxruntime", "onnx", "running an .onnx file")
        with quiet_native():
            self.session = ort.InferenceSession(self.path, providers=["CPUExecutionProvider"])
        props = self.session.get_modelmeta().custom_metadata_map
        self.document = json.loads(props[DOCUMENT_KEY]) if DOCUMENT_KEY in props else {}
        self.class_names = (
            json.loads(props[CLASS_NAMES_KEY])
            if CLASS_NAMES_KEY in props
            else self.document.get("class_names", [])
        )
        self.input = self.session.get_inputs()[0]
        self.input_dtype = ONNX_TYPES.get(self.input.type, np.float32)

    def run_one(self, x):
        x = np.asarray(x).astype(self.input_dtype, copy=False)
        return np.asarray(self.session.run(None, {self.input.name: x})[0], dtype=np.float32)


ONNX_TYPES = {
    "tensor(float)": np.float32,
    "tensor(uint8)": np.uint8,
    "tensor(int8)": np.int8,
    "tensor(int32)": np.int32,
    "tensor(int64)": np.int64,
}


def load_edge_model(path):
    """A `LiteRTModel` for a `.tflite` file or an `OnnxModel` for an `.onnx` file."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: no such model file")
    lower = path.lower()
    if lower.endswith(".tflite"):
        return LiteRTModel(path)
    if lower.endswith(".onnx"):
        return OnnxModel(path)
    raise ValueError(f"{path}: expected a .tflite or .onnx file")


def read_class_names(path):
    """The class names stored inside a `.tflite` or `.onnx` file."""
    return load_edge_model(path).class_names


def read_tflite_metadata(data):
    """`{name: bytes}` of a `.tflite` flatbuffer's `Model.metadata` (with the `ai_edge_litert` schema)."""
    schema = require("ai_edge_litert.schema_py_generated", "lite", "reading a .tflite file")
    return metadata_entries(schema.Model.GetRootAs(data, 0))
