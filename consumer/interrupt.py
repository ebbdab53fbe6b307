"""Ctrl-C as a terminal sends it, while Spark runs: the first asks the run to stop cleanly, the
second ends the process at once.

PySpark's own SIGINT handler calls into the JVM (`cancelAllJobs`) from inside the signal
handler. When Ctrl-C arrives while the main thread waits in a py4j call (a query's
`awaitTermination`, which is where a consumer spends its time), that second call re-enters the
py4j connection: four tracebacks (`reentrant call`, `Py4JError`, `KeyboardInterrupt`) before the
run stops. This handler never calls the JVM. Inside a py4j call it only records the request,
which the run's wait loop (`consumer.output.await_all`) sees within half a second; anywhere
else it raises `KeyboardInterrupt` as Python's default handler would.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

from generator.errors import EXIT_INTERRUPTED

_pressed = threading.Event()  # Ctrl-C was pressed once: the next one ends the process
_requested = threading.Event()  # ... inside a py4j call: the run's wait loop is to stop


def take() -> bool:
    """Ctrl-C was pressed while a py4j call waited: the caller stops the run (the request is
    then spent)."""
    if _requested.is_set():
        _requested.clear()
        return True
    return False


def _inside_py4j(frame: FrameType | None) -> bool:
    while frame is not None:
        if str(frame.f_globals.get("__name__", "")).startswith("py4j"):
            return True
        frame = frame.f_back
    return False


def children() -> set[int]:
    """The processes this one started (Linux's /proc; elsewhere none are known)."""
    mine = str(os.getpid())
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError):
            if stat.read_text().rsplit(")", 1)[1].split()[1] == mine:
                found.add(int(stat.parent.name))
    return found


def end_children(before: set[int]) -> None:
    """End the processes started since `before` was taken: Ctrl-C while PySpark launched the
    JVM leaves it running on its own (it ends with its parent only once its gateway is up)."""
    for pid in children() - before:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)


def _kill_the_jvm() -> None:
    context = sys.modules.get("pyspark.core.context")
    gateway = getattr(getattr(context, "SparkContext", None), "_gateway", None)
    proc = getattr(gateway, "proc", None)
    if proc is not None:
        with contextlib.suppress(OSError, subprocess.TimeoutExpired):
            proc.kill()
            proc.wait(5)


def _handler(signum: int, frame: FrameType | None) -> None:
    if _pressed.is_set():
        # the second Ctrl-C: no clean stop, no traceback, now; the JVM too (left to end with
        # its parent, it would log the queries it cuts short)
        os.write(2, b"consumer: interrupted again: exiting now\n")
        # nothing after that line: a Python thread talking to the JVM would print its loss
        os.dup2(os.open(os.devnull, os.O_WRONLY), 2)
        _kill_the_jvm()
        os._exit(EXIT_INTERRUPTED)
    _pressed.set()
    if _inside_py4j(frame):
        _requested.set()
    else:
        raise KeyboardInterrupt


@contextlib.contextmanager
def kept() -> Iterator[None]:
    """While the block runs, this module's handler stays: creating a SparkContext installs
    PySpark's own, and the session's start makes py4j calls after it that Ctrl-C may catch."""
    install = signal.signal

    def refuse_sigint(signum: int, handler: object) -> object:
        # another Python handler for SIGINT is refused; SIG_IGN passes (PySpark's JVM is
        # started ignoring SIGINT: Ctrl-C reaches this process, which stops it)
        if signum == signal.SIGINT and callable(handler) and handler is not _handler:
            return signal.getsignal(signum)
        return install(signum, handler)  # type: ignore[arg-type]

    signal.signal = refuse_sigint  # type: ignore[assignment]
    try:
        yield
    finally:
        signal.signal = install


@contextlib.contextmanager
def handled() -> Iterator[None]:
    """Ctrl-C handled as above while the block runs (from the main thread; elsewhere, as is)."""
    if (threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGINT) is signal.SIG_IGN):  # fmt: skip
        yield  # started with Ctrl-C ignored (a background job): it stays ignored
        return
    before = signal.signal(signal.SIGINT, _handler)
    _pressed.clear()
    _requested.clear()
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, before if before is not None else signal.SIG_DFL)
        _pressed.clear()
        _requested.clear()
