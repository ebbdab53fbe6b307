"""Spark Structured Streaming consumers: the notes' programs, corrected, reading what the
generator makes. Schemas come from the generator's data-set declarations."""

from __future__ import annotations

from consumer.output import OutputConfig
from consumer.session import SessionConfig, build_session, split_value, struct_type

__all__ = ["OutputConfig", "SessionConfig", "build_session", "split_value", "struct_type"]
