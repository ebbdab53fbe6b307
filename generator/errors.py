"""Errors a user can cause: caught once at the top of `main()`, printed as one line, exit code 2."""

from __future__ import annotations


class UsageError(Exception):
    """Bad input: an option, a path or a declaration that cannot work. Printed as one line."""


class LandingFailed(Exception):
    """A file could not be landed (disk full, a size limit, permissions): one line, exit 1."""


EXIT_INTERRUPTED = 130  # Ctrl-C while starting up, as shells report it
EXIT_USAGE = 2
EXIT_FAILED = 1
