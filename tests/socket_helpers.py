"""Real loopback clients and a server run in a thread that always shuts down."""

from __future__ import annotations

import io
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace

from generator import PERSON
from generator.engine import Engine
from generator.formats import csv_body
from generator.socket_server import Server, SocketConfig
from generator.spec import Dataset


def free_port() -> int:
    """A loopback port nobody listens on (for a server that is to start later)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def sequence(dataset: Dataset, seed: int, rows: int) -> list[bytes]:
    """The first `rows` rows of a seed's sequence as CSV lines, from the engine itself."""
    pieces = Engine(dataset, seed).pieces(0, rows)
    return b"".join(bytes(csv_body(p)) for p in pieces).split(b"\n")[:rows]


def wait_exit(server: Server, timeout: float = 10) -> int | None:
    """The server's exit code once `run()` has returned (None if it did not in time)."""
    deadline = time.monotonic() + timeout
    while server.exit_code is None and time.monotonic() < deadline:
        time.sleep(0.02)
    return server.exit_code


def config(**overrides: object) -> SocketConfig:
    base = SocketConfig(dataset=PERSON, seed=7, port=0, rate=0, quiet=True)
    return replace(base, **overrides)  # type: ignore[arg-type]


@contextmanager
def running(cfg: SocketConfig) -> Iterator[Server]:
    server = Server(cfg, out=io.StringIO(), err=io.StringIO())
    errors: list[BaseException] = []

    def serve() -> None:
        try:
            server.run()
        except BaseException as exc:  # surfaced in the test, with its traceback
            errors.append(exc)
            server.listening.set()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    assert server.listening.wait(10), "server did not start"
    if errors:
        raise errors[0]
    try:
        yield server
    finally:
        server.stop()
        thread.join(20)
        assert not thread.is_alive(), "server did not shut down"
        if errors:
            raise errors[0]


class LineClient:
    """A loopback TCP client that reads whole lines."""

    def __init__(self, port: int, rcvbuf: int | None = None) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf is not None:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.connect(("127.0.0.1", port))
        self.sock.settimeout(15)
        self._pending = b""
        self.closed_by_server = False

    def lines(self, n: int, timeout: float = 15) -> list[bytes]:
        out: list[bytes] = []
        deadline = time.monotonic() + timeout
        while len(out) < n:
            *whole, self._pending = self._pending.split(b"\n")
            out.extend(whole)
            if len(out) >= n:
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(out)} of {n} lines")
            data = self.sock.recv(1 << 20)
            if not data:
                self.closed_by_server = True
                break
            self._pending += data
        self._pending = b"\n".join(out[n:]) + (b"\n" if out[n:] else b"") + self._pending
        return out[:n]

    def rest(self, timeout: float = 15) -> list[bytes]:
        """Every line until the server closes the connection."""
        self.sock.settimeout(timeout)
        chunks = [self._pending]
        while data := self.sock.recv(1 << 20):
            chunks.append(data)
        self.closed_by_server = True
        self._pending = b""
        return b"".join(chunks).split(b"\n")[:-1]

    def close(self) -> None:
        self.sock.close()
