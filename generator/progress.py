"""Progress on stderr: a status line updated in place on a terminal, and a summary at the end."""

from __future__ import annotations

import time
from typing import TextIO


def rate(count: float, seconds: float) -> float:
    return count / seconds if seconds > 0 else 0.0


def human(n: float) -> str:
    """1234567 -> '1.23M': short enough for a status line."""
    for unit, size in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(n) >= size:
            return f"{n / size:.3g}{unit}"
    return f"{n:.3g}" if isinstance(n, float) and not n.is_integer() else f"{int(n)}"


class StatusLine:
    """One line rewritten in place (`\\r`) at most every `every` seconds, only on a terminal."""

    def __init__(self, stream: TextIO, enabled: bool, every: float = 0.2) -> None:
        self._stream = stream
        self._live = enabled and stream.isatty()
        self._every = every
        self._last = 0.0
        self._width = 0

    def show(self, text: str, force: bool = False) -> None:
        if not self._live:
            return
        now = time.monotonic()
        if not force and now - self._last < self._every:
            return
        self._last = now
        self._stream.write("\r" + text.ljust(self._width))
        self._width = len(text)
        self._stream.flush()

    def clear(self) -> None:
        if self._live and self._width:
            self._stream.write("\r" + " " * self._width + "\r")
            self._stream.flush()
            self._width = 0
