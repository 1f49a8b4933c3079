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
from mmcnn.image.image_converter import ImageConverter, convert_channels

# On-device files take RGB, whatever the model's channels: the runtimes apps use need 3 channels.
EDGE_CHANNELS = 3


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
    """uint8 RGB pixels `(1, height, width, 3)` at the model's size -> probabilities.

    Decoding and resizing are the app's job (its platform's image library);
    the cast to float and everything after it are inside the file. A
    grayscale model's file takes RGB too (what MediaPipe's ImageClassifier and
    most image pipelines hand over) and converts it to grey first, with the
    ITU-R 601-2 luma weights `convert_channels` uses for colour inputs."""
    model = clf.model
    height, width = clf.image_size
    channels = clf.channels

    def probabilities(pixels):
        return model(convert_channels(tf.cast(pixels, tf.float32), channels), training=False)

    grey = " (converted to grey inside the file)" if channels == 1 else ""
    return Endpoint(
        "edge",
        probabilities,
        [tensor_spec([1, height, width, EDGE_CHANNELS], tf.uint8, "pixels")],
        f"uint8 RGB pixels (1, {height}, {width}, {EDGE_CHANNELS}), values 0..255, already resized "
        f"({clf.resize_mode}) to the model's size{grey}",
    )


def image_edge_inputs(batch):
    """Float pixel batches (0..255, 1 or 3 channels) -> uint8 RGB, rounded and clipped (grey repeated)."""
    pixels = np.clip(np.round(np.asarray(batch, dtype=np.float32)), 0, 255).astype(np.uint8)
    return np.repeat(pixels, EDGE_CHANNELS, axis=-1) if pixels.shape[-1] == 1 else pixels


def image_edge_metadata(clf):
    height, width = clf.image_size
    return {
        "input": "pixels",
        "dtype": "uint8",
        "shape": [1, height, width, EDGE_CHANNELS],
        "layout": "NHWC",
        "image_size": [height, width],
        "channels": EDGE_CHANNELS,
        "color": "RGB",
        "model_channels": clf.channels,
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


def image_web_endpoint(clf):
    """The image model on float32 RGB pixels `(1, height, width, 3)`, 0..255, already resized.

    The LiteRT and ONNX files take uint8 pixels; the web page keeps the resized
    values unrounded, as `mmcnn predict` does (rounding moves a model's
    probabilities by up to a few thousandths). A grey model converts inside."""
    model, channels = clf.model, clf.channels
    height, width = clf.image_size

    def probabilities(pixels):
        return model(convert_channels(pixels, channels), training=False)

    return Endpoint(
        "edge",
        probabilities,
        [tensor_spec([1, height, width, 3], tf.float32, "pixels")],
        f"float32 RGB pixels (1, {height}, {width}, 3), values 0..255, resized ({clf.resize_mode}) to the "
        f"model's size, not rounded" + (" (converted to grey inside the file)" if channels == 1 else ""),
    )


def image_serving_input(clf):
    """`ImageClassifier.serving_input`: encoded image bytes `(batch,)`, decoded and resized in the
    graph as `serving_default` does; an empty string (a missing picture) becomes a black one."""
    settings = dict(image_size=tuple(clf.image_size), channels=clf.channels, resize_mode=clf.resize_mode)
    from_bytes = ImageConverter(**settings, input_format="bytes", name="bytes_converter")
    blank = tf.io.encode_png(tf.zeros([1, 1, 1], tf.uint8))

    def make(image_bytes):
        filled = tf.where(tf.strings.length(image_bytes) > 0, image_bytes, blank)
        return from_bytes(filled)

    return tf.TensorSpec([None], tf.string), make
