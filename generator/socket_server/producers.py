"""What the server sends: the seed's rows to every client (broadcast), a stream of its own to
each client (each), or the lines of standard input. A producer runs until its rows are sent
(--count) or its input ends; the server's main loop bounds it (--duration, Ctrl-C)."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import threading
import time
from collections.abc import Callable

from generator.answers import WindowsKey, WordsKey
from generator.engine import Engine
from generator.lines import RowSource
from generator.socket_server.client import STALLED, Client, Clients
from generator.socket_server.config import SocketConfig


class Producer:
    """Sends rows to `clients` as `config` says. `truth`: the answer key of what was sent,
    when one is kept (--truth); `dirty` says it changed since it was last saved."""

    def __init__(self, config: SocketConfig, clients: Clients) -> None:
        self.config = config
        self.clients = clients
        self.truth: WindowsKey | WordsKey | None = None
        self.dirty = False

    async def run(self) -> None:
        raise NotImplementedError

    async def stream(self, source: RowSource, targets: Callable[[], list[Client]]) -> None:
        """Move rows from `source` to the clients `targets()` names, at the configured rate,
        until --count rows (per stream). Pauses while there is nobody to send to."""
        cfg, clients = self.config, self.clients
        sent = 0
        rate = cfg.rows_per_second
        while cfg.count is None or sent < cfg.count:
            if not targets():
                if cfg.fanout == "each":
                    return  # that client left
                await clients.present()
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
                elif not all(c.has_room for c in pacing(targets())):
                    clients.room.clear()  # as fast as the slowest client that reads
                    # (asyncio.timeout, not wait_for: on 3.11 wait_for can swallow the
                    # cancellation that stops the server when the event is set at that moment)
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(STALLED / 2):
                            await clients.room.wait()
                    continue
                data, lines = await source.take(want)
                clients.send(data, lines, targets())
                if isinstance(self.truth, WindowsKey):
                    self.truth.add_rows(source.last_times)
                    self.dirty = True
                elif isinstance(self.truth, WordsKey):
                    self.truth.add_lines(source.last_texts)
                    self.dirty = True
                sent += lines
                clients.rows += lines


def pacing(targets: list[Client]) -> list[Client]:
    """The clients --rate 0 waits for: those reading; when none is, all (a lone client that
    pauses is waited for, until --idle-timeout)."""
    return [c for c in targets if c.reading] or targets


class Broadcast(Producer):
    """One stream of rows, the same to every client from the moment it connects.

    Rows are made only while some client is connected: a query that restarts picks up where
    the previous one left off, and --count counts rows that someone received. The value pools
    are filled when it is made, before the server listens: --duration counts serving time, and
    the first client does not wait for Faker.
    """

    def __init__(self, config: SocketConfig, clients: Clients) -> None:
        super().__init__(config, clients)
        assert config.seed is not None
        self.source = RowSource(config.ds, config.seed, config.clock, config.format)
        if config.truth is not None and config.ds.text_column is not None:
            self.truth = WordsKey()  # a word count's key
        elif config.truth is not None:
            et = config.event_time
            self.truth = WindowsKey(et.truth_window, et.truth_watermark)

    async def run(self) -> None:
        try:
            await self.stream(self.source, lambda: list(self.clients.connected))
        finally:
            self.source.close()


class Each(Producer):
    """A stream of its own for every client, from the seed's first row; --count bounds each.

    The clients share one engine, made (value pools filled) before the server listens: a
    client that connects costs its own place in the sequence, not a new set of Faker pools
    built on the event loop while the others wait.
    """

    def __init__(self, config: SocketConfig, clients: Clients) -> None:
        super().__init__(config, clients)
        assert config.seed is not None
        self.engine = Engine(config.ds, config.seed, clock=config.clock)

    async def run(self) -> None:
        streams: set[asyncio.Task[None]] = set()
        seen: set[Client] = set()
        clients = self.clients
        while True:
            for client in [c for c in clients.connected if c not in seen]:
                seen.add(client)
                streams.add(asyncio.create_task(self._one(client)))
            streams = {s for s in streams if not s.done()}
            if self.config.count is not None and seen and not streams and not clients.connected:
                return  # every client had its rows and left
            clients.changed.clear()
            await clients.changed.wait()

    async def _one(self, client: Client) -> None:
        cfg = self.config
        assert cfg.seed is not None
        source = RowSource(cfg.ds, cfg.seed, cfg.clock, cfg.format, engine=self.engine)
        try:
            await self.stream(source, lambda: [] if client.gone.is_set() else [client])
            client.finish()
        finally:
            source.close()
            self.clients.changed.set()


class Stdin(Producer):
    """Lines typed or piped on standard input, to every client; held while none is there (the
    newest --max-queue of them), for the first client that comes."""

    def __init__(self, config: SocketConfig, clients: Clients, log: Callable[[str], None],
                 exiting: Callable[[], bool]) -> None:  # fmt: skip
        super().__init__(config, clients)
        self._log = log
        self._exiting = exiting

    async def run(self) -> None:
        cfg, clients = self.config, self.clients
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
        while cfg.count is None or clients.rows < cfg.count:
            raw = await lines.get()
            if raw is None:
                break
            line = raw if raw.endswith(b"\n") else raw + b"\n"
            if clients.connected:
                clients.send(memoryview(line), 1, list(clients.connected))
            else:
                if not clients.held:
                    self._log("no client connected: lines are held for the first client")
                clients.held.append(line)  # bounded: the oldest go first
            clients.rows += 1
        while clients.held and not self._exiting():
            # end of input with lines held: wait for someone to give them to
            clients.changed.clear()
            await clients.changed.wait()
