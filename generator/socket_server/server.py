"""`python -m generator socket PORT`: the server's lifecycle, after uvicorn: `Server(config).run()`
-> startup (the producer made, the port bound), main loop (until the producer is done, the
duration is up or Ctrl-C), shutdown (queues flushed for a grace period, the truth saved). The
first Ctrl-C drains, the second exits at once."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import ipaddress
import signal
import socket
import sys
import threading
import time
from typing import TextIO

from generator.errors import UsageError
from generator.progress import StatusLine, human, rate
from generator.socket_server.client import Clients, discard_input
from generator.socket_server.config import SocketConfig
from generator.socket_server.producers import Broadcast, Each, Producer, Stdin

EXIT_FORCED = 130  # second Ctrl-C: the shell's code for "ended by SIGINT"
TRUTH_EVERY = 1.0  # seconds between saves of --truth FILE while serving


class Server:
    def __init__(
        self, config: SocketConfig, out: TextIO | None = None, err: TextIO | None = None
    ) -> None:
        self.config = config
        self.out = out if out is not None else sys.stdout
        self.err = err if err is not None else sys.stderr
        self.should_exit = False
        self.force_exit = False
        self.clients = Clients(config.max_queue, self._log)
        self.port = 0
        self._server: asyncio.Server | None = None
        self._status = StatusLine(self.err, enabled=not config.quiet)
        self._forced = asyncio.Event()  # a second Ctrl-C: do not wait for anything
        self._tasks: set[asyncio.Task[None]] = set()
        self._started = 0.0
        self._producer: Producer | None = None  # made before listening
        self._loop: asyncio.AbstractEventLoop | None = None
        self.listening = threading.Event()  # set once the port is bound (for other threads)
        self.exit_code: int | None = None

    @property
    def served(self) -> int:
        """Connections accepted."""
        return self.clients.served

    # --- lifecycle ----------------------------------------------------------------------------

    def run(self) -> int:
        """Serve until the run is bounded out, input ends, or Ctrl-C / SIGTERM; the exit code."""
        self.exit_code = asyncio.run(self.serve())
        return self.exit_code

    async def serve(self) -> int:
        loop = asyncio.get_running_loop()
        installed = self._install_signal_handlers(loop)
        try:
            await self.startup()
            await self.main_loop()
            await self.shutdown()
        finally:
            for sig in installed:
                loop.remove_signal_handler(sig)
        return EXIT_FORCED if self.force_exit else 0

    async def startup(self) -> None:
        cfg = self.config
        if cfg.stdin:
            self._producer = Stdin(cfg, self.clients, self._log, lambda: self.should_exit)
        elif cfg.fanout == "broadcast":
            self._producer = Broadcast(cfg, self.clients)
        else:
            self._producer = Each(cfg, self.clients)
        try:
            self._server = await asyncio.start_server(
                self._on_connect, cfg.host, cfg.port, reuse_address=True, limit=2**16
            )
        except OSError as exc:
            raise UsageError(f"cannot listen on {cfg.host}:{cfg.port}: {_reason(exc)}") from None
        sock = self._server.sockets[0]
        self.port = sock.getsockname()[1]
        self._started = time.monotonic()
        self._loop = asyncio.get_running_loop()
        self.listening.set()
        # the first line of output, always: scripts read the real port from it
        print(f"listening on {_display_host(cfg.host)}:{self.port}", file=self.out, flush=True)
        if not _is_loopback(cfg.host):
            self._log(f"warning: listening on {cfg.host}: other machines can connect")
        if not cfg.quiet:
            what = "standard input" if cfg.stdin else f"{cfg.ds.name} rows (seed {cfg.seed})"
            pace = "as fast as clients read" if cfg.rate == 0 else f"{cfg.rows_per_second:g} rows/s"
            pace = "as typed" if cfg.stdin else pace
            self._log(f"serving {what}, {pace}, fanout {cfg.fanout}")

    async def main_loop(self) -> None:
        cfg = self.config
        changed = self.clients.changed
        ticker = asyncio.create_task(self._tick())
        try:
            assert self._producer is not None
            producer = asyncio.create_task(self._producer.run())
            deadline = None if cfg.duration is None else self._started + cfg.duration
            while not producer.done() and not self.should_exit:
                timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
                if timeout == 0.0:
                    break
                changed.clear()
                waiting = asyncio.create_task(changed.wait())
                await asyncio.wait(
                    {producer, waiting}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
                )
                waiting.cancel()
            if not producer.done():
                producer.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await producer
            else:
                producer.result()  # a bug in the producer keeps its traceback
        finally:
            ticker.cancel()

    async def shutdown(self) -> None:
        if self._server is not None:
            self._server.close()  # stop accepting
        for client in self.clients.connected:
            client.finish()
        if self.clients.connected and not self.force_exit:
            # flush queues for the grace period, unless a second Ctrl-C says not to wait
            clients = list(self.clients.connected)

            async def all_gone() -> None:
                await asyncio.gather(*(c.gone.wait() for c in clients))

            async def forced() -> None:
                await self._forced.wait()

            waits = {asyncio.create_task(all_gone()), asyncio.create_task(forced())}
            await asyncio.wait(waits, timeout=self.config.grace, return_when="FIRST_COMPLETED")
            for wait in waits:
                wait.cancel()
        for client in list(self.clients.connected):
            client.abort()
        for task in list(self._tasks):
            task.cancel()
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), timeout=1.0)
        self._save_truth()
        self._status.clear()
        if not self.config.quiet:
            seconds = time.monotonic() - self._started
            self._log(
                f"{'stopped' if self.should_exit else 'done'}: {self.clients.rows} rows in "
                f"{seconds:.1f}s ({human(rate(self.clients.rows, seconds))} rows/s), "
                f"{self.served} clients served, {self.clients.dropped} dropped (too slow or idle)"
            )

    def handle_exit(self) -> None:
        if self.should_exit:
            self.force_exit = True
            self._forced.set()
            for client in list(self.clients.connected):
                client.abort()
        self.should_exit = True
        self.clients.changed.set()

    def stop(self) -> None:
        """Ask a server running in another thread to shut down, as Ctrl-C does."""
        if self._loop is not None:
            with contextlib.suppress(RuntimeError):  # it has ended already: its loop is closed
                self._loop.call_soon_threadsafe(self.handle_exit)

    def _install_signal_handlers(self, loop: asyncio.AbstractEventLoop) -> list[int]:
        if threading.current_thread() is not threading.main_thread():
            return []
        installed: list[int] = []
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self.handle_exit)
            installed.append(sig)
        return installed

    # --- clients ------------------------------------------------------------------------------

    async def _on_connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.should_exit:
            writer.transport.abort()
            return
        client = self.clients.add(writer)
        pump = asyncio.create_task(client.pump())
        self._tasks.add(pump)
        discard = asyncio.create_task(discard_input(reader, client))
        self._tasks.add(discard)
        try:
            await client.gone.wait()
        finally:
            discard.cancel()
            self._tasks.discard(pump)
            self._tasks.discard(discard)
            self.clients.remove(client)
            if not self.should_exit:
                self._log(f"client {client.peer} left ({len(self.clients)} connected)")

    # --- output -------------------------------------------------------------------------------

    async def _tick(self) -> None:
        saved = time.monotonic()
        while True:
            await asyncio.sleep(0.2)
            self.clients.drop_idle(self.config.idle_timeout)
            if (
                self._producer is not None
                and self._producer.dirty
                and (time.monotonic() - saved >= TRUTH_EVERY)
            ):
                self._save_truth()
                saved = time.monotonic()
            seconds = time.monotonic() - self._started
            self._status.show(
                f"clients {len(self.clients)} · rows {human(self.clients.rows)} · "
                f"{human(rate(self.clients.rows, seconds))} rows/s · "
                f"dropped {self.clients.dropped} · "
                f"{seconds:.0f}s"
            )

    def _save_truth(self) -> None:
        """The ground truth of what was sent, rewritten whole: once a second and at shutdown,
        not per row (an fsync per row would hold up the event loop)."""
        producer = self._producer
        if producer is not None and producer.truth is not None and self.config.truth is not None:
            producer.truth.save(self.config.truth.parent, self.config.truth.name)
            producer.dirty = False

    def _log(self, message: str) -> None:
        if self.config.quiet and not message.startswith("warning"):
            return
        self._status.clear()
        print(f"generator: {message}", file=self.err, flush=True)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _display_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _reason(exc: OSError) -> str:
    if exc.errno == errno.EADDRINUSE:
        return "address already in use (another server, or a `nc -lk` still running?)"
    if isinstance(exc, socket.gaierror) or exc.errno == errno.EADDRNOTAVAIL:
        return "no such address on this machine"
    return exc.strerror or str(exc)
