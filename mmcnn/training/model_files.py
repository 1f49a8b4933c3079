"""Model files that would run code when loaded are refused before Keras reads them."""

import json
import os
import zipfile


class UnsafeModelError(ValueError):
    """A model file whose configuration names code; the message names the file and the entry."""


# Modules a saved mmcnn model may name; anything else would be code from the file.
_ALLOWED_MODULE_PREFIXES = (
    "keras.layers",
    "keras.src.layers",
    "keras.models",
    "keras.src.models",
    "keras.optimizers",
    "keras.src.optimizers",
    "keras.losses",
    "keras.src.losses",
    "keras.metrics",
    "keras.src.metrics",
    "keras.initializers",
    "keras.src.initializers",
    "keras.regularizers",
    "keras.src.regularizers",
    "keras.constraints",
    "keras.src.constraints",
    "keras.activations",
    "keras.src.activations",
    "keras.src.dtype_policies",
    "keras.dtype_policies",
    "keras.src.ops",
    "keras.ops",
    "keras.src.backend",
    "keras.random",
    "keras.src.random",
    "keras.src.saving.serialization_lib",
    "mmcnn.",
)
_ALLOWED_MODULES = ("keras", "builtins", "numpy")
_CODE_CLASS_NAMES = ("Lambda", "TFOpLambda", "__lambda__", "__function__")


def _read_config(path):
    try:
        with zipfile.ZipFile(path) as archive:
            return json.loads(archive.read("config.json"))
    except (zipfile.BadZipFile, KeyError, OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"{path}: not a readable .keras file ({type(error).__name__}: {error})") from None


def keras_file_metadata(path):
    """The mmcnn metadata (modality, class names, ...) of a `.keras` file, read without loading it.

    `{}` for a Keras model that is not an mmcnn classifier."""
    config = _read_config(os.fspath(path))
    metadata = (config.get("config") or {}).get("metadata") if isinstance(config, dict) else None
    return metadata if isinstance(metadata, dict) else {}


def check_keras_file(path, allowed=()):
    """Refuses a `.keras` archive whose configuration would run code from the file.

    Reads `config.json` from the zip without deserializing anything and
    rejects a `Lambda` layer or function, and any object whose `module` is
    outside Keras's modelling modules and mmcnn (e.g. `os`, `subprocess`,
    `keras.config`, `keras.utils`). Keras's safe mode (on by default, never
    turned off by mmcnn) refuses these as well; this check runs first and
    names the file and the entry.

    Args:
        path: the `.keras` file.
        allowed: registered names (`"package>Class"`, as
            `keras.saving.get_custom_objects()` lists them) of classes that
            are already imported in this process: an object with one of these
            names passes wherever its module is (a modality from another
            package registers its layers this way).

    Raises:
        UnsafeModelError: naming the file and the offending entry.
        ValueError: when the file is not a readable `.keras` archive.
    """
    path = os.fspath(path)
    config = _read_config(path)
    allowed = set(allowed)
    problems = []

    def visit(node, where):
        if isinstance(node, dict):
            name, module = node.get("class_name"), node.get("module")
            if isinstance(name, str) and name in _CODE_CLASS_NAMES:
                problems.append(f"{where}: {name} (Python code in the file)")
            if (
                isinstance(module, str)
                and not (module in _ALLOWED_MODULES or module.startswith(_ALLOWED_MODULE_PREFIXES))
                and node.get("registered_name") not in allowed
            ):
                problems.append(f"{where}: {module}.{name}")
            for key, value in node.items():
                visit(value, f"{where}/{key}" if where else key)
        elif isinstance(node, list):
            for i, value in enumerate(node):
                visit(value, f"{where}[{i}]")

    visit(config, "")
    if problems:
        shown = "; ".join(problems[:5]) + (f"; ... {len(problems) - 5} more" if len(problems) > 5 else "")
        raise UnsafeModelError(
            f"{path}: refusing to load: its config names code, not layers: {shown}. "
            "mmcnn models have no Lambda layers; load only model files you trust"
        )


def save_model_atomic(model, path):
    """Saves a Keras model to `path` (`.keras`) all or nothing.

    The file is written beside `path` under a temporary name, flushed to disk,
    then renamed over `path`: a write that fails part-way (a full disk, a
    killed process) leaves the previous file as it was and no partial file.

    Raises:
        OSError: naming `path` and the cause; the previous file is unchanged.
    """
    import uuid

    path = os.fspath(path)
    parent, base = os.path.split(os.path.abspath(path))
    os.makedirs(parent, exist_ok=True)
    tmp = os.path.join(parent, f".{base}.tmp-{uuid.uuid4().hex[:8]}.keras")
    try:
        model.save(tmp)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as error:
        if os.path.exists(tmp):
            os.remove(tmp)
        if isinstance(error, OSError):
            kept = "the previous file is unchanged" if os.path.exists(path) else "nothing was written"
            raise OSError(
                error.errno, f"could not write {path} ({error.strerror or error}); {kept}"
            ) from error
        raise
