"""Waiting for what a consumer needs before Spark can read: a folder, a server."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TextIO, TypeVar

from tenacity import (
    RetryCallState,
    retry_if_exception_type,
    stop_after_delay,
    stop_never,
    wait_exponential,
)
from tenacity import Retrying as _Retrying

from consumer.errors import StreamFailed

T = TypeVar("T")


def _retrying(until: type[Exception], first: float, longest: float, timeout: float | None,
              say: Callable[[RetryCallState], None]) -> _Retrying:  # fmt: skip
    """Try again while `until` is raised, waiting `first` s, doubling up to `longest` s, for
    `timeout` s at most (None: for ever); `say` before each wait."""
    return _Retrying(
        retry=retry_if_exception_type(until),
        wait=wait_exponential(multiplier=first, max=longest),
        stop=stop_never if timeout is None else stop_after_delay(timeout),
        before_sleep=say,
        reraise=True,
    )


def is_local(path: str) -> bool:
    """A path on this machine's file system (no scheme, or file://)."""
    return "://" not in path or path.startswith("file://")


def wait_for_folder(folder: str, err: TextIO | None = None, timeout: float | None = None) -> None:
    """Return once `folder` exists (a line while waiting); local paths only."""
    err = err if err is not None else sys.stderr
    if not is_local(folder):
        return
    path = Path(folder.removeprefix("file://"))

    def check() -> None:
        if not path.is_dir():
            raise FileNotFoundError(folder)

    def say(state: RetryCallState) -> None:
        if state.attempt_number == 1:
            print(
                f"consumer: waiting for folder {folder} to appear "
                f"(python -m generator files {folder} makes it)",
                file=err,
                flush=True,
            )

    try:
        _retrying(FileNotFoundError, 0.2, 2.0, timeout, say)(check)
    except FileNotFoundError:
        raise StreamFailed(f"folder {folder} did not appear within {timeout:g}s") from None


class NotListening(Exception):
    """Nothing listens on the host and port a socket stream names (yet)."""


def retry_until_listening(
    attempt: Callable[[], T],
    host: str,
    port: int,
    connect_timeout: float,
    err: TextIO | None = None,
) -> T:
    """Call `attempt` until it stops raising NotListening; backoff, a line each try.

    Spark's socket source connects once, when the query starts, and the query dies on
    "Connection refused": each attempt starts the query again, with no probe connection of our
    own (a broadcast server would send its first rows to the probe and Spark would miss them).
    """
    err = err if err is not None else sys.stderr

    def say(state: RetryCallState) -> None:
        wait = state.next_action.sleep if state.next_action else 0
        print(
            f"consumer: no server on {host}:{port} yet (connection refused); "
            f"try {state.attempt_number}, next in {wait:.1f}s "
            f"(start: python -m generator socket {port})",
            file=err,
            flush=True,
        )

    try:
        return _retrying(NotListening, 0.25, 5.0, connect_timeout, say)(attempt)
    except NotListening:
        raise StreamFailed(
            f"no server on {host}:{port} after {connect_timeout:g}s: "
            f"start `python -m generator socket {port}` first"
        ) from None
