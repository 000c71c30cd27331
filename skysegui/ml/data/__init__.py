"""Training data: the per-image cache, the image-level split, the crop sampler, the patch export."""

from skysegui.ml.data.cache import (
    CacheEntry,
    DatasetCache,
    LabelledSource,
    array_sources,
    build_cache,
    open_cache,
    project_cache,
    project_sources,
    to_network_input,
)
from skysegui.ml.data.export_patches import ExportSummary, export_patches, report_dataset_bytes
from skysegui.ml.data.sampler import CropSampler, SamplerConfig, validation_crops
from skysegui.ml.data.split import split_by_image, split_indices

__all__ = [
    "CacheEntry", "DatasetCache", "LabelledSource", "array_sources", "build_cache", "open_cache",
    "project_cache", "project_sources", "to_network_input", "ExportSummary", "export_patches",
    "report_dataset_bytes", "CropSampler", "SamplerConfig", "validation_crops",
    "split_by_image", "split_indices",
]
