"""`generator socket --fanout each`: what do new clients cost the ones already there? Starts the
server (a real process, loopback), connects a steady reader, and prints

- the longest gap the reader sees between two reads while nobody connects (the baseline), and
  while --clients more connect one after another (each reading a few lines, then leaving);
- the server's resident memory with the reader alone, and with --idle clients connected that
  never read.

    python scripts/bench_socket_each.py [--dataset person] [--clients 10] [--idle 50]
"""

from __future__ import annotations

import argparse
import itertools
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"VmRSS:\s+(\d+) kB", status)
    assert match is not None
    return int(match.group(1)) / 1024


def settled(pid: int, most: float = 60.0) -> float:
    """The resident memory once it has stopped growing (every client's stream has started)."""
    deadline, last = time.monotonic() + most, rss_mb(pid)
    while time.monotonic() < deadline:
        time.sleep(2.0)
        now = rss_mb(pid)
        if abs(now - last) < 0.01 * last:
            return now
        last = now
    return last


class Reader(threading.Thread):
    """Reads for ever; `longest(since)` is the longest gap between reads after `since`."""

    def __init__(self, port: int) -> None:
        super().__init__(daemon=True)
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.stamps: list[float] = []
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set() and self.sock.recv(1 << 16):
            self.stamps.append(time.monotonic())

    def longest(self, since: float, until: float) -> float:
        times = [t for t in self.stamps if since <= t <= until]
        return max((b - a for a, b in itertools.pairwise(times)), default=0.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="person")
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--idle", type=int, default=50)
    parser.add_argument("--rate", type=float, default=2000.0)
    args = parser.parse_args()
    server = subprocess.Popen(
        [sys.executable, "-m", "generator", "socket", "0", "--fanout", "each", "--dataset",
         args.dataset, "--rate", str(args.rate), "--seed", "1"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    try:
        assert server.stdout is not None
        port = 0
        while not port:
            line = server.stdout.readline()
            found = re.search(r"127\.0\.0\.1:(\d+)", line)
            if found:
                port = int(found.group(1))
            assert line, "the server ended before it listened"
        threading.Thread(target=server.stdout.read, daemon=True).start()  # keep the pipe empty
        reader = Reader(port)
        reader.start()
        time.sleep(2.0)
        calm_from = time.monotonic()
        time.sleep(3.0)
        calm = reader.longest(calm_from, time.monotonic())
        busy_from = time.monotonic()
        for _ in range(args.clients):
            with socket.create_connection(("127.0.0.1", port)) as other:
                other.recv(1 << 12)  # its first lines: the stream it was given has started
        time.sleep(0.5)
        busy = reader.longest(busy_from, time.monotonic())
        alone = rss_mb(server.pid)
        idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(args.idle)]
        crowded = settled(server.pid)
        print(f"{args.dataset}, --fanout each at {args.rate:g} rows/s: longest gap a steady "
              f"reader sees: {calm * 1000:.0f} ms with nobody connecting, "
              f"{busy * 1000:.0f} ms while {args.clients} clients connect")  # fmt: skip
        print(
            f"server memory: {alone:.0f} MB with the reader alone, {crowded:.0f} MB with "
            f"{args.idle} idle clients too ({(crowded - alone) / args.idle:.2f} MB each)"
        )
        for s in idle:
            s.close()
        reader.stop.set()
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
