"""Realistic, reproducible data for Spark Structured Streaming: files and sockets, no JVM needed."""

from __future__ import annotations

from generator.datasets import DATASETS, PERSON, RETAIL, get_dataset
from generator.errors import UsageError
from generator.spec import Column, Dataset

__all__ = ["DATASETS", "PERSON", "RETAIL", "Column", "Dataset", "UsageError", "get_dataset"]
