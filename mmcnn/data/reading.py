"""A path as a modality's `LabeledData`: a class-per-folder directory or a CSV manifest.

What `Classifier.read_data` (and so `mmcnn train --train PATH`) does: it picks the
modality's `from_directory` or `from_dataframe` by what the path is.
"""

import os


def read_data(classifier_class, path, class_names=None, on_error="skip", verbose=1, **kwargs):
    """`classifier_class.read_data(path, ...)`: see `Classifier.read_data`.

    `classifier_class` supplies the readers (`from_directory`, `from_dataframe`;
    None where the modality has none) and the names in the messages."""
    path = os.fspath(path)
    if os.path.isdir(path) and kwargs.get("multi_label"):
        raise ValueError(
            f"{path}: class folders cannot express multi-label data (an example in several "
            "folders is several examples); list the examples in a CSV manifest whose `label` "
            "cell holds their labels separated by ';' (or a `labels` column)"
        )
    if os.path.isdir(path):
        reader, what = classifier_class.from_directory, "class-per-folder directories"
    elif path.lower().endswith(".csv"):
        reader, what = classifier_class.from_dataframe, "CSV manifests"
    else:
        raise ValueError(f"{path}: expected a class-per-folder directory or a .csv manifest")
    if reader is None:
        raise ValueError(
            f"{path}: {classifier_class.__name__} ({classifier_class.modality}) does not read {what}"
        )
    return reader(path, class_names=class_names, on_error=on_error, verbose=verbose, **kwargs)
