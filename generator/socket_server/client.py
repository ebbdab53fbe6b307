"""One connection and the set of them: each client has a bounded queue of line slices and a task
that writes them out; a client whose queue would overflow (it reads slower than rows are made)
is disconnected and counted, so it never stalls the others."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable

WRITE_SLICE = 256 * 1024  # bytes handed to a transport at a time: bounds its buffer per client
# a client with lines waiting that takes none for this long is not reading: at --rate 0 it no
# longer paces the others, and its queue fills until it is dropped as too slow (a client that
# connects and never reads swallows megabytes into the kernel's buffers first: it looks fast).
# A client that reads takes bytes every few milliseconds (its transport's buffer shrinks); one
# that pauses longer is only left behind, and dropped only if its queue overflows.
STALLED = 0.1


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
        self.closing = False  # finishing (sending what is queued, then closing) or dropped
        self.dropped = False  # disconnected as too slow or idle (counted once)
        self.gone = asyncio.Event()
        self._took_at = time.monotonic()  # when it last took lines (or had none waiting)
        self._buffered = 0  # bytes in its transport's buffer when last looked at

    def offer(self, data: memoryview, lines: int) -> bool:
        """Queue `lines` lines; False when the queue would overflow (the client is too slow)."""
        if self.queued + lines > self.max_queue:
            return False
        if not self._queue:
            self._took_at = time.monotonic()  # nothing was waiting for it
        self._queue.append((data, lines))
        self.queued += lines
        self._wakeup.set()
        return True

    @property
    def has_room(self) -> bool:
        return self.queued <= self.max_queue // 2

    @property
    def waiting(self) -> float:
        """Seconds its lines have waited without it taking any (0: it has none waiting). A
        client that takes bytes slowly is taking them: its transport's buffer shrinks."""
        if not self._queue:
            return 0.0
        buffered = self.writer.transport.get_write_buffer_size()
        if buffered < self._buffered:
            self._took_at = time.monotonic()
        self._buffered = buffered
        return time.monotonic() - self._took_at

    @property
    def reading(self) -> bool:
        """It took lines within STALLED seconds, or has none waiting."""
        return self.waiting < STALLED

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
                    self._took_at = time.monotonic()
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


class Clients:
    """The connected clients, and what producers wait on: someone there (`changed`), room in
    a queue (`room`). `send` hands a slice to clients and drops the ones that cannot take it."""

    def __init__(self, max_queue: int, log: Callable[[str], None]) -> None:
        self.max_queue = max_queue
        self.connected: set[Client] = set()
        self.served = 0  # connections accepted
        self.dropped = 0  # clients disconnected for being too slow
        self.rows = 0  # rows made (broadcast, stdin) or sent to all clients together (each)
        self.room = asyncio.Event()  # some client can take more (rate 0 paces on it)
        self.changed = asyncio.Event()  # a client came or went, or the server should exit
        self.held: deque[bytes] = deque(maxlen=max_queue)  # --stdin, nobody connected
        self._log = log

    def __len__(self) -> int:
        return len(self.connected)

    def add(self, writer: asyncio.StreamWriter) -> Client:
        self.served += 1
        client = Client(self.served, writer, self.max_queue, self.room)
        self.connected.add(client)
        self._log(f"client {client.peer} connected ({len(self)} connected)")
        if self.held:
            # lines typed while nobody was connected go to the first client, as with `nc -l`
            self.send(memoryview(b"".join(self.held)), len(self.held), [client])
            self.held.clear()
        self.poke()
        return client

    def remove(self, client: Client) -> None:
        self.connected.discard(client)
        self.poke()

    def poke(self) -> None:
        """Wake whatever waits on a client coming, going, or making room."""
        self.changed.set()
        self.room.set()

    def drop_idle(self, after: float) -> None:
        """Disconnect the clients that took none of their waiting lines for `after` seconds
        (with --fanout each, each holds a queue of its own: idle ones would hold memory)."""
        for client in list(self.connected):
            if not client.dropped and not client.gone.is_set() and client.waiting >= after:
                self.drop(client, f"idle: took nothing for {client.waiting:.0f}s")

    def send(self, data: memoryview, lines: int, to: list[Client]) -> None:
        for client in to:
            if client.closing or client.gone.is_set():
                continue
            if not client.offer(data, lines):
                self.drop(client, f"too slow: {client.queued} lines queued")

    def drop(self, client: Client, why: str) -> None:
        """Disconnect a client that cannot keep up or takes nothing, and count it."""
        client.closing = client.dropped = True
        self.dropped += 1
        self._log(f"client {client.peer} {why}; disconnected")
        client.abort()

    async def present(self) -> None:
        """Until some client is connected."""
        while not self.connected:
            self.changed.clear()
            await self.changed.wait()


async def discard_input(reader: asyncio.StreamReader, client: Client) -> None:
    """Read and drop whatever a client sends, to notice at once when it hangs up."""
    try:
        while await reader.read(65536):
            pass
    except (ConnectionError, OSError):
        pass
    if not client.closing:
        client.abort()
