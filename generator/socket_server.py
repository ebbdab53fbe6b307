"""`python -m generator socket PORT`: serve rows over TCP to any number of Spark socket streams.

Spark's socket source is a TCP client, one connection per query. `nc -lk` serves one connection
at a time; this server serves many: the same rows to every client (broadcast) or a stream of its
own to each. Shape after uvicorn: `Server(config).run()` -> startup, main loop, shutdown; the first
Ctrl-C drains, the second exits at once. Each client has a bounded queue of lines; a client whose
queue fills up (it reads slower than rows are made) is disconnected, and counted, so it never
stalls the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import ipaddress
import secrets
import signal
import socket
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, TextIO

from generator.answers import WindowsKey
from generator.clock import Clock, EventTime
from generator.datasets import standalone
from generator.errors import UsageError
from generator.formats import FORMATS
from generator.lines import RowSource
from generator.options import (
    held,
    non_negative_float,
    non_negative_int,
    one_of,
    port_number,
    positive_float,
    positive_int,
)
from generator.progress import StatusLine, human, rate
from generator.spec import Dataset

Fanout = Literal["broadcast", "each"]
WRITE_SLICE = 256 * 1024  # bytes handed to a transport at a time: bounds its buffer per client
EXIT_FORCED = 130  # second Ctrl-C: the shell's code for "ended by SIGINT"
TRUTH_EVERY = 1.0  # seconds between saves of --truth FILE while serving


@dataclass(frozen=True)
class SocketConfig:
    """Everything `generator socket` does, checked when built: the CLI only fills it in."""

    dataset: Dataset | str = "person"  # a built-in name, a spec file, or a declaration
    seed: int | None = None  # None: random
    port: int = 9999
    host: str = "127.0.0.1"
    fanout: Fanout = "broadcast"
    rate: float | None = None  # rows per second per stream (default 5); 0: as fast as read
    count: int | None = None  # rows per stream, then close
    duration: float | None = None  # seconds, then close
    stdin: bool = False  # forward standard input instead of generated rows
    max_queue: int = 1_000_000  # lines queued for one client before it is disconnected
    grace: float = 5.0  # seconds to flush queues at shutdown
    quiet: bool = False
    format: str = "csv"  # or "json": JSON lines
    truth: Path | None = None  # event-time data sets: write the ground truth of what was sent here
    event_time: EventTime = field(default_factory=EventTime)
    clock: Clock | None = field(init=False, default=None)  # derived: event-time data sets

    def __post_init__(self) -> None:
        dataset = standalone(self.dataset, "the socket server")
        object.__setattr__(self, "dataset", dataset)
        if self.seed is None:
            object.__setattr__(self, "seed", secrets.randbelow(2**31))
        held("--seed", non_negative_int, self.seed)
        held("PORT", port_number, self.port)
        held("--fanout", one_of("broadcast", "each"), self.fanout)
        held("--format", one_of(*FORMATS), self.format)
        held("--count", positive_int, self.count)
        held("--max-queue", positive_int, self.max_queue)
        held("--duration", positive_float, self.duration)
        if self.count is not None and self.duration is not None:
            raise UsageError("--count and --duration both bound the run: give one of them")
        held("--rate", non_negative_float, self.rate)
        if self.stdin and self.fanout == "each":
            raise UsageError("--stdin sends the same lines to every client: drop --fanout each")
        if self.stdin and self.rate is not None:
            raise UsageError("--stdin forwards lines as they come: drop --rate")
        if self.truth is not None:
            if self.fanout == "each" or self.stdin:
                raise UsageError(
                    "--truth follows the one broadcast stream: not with --fanout each or --stdin"
                )
            if dataset.event_time_column is None:
                raise UsageError(
                    f"--truth is for data sets with an event-time column, not {dataset.name!r}"
                )
            if Path(self.truth).is_dir():
                raise UsageError(f"--truth names a file, and {self.truth} is a folder")
        self.event_time.check_for(dataset)
        if dataset.event_time_column is not None:
            if self.rows_per_second == 0 and not self.stdin:
                raise UsageError(
                    f"--rate 0 sends as fast as clients read, which gives {dataset.name}'s event "
                    "time no pace: give --rate ROWS_PER_SECOND"
                )
            object.__setattr__(self, "clock", self.event_time.clock(self.rows_per_second))

    @property
    def ds(self) -> Dataset:
        assert isinstance(self.dataset, Dataset)
        return self.dataset

    @property
    def rows_per_second(self) -> float:
        return 5.0 if self.rate is None else self.rate

    @property
    def chunk_lines(self) -> int:
        # a slice of the stream handed to clients at once: small enough to fit many in a queue
        return max(1, min(8192, self.max_queue // 8))


class Client:
    """One connection: a bounded queue of line slices and a task that writes them out."""

    def __init__(
        self, number: int, writer: asyncio.StreamWriter, max_queue: int, room: asyncio.Event
    ) -> None:
        self.number = number
        self.writer = writer
        peer = writer.get_extra_info("peername")
        self.peer = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer)
        self.max_queue = max_queue
        self._queue: deque[tuple[memoryview, int]] = deque()
        self.queued = 0  # lines in the queue, the slice being written included
        self.sent = 0  # lines handed to the kernel
        self._wakeup = asyncio.Event()
        self._room = room  # set when this client can take more (rate 0 paces on it)
        self.closing = False
        self.gone = asyncio.Event()

    def offer(self, data: memoryview, lines: int) -> bool:
        """Queue `lines` lines; False when the queue would overflow (the client is too slow)."""
        if self.queued + lines > self.max_queue:
            return False
        self._queue.append((data, lines))
        self.queued += lines
        self._wakeup.set()
        return True

    @property
    def has_room(self) -> bool:
        return self.queued <= self.max_queue // 2

    def finish(self) -> None:
        """Send what is queued, then close."""
        self.closing = True
        self._wakeup.set()

    async def pump(self) -> None:
        try:
            while True:
                if not self._queue:
                    if self.closing:
                        break
                    self._wakeup.clear()
                    await self._wakeup.wait()
                    continue
                data, lines = self._queue[0]
                for start in range(0, len(data), WRITE_SLICE):
                    self.writer.write(data[start : start + WRITE_SLICE])
                    await self.writer.drain()
                self._queue.popleft()
                self.queued -= lines
                self.sent += lines
                if self.has_room:
                    self._room.set()
            self.writer.close()
            await self.writer.wait_closed()
        except (ConnectionError, OSError):
            pass  # the client went away: nothing to do but forget it
        finally:
            self._queue.clear()
            self.queued = 0
            self.writer.transport.abort()
            self.gone.set()

    def abort(self) -> None:
        self.writer.transport.abort()


class Server:
    def __init__(
        self, config: SocketConfig, out: TextIO | None = None, err: TextIO | None = None
    ) -> None:
        self.config = config
        self.out = out if out is not None else sys.stdout
        self.err = err if err is not None else sys.stderr
        self.should_exit = False
        self.force_exit = False
        self.clients: set[Client] = set()
        self.port = 0
        self.rows = 0  # rows made (broadcast, stdin) or sent to all clients together (each)
        self.dropped = 0  # clients disconnected for being too slow
        self.served = 0  # connections accepted
        self._server: asyncio.Server | None = None
        self._status = StatusLine(self.err, enabled=not config.quiet)
        self._room = asyncio.Event()
        self._changed = asyncio.Event()  # a client came or went, or the server should exit
        self._forced = asyncio.Event()  # a second Ctrl-C: do not wait for anything
        self._held: deque[bytes] = deque(maxlen=config.max_queue)  # --stdin, nobody connected
        self._tasks: set[asyncio.Task[None]] = set()
        self._started = 0.0
        self._source: RowSource | None = None  # the broadcast's rows, ready before listening
        self._loop: asyncio.AbstractEventLoop | None = None
        self.listening = threading.Event()  # set once the port is bound (for other threads)
        self.exit_code: int | None = None
        self._truth: WindowsKey | None = None
        self._truth_dirty = False

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
        if not cfg.stdin and cfg.fanout == "broadcast":
            # value pools are filled before the port opens: --duration counts serving time,
            # and the first client does not wait for Faker
            assert cfg.seed is not None
            self._source = RowSource(cfg.ds, cfg.seed, cfg.clock, cfg.format)
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
        ticker = asyncio.create_task(self._tick())
        try:
            if cfg.stdin:
                work = self._forward_stdin()
            elif cfg.fanout == "broadcast":
                work = self._broadcast()
            else:
                work = self._serve_each()
            producer = asyncio.create_task(work)
            deadline = None if cfg.duration is None else self._started + cfg.duration
            while not producer.done() and not self.should_exit:
                timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
                if timeout == 0.0:
                    break
                self._changed.clear()
                changed = asyncio.create_task(self._changed.wait())
                await asyncio.wait(
                    {producer, changed}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
                )
                changed.cancel()
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
        for client in self.clients:
            client.finish()
        if self.clients and not self.force_exit:
            # flush queues for the grace period, unless a second Ctrl-C says not to wait
            clients = list(self.clients)

            async def all_gone() -> None:
                await asyncio.gather(*(c.gone.wait() for c in clients))

            async def forced() -> None:
                await self._forced.wait()

            waits = {asyncio.create_task(all_gone()), asyncio.create_task(forced())}
            await asyncio.wait(waits, timeout=self.config.grace, return_when="FIRST_COMPLETED")
            for wait in waits:
                wait.cancel()
        for client in list(self.clients):
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
                f"{'stopped' if self.should_exit else 'done'}: {self.rows} rows in {seconds:.1f}s"
                f" ({human(rate(self.rows, seconds))} rows/s), {self.served} clients served, "
                f"{self.dropped} dropped as too slow"
            )

    def handle_exit(self) -> None:
        if self.should_exit:
            self.force_exit = True
            self._forced.set()
            for client in list(self.clients):
                client.abort()
        self.should_exit = True
        self._changed.set()

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
        self.served += 1
        client = Client(self.served, writer, self.config.max_queue, self._room)
        self.clients.add(client)
        self._log(f"client {client.peer} connected ({len(self.clients)} connected)")
        if self._held:
            # lines typed while nobody was connected go to the first client, as with `nc -l`
            self._send(memoryview(b"".join(self._held)), len(self._held), [client])
            self._held.clear()
        self._changed.set()
        self._room.set()
        pump = asyncio.create_task(client.pump())
        self._tasks.add(pump)
        discard = asyncio.create_task(_discard_input(reader, client))
        self._tasks.add(discard)
        try:
            await client.gone.wait()
        finally:
            discard.cancel()
            self._tasks.discard(pump)
            self._tasks.discard(discard)
            self.clients.discard(client)
            self._changed.set()
            self._room.set()
            if not self.should_exit:
                self._log(f"client {client.peer} left ({len(self.clients)} connected)")

    def _send(self, data: memoryview, lines: int, to: list[Client]) -> None:
        for client in to:
            if client.closing or client.gone.is_set():
                continue
            if not client.offer(data, lines):
                client.closing = True
                self.dropped += 1
                self._log(
                    f"client {client.peer} too slow: {client.queued} lines queued; disconnected"
                )
                client.abort()

    async def _clients_present(self) -> None:
        while not self.clients:
            self._changed.clear()
            await self._changed.wait()

    # --- producers ----------------------------------------------------------------------------

    async def _broadcast(self) -> None:
        """One stream of rows, the same to every client from the moment it connects.

        Rows are made only while some client is connected: a query that restarts picks up where
        the previous one left off, and --count counts rows that someone received.
        """
        cfg = self.config
        source = self._source
        assert source is not None
        if cfg.truth is not None:
            self._truth = WindowsKey(cfg.event_time.truth_window, cfg.event_time.truth_watermark)
        try:
            await self._stream(source, lambda: list(self.clients))
        finally:
            source.close()

    async def _serve_each(self) -> None:
        """A stream of its own for every client; --count bounds each stream."""
        streams: set[asyncio.Task[None]] = set()
        seen: set[Client] = set()
        while True:
            for client in [c for c in self.clients if c not in seen]:
                seen.add(client)
                streams.add(asyncio.create_task(self._one_stream(client)))
            streams = {s for s in streams if not s.done()}
            if self.config.count is not None and seen and not streams and not self.clients:
                return  # every client had its rows and left
            self._changed.clear()
            await self._changed.wait()

    async def _one_stream(self, client: Client) -> None:
        cfg = self.config
        # the seed's sequence from its first row, at this client's own pace
        assert cfg.seed is not None
        source = RowSource(cfg.ds, cfg.seed, cfg.clock, cfg.format)
        try:
            await self._stream(source, lambda: [] if client.gone.is_set() else [client])
            client.finish()
        finally:
            source.close()
            self._changed.set()

    async def _stream(self, source: RowSource, targets: Callable[[], list[Client]]) -> None:
        """Move rows from `source` to the clients `targets()` names, at the configured rate,
        until --count rows (per stream). Pauses while there is nobody to send to."""
        cfg = self.config
        sent = 0
        rate = cfg.rows_per_second
        while cfg.count is None or sent < cfg.count:
            if not targets():
                if cfg.fanout == "each":
                    return  # that client left
                await self._clients_present()
                continue
            # the rate clock starts (again) when someone is there: no burst to catch up
            clock, base = time.monotonic(), sent
            while targets() and (cfg.count is None or sent < cfg.count):
                want = (
                    cfg.chunk_lines if cfg.count is None else min(cfg.chunk_lines, cfg.count - sent)
                )
                if rate > 0:
                    due = base + int((time.monotonic() - clock) * rate) + 1
                    if due <= sent:
                        next_at = clock + (sent - base) / rate
                        await asyncio.sleep(min(0.1, max(0.0, next_at - time.monotonic())))
                        continue
                    want = min(want, due - sent)
                elif not any(c.has_room for c in targets()):
                    self._room.clear()  # as fast as the fastest client reads
                    await self._room.wait()
                    continue
                data, lines = await source.take(want)
                self._send(data, lines, targets())
                if self._truth is not None:
                    self._truth.add_rows(source.last_times)
                    self._truth_dirty = True
                sent += lines
                self.rows += lines

    async def _forward_stdin(self) -> None:
        """Lines typed or piped on standard input, to every client; held while none is there."""
        cfg = self.config
        loop = asyncio.get_running_loop()
        lines: asyncio.Queue[bytes | None] = asyncio.Queue()

        def read() -> None:
            try:
                for raw in sys.stdin.buffer:
                    loop.call_soon_threadsafe(lines.put_nowait, raw)
            except (OSError, ValueError):
                pass
            finally:
                with contextlib.suppress(RuntimeError):  # the loop may be closed already
                    loop.call_soon_threadsafe(lines.put_nowait, None)

        threading.Thread(target=read, name="stdin", daemon=True).start()
        while cfg.count is None or self.rows < cfg.count:
            raw = await lines.get()
            if raw is None:
                break
            line = raw if raw.endswith(b"\n") else raw + b"\n"
            if self.clients:
                self._send(memoryview(line), 1, list(self.clients))
            else:
                if not self._held:
                    self._log("no client connected: lines are held for the first client")
                self._held.append(line)  # bounded: the oldest go first
            self.rows += 1
        while self._held and not self.should_exit:
            # end of input with lines held: wait for someone to give them to
            self._changed.clear()
            await self._changed.wait()

    # --- output -------------------------------------------------------------------------------

    async def _tick(self) -> None:
        saved = time.monotonic()
        while True:
            await asyncio.sleep(0.2)
            if self._truth_dirty and time.monotonic() - saved >= TRUTH_EVERY:
                self._save_truth()
                saved = time.monotonic()
            seconds = time.monotonic() - self._started
            self._status.show(
                f"clients {len(self.clients)} · rows {human(self.rows)} · "
                f"{human(rate(self.rows, seconds))} rows/s · too slow {self.dropped} · "
                f"{seconds:.0f}s"
            )

    def _save_truth(self) -> None:
        """The ground truth of what was sent, rewritten whole: once a second and at shutdown,
        not per row (an fsync per row would hold up the event loop)."""
        if self._truth is not None and self.config.truth is not None:
            self._truth.save(self.config.truth.parent, self.config.truth.name)
            self._truth_dirty = False

    def _log(self, message: str) -> None:
        if self.config.quiet and not message.startswith("warning"):
            return
        self._status.clear()
        print(f"generator: {message}", file=self.err, flush=True)


async def _discard_input(reader: asyncio.StreamReader, client: Client) -> None:
    """Read and drop whatever a client sends, to notice at once when it hangs up."""
    try:
        while await reader.read(65536):
            pass
    except (ConnectionError, OSError):
        pass
    if not client.closing:
        client.abort()


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
