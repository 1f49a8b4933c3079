"""Multi-modal data and models: tables whose columns are pictures, sounds, texts, numbers and categories.

`read_table` reads a table and says what each column holds; `from_dataframe`
makes it `TableData`; `TableClassifier` trains one model over its columns,
each through its modality's encoder, joined by `mmcnn.layers.Fusion`. Above
`mmcnn.models`: it asks the modality registry for each column's encoder.
"""

from mmcnn.multimodal.attribution import column_ablation, column_attribution
from mmcnn.multimodal.columns import column_encoder, input_name
from mmcnn.multimodal.table_classifier import TableClassifier
from mmcnn.multimodal.table_data import TableData, from_dataframe, from_table
from mmcnn.multimodal.tables import Table, column_kinds, read_table

__all__ = [
    "Table",
    "TableClassifier",
    "TableData",
    "column_ablation",
    "column_attribution",
    "column_encoder",
    "column_kinds",
    "from_dataframe",
    "from_table",
    "input_name",
    "read_table",
]
