"""The image classifier's serving endpoints: encoded bytes, pixels of any size, the model's input.

| endpoint | input |
|---|---|
| `serving_default` | `image_bytes`: string `(batch,)`, encoded PNG/JPEG/BMP/GIF files |
| `pixels` | `pixels`: float32 `(batch, height, width, channels)`, any size, 0..255 |
| `features` | `pixels` at the model's size |

Each returns `mmcnn.export.serving_outputs` (probabilities, class id, class name).
"""

import tensorflow as tf

from mmcnn.export.endpoints import Endpoint, serving_outputs, tensor_spec
from mmcnn.image.image_converter import ImageConverter


def image_endpoints(clf):
    """`serving_default` (encoded bytes), `pixels` (any size) and `features` (model size)."""
    model, names = clf.model, list(clf.class_names)
    height, width = clf.image_size
    settings = dict(image_size=tuple(clf.image_size), channels=clf.channels, resize_mode=clf.resize_mode)
    # The very converters `ImageClassifier.predict` uses for bytes and arrays.
    from_bytes = ImageConverter(**settings, input_format="bytes", name="bytes_converter")
    from_pixels = ImageConverter(**settings, input_format="pixels", name="pixels_converter")

    def serve_bytes(image_bytes):
        return serving_outputs(model(from_bytes(image_bytes), training=False), names)

    def serve_pixels(pixels):
        return serving_outputs(model(from_pixels(pixels), training=False), names)

    def serve_features(pixels):
        return serving_outputs(model(pixels, training=False), names)

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
    ]


def image_settings(clf):
    return {
        "image_size": list(clf.image_size),
        "channels": clf.channels,
        "resize_mode": clf.resize_mode,
        "pixel_range": [0, 255],
    }
