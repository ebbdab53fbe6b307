from __future__ import annotations

from generator.cli import entry

raise SystemExit(entry())
