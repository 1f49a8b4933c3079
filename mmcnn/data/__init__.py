"""Labelled data shared by every modality: folders, manifests, arrays.

`from_directory`, `from_dataframe` and `from_arrays` of each modality return a
`LabeledData`. Problems are found before training starts and named by file or
manifest row; bad items are skipped and counted (`on_error="skip"`, the
default) or stop with a `DataError` (`on_error="raise"`).

The modules: `container` (`LabeledData`), `policy` (`on_error`, `DataError`,
the per-item check), `labels` (class names, multi-label cells, whitespace),
`folders` (class-per-folder directories), `manifests` (CSV and DataFrame
manifests) and `reading` (a path as either, for `Classifier.read_data`).
Tables of several modalities are read by `mmcnn.multimodal.read_table`.
"""

from mmcnn.data.container import LabeledData, labeled_data
from mmcnn.data.folders import FolderScan, directory_class_names, scan_class_folders, scan_directory
from mmcnn.data.labels import (
    LABEL_SEPARATOR,
    MULTI_LABEL_COLUMN,
    array_labels,
    check_multi_label,
    clean_label,
    is_multi_label,
    label_arrays,
    labels_to_ids,
    resolve_class_names,
    split_label_cell,
    warn_case_collisions,
)
from mmcnn.data.manifests import (
    LabeledManifest,
    ManifestRows,
    check_encoding,
    load_manifest,
    manifest_name,
    read_csv_text,
    read_labeled_manifest,
    read_manifest,
)
from mmcnn.data.policy import (
    EMPTY_CLASSES,
    ON_ERROR,
    DataError,
    check_each,
    check_empty_classes,
    check_on_error,
    report_bad,
)
from mmcnn.data.reading import read_data

__all__ = [
    "EMPTY_CLASSES",
    "LABEL_SEPARATOR",
    "MULTI_LABEL_COLUMN",
    "ON_ERROR",
    "DataError",
    "FolderScan",
    "LabeledData",
    "LabeledManifest",
    "ManifestRows",
    "array_labels",
    "check_each",
    "check_empty_classes",
    "check_encoding",
    "check_multi_label",
    "check_on_error",
    "clean_label",
    "directory_class_names",
    "is_multi_label",
    "label_arrays",
    "labeled_data",
    "labels_to_ids",
    "load_manifest",
    "manifest_name",
    "read_csv_text",
    "read_labeled_manifest",
    "read_data",
    "read_manifest",
    "report_bad",
    "resolve_class_names",
    "scan_class_folders",
    "scan_directory",
    "split_label_cell",
    "warn_case_collisions",
]
