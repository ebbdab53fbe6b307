"""A real PostgreSQL server for the tests and the upsert benchmark: a cluster made with
`initdb` in a temporary folder, listening on 127.0.0.1 at a free port, stopped and removed when
done. PostgreSQL refuses to run as root: as root, its commands run as the `postgres` user that
Debian's package makes (`make test` installs the package with apt where it runs as root)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def bin_dir() -> Path | None:
    """Where PostgreSQL's server programs are (Debian keeps them off PATH), or None."""
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"),
                      key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit()
                      else 0)  # fmt: skip
    if versions:
        return versions[-1].parent
    found = shutil.which("initdb")
    return Path(found).parent if found else None


def missing() -> str | None:
    """Why no server can be started here, or None."""
    if bin_dir() is None:
        return "no PostgreSQL server (sudo apt-get install postgresql)"
    if os.geteuid() == 0:
        try:
            import pwd

            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root, and no postgres user to run PostgreSQL as"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def server(durable: bool = False) -> Iterator[str]:
    """A running server: its URL (user postgres, no password, database postgres). Not
    `durable`: commits not waited for on disk (a test's server; a benchmark's is durable)."""
    binaries = bin_dir()
    assert binaries is not None, missing()
    home = Path(tempfile.mkdtemp(prefix="stream-lab-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(home, "postgres", "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    port = _free_port()
    data = home / "data"

    def run(*cmd: str) -> None:
        subprocess.run([*as_user, *cmd], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, cwd=home)  # fmt: skip

    try:
        run(str(binaries / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
            "-E", "UTF8", "--no-sync")  # fmt: skip
        options = f"-c listen_addresses=127.0.0.1 -p {port} -k {home}"
        if not durable:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        run(str(binaries / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(home / "log"),
            "-w", "start")  # fmt: skip
        try:
            yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
        finally:
            run(str(binaries / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop")
    finally:
        shutil.rmtree(home, ignore_errors=True)
