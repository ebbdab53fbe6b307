"""What one client receives from `generator socket`, beside a plain loopback socket, in one run.

    python scripts/bench_socket.py [--seconds 5] [--rate 1000] [--rate-seconds 10]

1. `python -m generator socket 0 --rate 0` (as fast as the client reads): lines/s and MB/s.
2. The ceiling: a plain loopback socket doing `sendall` of pre-encoded lines of the same data set,
   read by the same client code.
3. `--rate 1000` for 10 s: the rate achieved, and how far it is from the one asked for.
The server and the plain sender run as processes of their own; the client reads in this one.
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

PLAIN_SENDER = """
import socket, sys
sys.path.insert(0, sys.argv[1])
from generator import PERSON
from generator.engine import Engine
from generator.formats import csv_body
block = b"".join(bytes(csv_body(p)) for p in Engine(PERSON, 1).pieces(0, 1_000_000))  # encoded once
listener = socket.create_server(("127.0.0.1", 0))
print(listener.getsockname()[1], flush=True)
conn, _ = listener.accept()
try:
    while True:
        conn.sendall(block)
except OSError:
    pass
"""


def receive(port: int, seconds: float, warmup: float = 0.5) -> tuple[int, int, float]:
    """Read from port for `seconds` after a warm-up; return lines, bytes, seconds measured."""
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    buf = bytearray(4 << 20)
    view = memoryview(buf)
    arr = np.frombuffer(buf, dtype=np.uint8)
    lines = size = 0
    start = time.perf_counter()
    measuring_from = start + warmup
    measuring = False
    try:
        while True:
            now = time.perf_counter()
            if not measuring and now >= measuring_from:
                measuring, lines, size, start = True, 0, 0, now
            if measuring and now - start >= seconds:
                break
            n = sock.recv_into(view)
            if n == 0:
                break
            size += n
            lines += int(np.count_nonzero(arr[:n] == 0x0A))
    finally:
        sock.close()
    return lines, size, time.perf_counter() - start


def start(cmd: list[str]) -> tuple[subprocess.Popen[str], int]:
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    first = proc.stdout.readline().strip()
    return proc, int(first.rsplit(":", 1)[-1].split()[-1])


def stop(proc: subprocess.Popen[str]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--rate-seconds", type=float, default=10.0)
    args = parser.parse_args()
    gen = [sys.executable, "-m", "generator", "socket", "0", "--quiet", "--seed", "1"]

    server, port = start([*gen, "--rate", "0"])
    try:
        lines, size, secs = receive(port, args.seconds)
    finally:
        stop(server)
    ours = (lines / secs, size / secs / 1e6)

    plain, port = start([sys.executable, "-c", PLAIN_SENDER, str(REPO)])
    try:
        lines, size, secs = receive(port, args.seconds)
    finally:
        stop(plain)
    ceiling = (lines / secs, size / secs / 1e6)

    server, port = start([*gen, "--rate", f"{args.rate:g}"])
    try:
        lines, _, secs = receive(port, args.rate_seconds, warmup=1.0)
    finally:
        stop(server)
    achieved = lines / secs

    print(f"one client, person rows, {args.seconds:g} s each:")
    print(f"  {'generator socket --rate 0':<34} {ours[0]:>12,.0f} lines/s {ours[1]:>8,.1f} MB/s")
    print(
        f"  {'plain socket, sendall (ceiling)':<34} {ceiling[0]:>12,.0f} lines/s "
        f"{ceiling[1]:>8,.1f} MB/s"
    )
    print(f"  {'share of the ceiling':<34} {ours[1] / ceiling[1]:>12.1%}")
    print(
        f"generator socket --rate {args.rate:g} over {args.rate_seconds:g} s: "
        f"{achieved:,.1f} lines/s ({(achieved - args.rate) / args.rate:+.2%} off)"
    )


if __name__ == "__main__":
    main()
