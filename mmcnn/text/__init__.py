"""Text: 1-D receptive fields over windows of consecutive tokens."""

from mmcnn.text.text_adapter import TokenWindowAdapter
from mmcnn.text.text_classifier import TextClassifier
from mmcnn.text.text_converter import TextTokenizer
from mmcnn.text.text_data import from_arrays, from_dataframe, from_directory, read_text_file
from mmcnn.text.text_ids import PythonTokenizer
from mmcnn.text.text_subwords import TokenCharGramBag
from mmcnn.text.text_wide import WideTokenWindowAdapter

__all__ = [
    "PythonTokenizer",
    "TextClassifier",
    "TextTokenizer",
    "TokenCharGramBag",
    "TokenWindowAdapter",
    "WideTokenWindowAdapter",
    "from_arrays",
    "from_dataframe",
    "from_directory",
    "read_text_file",
]
