"""The image classifier's serving endpoints: encoded bytes, pixels of any size, the model's input.

| endpoint | input |
|---|---|
| `serving_default` | `image_bytes`: string `(batch,)`, encoded PNG/JPEG/BMP/GIF files |
| `pixels` | `pixels`: float32 `(batch, height, width, channels)`, any size, 0..255 |
| `features` | `pixels` at the model's size |
| `embedding` | `pixels` at the model's size; also returns `embedding` (`Classifier.embed`) |

Each returns `mmcnn.export.serving_outputs` (probabilities, class id, class name).
"""

import numpy as np
import tensorflow as tf

from mmcnn.export.endpoints import Endpoint, embedding_endpoint, endpoint_outputs, tensor_spec
from mmcnn.image.image_converter import ImageConverter


def image_endpoints(clf):
    """`serving_default` (encoded bytes), `pixels` (any size) and `features` (model size)."""
    model, names = clf.model, list(clf.class_names)
    outputs = endpoint_outputs(clf)  # multi-label: scores, predicted, labels
    height, width = clf.image_size
    settings = dict(image_size=tuple(clf.image_size), channels=clf.channels, resize_mode=clf.resize_mode)
    # The very converters `ImageClassifier.predict` uses for bytes and arrays.
    from_bytes = ImageConverter(**settings, input_format="bytes", name="bytes_converter")
    from_pixels = ImageConverter(**settings, input_format="pixels", name="pixels_converter")

    def serve_bytes(image_bytes):
        return outputs(model(from_bytes(image_bytes), training=False), names)

    def serve_pixels(pixels):
        return outputs(model(from_pixels(pixels), training=False), names)

    def serve_features(pixels):
        return outputs(model(pixels, training=False), names)

    return [
        Endpoint(
            "serving_default",
            serve_bytes,
            [tensor_spec([None], tf.string, "image_bytes")],
            "encoded PNG, JPEG, BMP or GIF files, one per example; decoded, converted to "
            f"{clf.channels} channel(s) and resized ({clf.resize_mode}) to {height}x{width} "
            "in the graph",
        ),
        Endpoint(
            "pixels",
            serve_pixels,
            [tensor_spec([None, None, None, None], tf.float32, "pixels")],
            "float pixels (batch, height, width, channels), values 0..255, any size and "
            "1-4 channels; converted and resized in the graph",
        ),
        Endpoint(
            "features",
            serve_features,
            [tensor_spec([None, height, width, clf.channels], tf.float32, "pixels")],
            f"the model's own input: float pixels (batch, {height}, {width}, {clf.channels}), values 0..255",
        ),
        embedding_endpoint(clf),
    ]


def image_settings(clf):
    return {
        "image_size": list(clf.image_size),
        "channels": clf.channels,
        "resize_mode": clf.resize_mode,
        "pixel_range": [0, 255],
    }


# On-device files (LiteRT, ONNX) ---------------------------------------------------
def image_edge_endpoint(clf):
    """uint8 pixels `(1, height, width, channels)` at the model's size -> probabilities.

    Decoding and resizing are the app's job (its platform's image library);
    the cast to float and everything after it are inside the file."""
    model = clf.model
    height, width = clf.image_size

    def probabilities(pixels):
        return model(tf.cast(pixels, tf.float32), training=False)

    return Endpoint(
        "edge",
        probabilities,
        [tensor_spec([1, height, width, clf.channels], tf.uint8, "pixels")],
        f"uint8 pixels (1, {height}, {width}, {clf.channels}), values 0..255, already resized "
        f"({clf.resize_mode}) to the model's size",
    )


def image_edge_inputs(batch):
    """Float pixel batches (0..255) -> uint8, rounded and clipped."""
    return np.clip(np.round(np.asarray(batch, dtype=np.float32)), 0, 255).astype(np.uint8)


def image_edge_metadata(clf):
    height, width = clf.image_size
    return {
        "input": "pixels",
        "dtype": "uint8",
        "shape": [1, height, width, clf.channels],
        "layout": "NHWC",
        "image_size": [height, width],
        "channels": clf.channels,
        "color": "grayscale" if clf.channels == 1 else "RGB",
        "pixel_range": [0, 255],
        "resize_mode": clf.resize_mode,
        "resize": (
            "the app's job: decode, convert to the channels above, then "
            + {
                "crop": "resize keeping the aspect ratio so the image covers the size, and centre-crop",
                "pad": "resize keeping the aspect ratio to fit inside the size, and zero-pad it centred",
                "stretch": "resize to the size, ignoring the aspect ratio",
            }.get(clf.resize_mode, clf.resize_mode)
            + " (bilinear)"
        ),
    }
