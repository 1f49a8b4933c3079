"""`image_size="auto"` and `channels="auto"`: the model's input decided from the training pictures.

`survey_pictures` reads the size and colour mode of up to `SURVEY_LIMIT` pictures
(file headers through PIL, without decoding the pixels; the shapes of arrays);
`choose_input` turns that into `(image_size, channels)` within the preset's
`input_budget`, with the reason; `stem_stride` is how much the stem strides for
a size, so that the stages work on a map of about the preset's base size
whatever the picture's size (the multiply-adds per example stay within
`SLACK` times the base's).

A preset's `input_budget`: `pixels`, the input area its stages were built for
(32x32), and `max_stem_stride`: larger pictures are shrunk to at most
`pixels * max_stem_stride**2` (128x128 for a stride of 4).
"""

import collections
import os

import numpy as np

AUTO = "auto"
# A model built before any data (`ImageClassifier(num_classes=...).model`): the size and channels
# that were the defaults before "auto".
FALLBACK_SIZE = (32, 32)
FALLBACK_CHANNELS = 3
DEFAULT_BUDGET = {"pixels": 32 * 32, "max_stem_stride": 4}
# Pictures read per survey: enough for the mode and median of sizes, cheap on a folder of 100,000.
SURVEY_LIMIT = 2000
# The stem strides once the stages would see more than this times the budget's area.
SLACK = 1.25
# PIL modes without colour; a palette ("P") picture counts as grey when its palette is.
GREY_MODES = frozenset({"1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"})
# EXIF orientations that turn the picture by 90 degrees (decode_image applies them).
_TURNED = frozenset({5, 6, 7, 8})


def survey_pictures(data, limit=SURVEY_LIMIT):
    """`(sizes, grey)` of up to `limit` pictures of `data`, spread evenly over it.

    `sizes`: a list of `(height, width)` as the decoder will see them (EXIF
    turns applied); `grey`: whether every sampled picture is grey (a grey PIL
    mode, a grey palette, one channel, or colour channels that are all equal).
    Files that cannot be opened are left out (the data's own checks report them).

    Example:
    >>> import numpy as np
    >>> from mmcnn.image.image_data import from_arrays
    >>> survey_pictures(from_arrays(np.zeros((5, 28, 20), "uint8"), [0, 1, 0, 1, 0]))
    ([(28, 20), (28, 20), (28, 20), (28, 20), (28, 20)], True)
    """
    n = len(data.inputs)
    picks = np.unique(np.linspace(0, n - 1, min(n, limit)).round().astype(int)) if n else []
    if data.kind == "files":
        found = [_file_header(data.inputs[i]) for i in picks]
        found = [f for f in found if f is not None]
        return [size for size, _ in found], bool(found) and all(grey for _, grey in found)
    if data.kind != "arrays":
        raise ValueError(f"ImageClassifier reads image files or arrays; received {data.kind!r} data")
    images = [np.asarray(data.inputs[i]) for i in picks]
    images = [image[..., None] if image.ndim == 2 else image for image in images]
    return [tuple(int(d) for d in image.shape[:2]) for image in images], all(_grey_array(i) for i in images)


def _grey_array(image):
    if image.shape[-1] < 3:
        return True
    return bool(np.array_equal(image[..., 0], image[..., 1]) and np.array_equal(image[..., 0], image[..., 2]))


def _file_header(path):
    from PIL import Image

    try:
        with Image.open(os.fspath(path)) as picture:
            width, height = picture.size
            mode = picture.mode
            grey = mode in GREY_MODES
            if mode == "P":
                palette = np.asarray(picture.getpalette() or [], "int32")
                grey = palette.size > 0 and bool(
                    np.all(palette[0::3] == palette[1::3]) and np.all(palette[0::3] == palette[2::3])
                )
            turned = picture.format == "JPEG" and picture.getexif().get(0x0112) in _TURNED
    except Exception:  # noqa: BLE001 - any unreadable header: left out of the survey
        return None
    return ((width, height) if turned else (height, width)), grey


