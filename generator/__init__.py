"""Realistic, reproducible data for Spark Structured Streaming: files and sockets, no JVM needed.

The names below are imported when first used (PEP 562): `import generator.x` stays cheap, and
no built-in spec file is parsed until a data set is asked for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from generator.datasets import DATASETS, PERSON, RETAIL, get_dataset
    from generator.errors import UsageError
    from generator.spec import Column, Dataset

__all__ = ["DATASETS", "PERSON", "RETAIL", "Column", "Dataset", "UsageError", "get_dataset"]

_HOMES = {"DATASETS": "datasets", "PERSON": "datasets", "RETAIL": "datasets",
          "get_dataset": "datasets", "UsageError": "errors", "Column": "spec",
          "Dataset": "spec"}  # fmt: skip


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"generator.{_HOMES[name]}"), name)
