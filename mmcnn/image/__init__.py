"""Images: 2-D receptive fields over pixels."""

from mmcnn.image.image_adapter import ImageAdapter
from mmcnn.image.image_augmentation import ImageAugmentation, augmentation_pipeline
from mmcnn.image.image_classifier import ImageClassifier
from mmcnn.image.image_converter import ImageConverter, load_image_file
from mmcnn.image.image_data import from_arrays, from_dataframe, from_directory
from mmcnn.image.image_files import ImageError, validate_image_file

__all__ = [
    "ImageAdapter",
    "ImageAugmentation",
    "ImageClassifier",
    "ImageConverter",
    "ImageError",
    "augmentation_pipeline",
    "from_arrays",
    "from_dataframe",
    "from_directory",
    "load_image_file",
    "validate_image_file",
]