def size_divisor(preset):
    """How many pixels one cell of the preset's last feature map covers per side at stem stride 1:
    the product of the stem's pooling and each stage's pooling and strides (4 for `compact`)."""
    divisor = 2 if preset.get("stem_pooling") else 1
    for stage in preset.get("stages") or ():
        divisor *= 2 if stage.get("pooling") else 1
        strides = stage.get("strides", 1)
        divisor *= strides if isinstance(strides, int) else int(strides[0])
    return divisor


def stem_stride(image_size, budget=None):
    """The stem's stride for pictures of `image_size` under a preset's `input_budget`: the
    smallest stride (1 .. `max_stem_stride`) that leaves the stages at most `SLACK` times the
    budget's pixels.

    Example:
    >>> [stem_stride(s) for s in [(28, 28), (32, 32), (64, 64), (96, 96), (128, 128), (512, 512)]]
    [1, 1, 2, 3, 4, 4]
    """
    budget = budget or DEFAULT_BUDGET
    pixels = int(image_size[0]) * int(image_size[1])
    for stride in range(1, budget["max_stem_stride"] + 1):
        if pixels / stride**2 <= SLACK * budget["pixels"]:
            return stride
    return budget["max_stem_stride"]


def stem_kernel_size(stride):
    """The stem's window for a stride: 3, or the odd size just above a stride of 4, so that the
    windows still cover every pixel."""
    return 3 if stride <= 3 else stride + 1 + stride % 2


def choose_size(sizes, preset):
    """`(image_size, reason)`: the size most sampled pictures have (when at least half have it) or
    the median height and width, capped by the preset's `input_budget` (aspect kept) and rounded to
    a multiple of what the preset and its stem stride divide (at least two cells a side)."""
    budget = preset.get("input_budget") or DEFAULT_BUDGET
    if not sizes:
        return FALLBACK_SIZE, "no picture could be read: the fallback"
    ((common, count),) = collections.Counter(sizes).most_common(1)
    if count * 2 >= len(sizes):
        height, width = common
        reason = f"{count} of {len(sizes)} sampled pictures are {height}x{width}"
    else:
        height, width = (float(np.median([s[axis] for s in sizes])) for axis in (0, 1))
        reason = f"the median of {len(sizes)} sampled pictures is {height:g}x{width:g}"
    most = budget["pixels"] * budget["max_stem_stride"] ** 2
    capped = height * width > most
    if capped:
        shrink = (most / (height * width)) ** 0.5
        height, width = height * shrink, width * shrink
        reason += f"; shrunk to the preset's budget of {most:,} pixels"
    step = size_divisor(preset) * stem_stride((height, width), budget)
    round_ = np.floor if capped else np.round
    size = tuple(int(max(2 * step, round_(side / step) * step)) for side in (height, width))
    if size != (round(height), round(width)):
        reason += f"; rounded to a multiple of {step}"
    return size, reason


def choose_input(data, preset, image_size=AUTO, channels=AUTO, limit=SURVEY_LIMIT):
    """`(image_size, channels, record)` for an ImageClassifier about to train on `data`.

    Only the arguments that are `"auto"` are decided; `record` says what was chosen and why
    (`ImageClassifier.input_used`).

    Example:
    >>> import numpy as np
    >>> from mmcnn.image.image_data import from_arrays
    >>> data = from_arrays(np.zeros((4, 28, 28), "uint8"), [0, 1, 0, 1])
    >>> size, channels, record = choose_input(data, {"stem_pooling": "max", "stages": [{"pooling": "max"}]})
    >>> size, channels, record["stem_stride"]
    ((28, 28), 1, 1)
    """
    sizes, grey = survey_pictures(data, limit)
    record = {"sampled": len(sizes)}
    if image_size == AUTO:
        image_size, record["image_size_reason"] = choose_size(sizes, preset)
    else:
        record["image_size_reason"] = "given"
    if channels == AUTO:
        channels = 1 if sizes and grey else 3
        record["channels_reason"] = (
            f"every one of {len(sizes)} sampled pictures is grey" if channels == 1 else "colour pictures"
        )
    else:
        record["channels_reason"] = "given"
    budget = preset.get("input_budget") or DEFAULT_BUDGET
    record.update(image_size=list(image_size), channels=channels, stem_stride=stem_stride(image_size, budget))
    return tuple(image_size), channels, record
