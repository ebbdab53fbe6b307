"""`python -m generator socket PORT`: serve rows over TCP to any number of Spark socket streams.

Spark's socket source is a TCP client, one connection per query. `nc -lk` serves one connection
at a time; this server serves many: the same rows to every client (broadcast) or a stream of its
own to each. Kept apart as uvicorn keeps them: the config (`config.py`), the server's lifecycle
(`server.py`), one connection and the set of them (`client.py`), and what is sent
(`producers.py`).
"""

from __future__ import annotations

from generator.socket_server.config import Fanout, SocketConfig
from generator.socket_server.server import EXIT_FORCED, Server

__all__ = ["EXIT_FORCED", "Fanout", "Server", "SocketConfig"]
