"""Consumer errors: bad input (exit 2, before Spark starts), streams that cannot go on (1)."""

from __future__ import annotations

from generator.errors import EXIT_USAGE, UsageError

EXIT_FAILED = 1


class StreamFailed(Exception):
    """A stream that cannot go on: no server came up, or the server went away. Exit 1."""


class ServerGone(StreamFailed):
    """The server behind a socket stream closed the connection: Spark never reconnects."""


__all__ = ["EXIT_FAILED", "EXIT_USAGE", "ServerGone", "StreamFailed", "UsageError"]
