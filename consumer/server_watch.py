"""Notice when the server behind a Spark socket stream goes away.

Spark's socket source reads on the driver; when the server closes the connection it logs a
warning, stops reading and never reconnects, while the query runs on with nothing to read. On
Linux the driver JVM's own TCP connection to host:port shows it: ESTABLISHED while the server is
there, CLOSE_WAIT (or gone) once the server has closed it.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

_ESTABLISHED, _CLOSE_WAIT = "01", "08"


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    return inodes


def _addresses(host: str, port: int) -> set[tuple[str, int]]:
    found = set()
    for family, _, _, _, addr in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM):
        if family in (socket.AF_INET, socket.AF_INET6):
            found.add((str(addr[0]), port))
    return found


def _decode(hex_addr: str) -> tuple[str, int]:
    ip_hex, port_hex = hex_addr.split(":")
    raw = bytes.fromhex(ip_hex)
    if len(raw) == 4:
        ip = socket.inet_ntop(socket.AF_INET, raw[::-1])
    else:  # four little-endian 32-bit words
        words = b"".join(raw[i : i + 4][::-1] for i in range(0, 16, 4))
        ip = socket.inet_ntop(socket.AF_INET6, words)
        if ip.startswith("::ffff:"):
            ip = ip[7:]
    return ip, int(port_hex, 16)


class ServerWatch:
    """`state()`: 'connected', 'closed' (the server went away) or 'unknown' (cannot tell)."""

    def __init__(self, jvm_pid: int, host: str, port: int) -> None:
        self._pid = jvm_pid
        self._peers = _addresses(host, port)
        self.seen_connected = False
        self.can_tell = Path(f"/proc/{jvm_pid}/fd").is_dir() and Path("/proc/net/tcp").exists()

    def state(self) -> str:
        try:
            inodes = _socket_inodes(self._pid)
            states = []
            for table in ("/proc/net/tcp", "/proc/net/tcp6"):
                with open(table) as f:
                    next(f)
                    for line in f:
                        cols = line.split()
                        if cols[9] in inodes and _decode(cols[2]) in self._peers:
                            states.append(cols[3])
        except OSError:
            return "unknown"
        if _ESTABLISHED in states:
            self.seen_connected = True
            return "connected"
        if self.seen_connected:
            return "closed"  # CLOSE_WAIT: the server hung up; no entry: the connection is gone
        return "unknown"
