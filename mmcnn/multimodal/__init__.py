"""Multi-modal data and models: tables whose columns are pictures, sounds, texts, numbers and categories.

Above `mmcnn.models` (it asks the modality registry what each modality reads); so far the table
reader, `read_table`. The fusion layer is `mmcnn.layers.Fusion`.
"""

from mmcnn.multimodal.tables import Table, column_kinds, read_table

__all__ = ["Table", "column_kinds", "read_table"]
