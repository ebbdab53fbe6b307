"""Spark Structured Streaming consumers: the seed notes' programs, corrected (a later issue)."""

from __future__ import annotations
