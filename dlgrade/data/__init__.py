"""Data layer: a registry of datasets, a search path, checksums, downloads and decoded-array caching."""

from dlgrade.data.registry import DATASETS, Dataset, Digest, Form
from dlgrade.data.resolve import DataResolver, Loaded, Located, cache_root, search_dirs

__all__ = ["DATASETS", "Dataset", "Digest", "Form", "DataResolver", "Loaded", "Located", "cache_root", "search_dirs"]
