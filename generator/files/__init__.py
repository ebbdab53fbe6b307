"""`python -m generator files DIR`: the config (`config.py`), drawing ahead (`maker.py`) and the
landing loop (`loop.py`)."""

from __future__ import annotations

from generator.files.config import FilesConfig, FilesSummary
from generator.files.loop import run

__all__ = ["FilesConfig", "FilesSummary", "run"]
