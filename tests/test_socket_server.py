from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from generator import PERSON, RETAIL
from generator.cli import main
from tests.conftest import REPO
from tests.socket_helpers import LineClient, config, running, sequence, wait_exit


def test_rows_are_csv_lines_of_the_data_set() -> None:
    with running(config(count=1000)) as server:
        client = LineClient(server.port)
        lines = client.rest()
    assert len(lines) == 1000
    # the seed's one sequence: the first rows are the ones `generator files --seed 7` lands
    assert lines == sequence(PERSON, 7, 1000)
    assert all(len(line.split(b",")) == 5 for line in lines)


def test_two_clients_broadcast_the_same_stream() -> None:
    with running(config(rate=2000)) as server:
        first = LineClient(server.port)
        head = first.lines(50)
        second = LineClient(server.port)
        theirs = second.lines(200)
        # the first client's stream, from the second client's first line on, is the same
        mine = first.lines(2000)
        start = mine.index(theirs[0])
        assert mine[start : start + 200] == theirs
        assert head[0] not in theirs
    first.close()
    second.close()


def test_each_gives_every_client_the_sequence_from_its_start() -> None:
    with running(config(fanout="each", rate=0)) as server:
        a = LineClient(server.port)
        first = a.lines(700)
        b = LineClient(server.port)  # later: its stream starts at row 0 all the same
        la, lb = first + a.lines(300), b.lines(1000)
    assert la == lb == sequence(PERSON, 7, 1000)
    a.close()
    b.close()


def test_count_per_client_in_each_mode_then_the_server_exits() -> None:
    with running(config(fanout="each", count=300)) as server:
        a, b = LineClient(server.port), LineClient(server.port)
        assert len(a.rest()) == 300
        assert len(b.rest()) == 300
        a.close()
        b.close()
        assert wait_exit(server) == 0


def test_count_closes_clients_cleanly_and_exits_0() -> None:
    with running(config(count=5000, rate=0)) as server:
        client = LineClient(server.port)
        lines = client.rest()
        assert wait_exit(server) == 0
    assert len(lines) == 5000
    assert client.closed_by_server


def test_duration_ends_the_run() -> None:
    with running(config(duration=0.5, rate=100)) as server:
        client = LineClient(server.port)
        lines = client.rest(timeout=10)
        assert wait_exit(server) == 0
    # the server ended the run by itself; rows start when the client is there, and 0.5 s at
    # 100 rows/s is 50 at most (a slow machine sends fewer)
    assert client.closed_by_server
    assert len(lines) <= 60


def test_rate_is_never_exceeded() -> None:
    # 200 rows at 200 rows/s take about a second, never much less; how close the server comes
    # to its rate is the benchmark's figure (scripts/bench_socket.py), not a test's
    with running(config(rate=200)) as server:
        client = LineClient(server.port)
        client.lines(1)
        start = time.monotonic()
        client.lines(200)
        seconds = time.monotonic() - start
    assert seconds > 0.6
    client.close()


def test_fractional_rate() -> None:
    with running(config(rate=4.0, count=3)) as server:
        client = LineClient(server.port)
        start = time.monotonic()
        lines = client.rest()
        seconds = time.monotonic() - start
    assert len(lines) == 3
    assert seconds > 0.3  # one line now, then one every 0.25 s: never faster


def test_clients_come_and_go_while_one_keeps_receiving() -> None:
    expected = sequence(PERSON, 7, 40_000)
    with running(config(rate=0)) as server:
        steady = LineClient(server.port)
        got = steady.lines(1000)
        for i in range(100):
            churn = socket.create_connection(("127.0.0.1", server.port))
            if i % 3 == 0:
                churn.recv(100)  # some read a little, mid-line
            if i % 2 == 0:
                churn.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
                )
            churn.close()  # some reset, some close
        got += steady.lines(30_000)
    # no gap, no reordering: the steady client's lines are the stream, in order
    assert got == expected[: len(got)]
    steady.close()


def test_a_slow_client_is_dropped_and_the_others_keep_going() -> None:
    with running(config(rate=0, max_queue=20_000, quiet=False)) as server:
        slow = LineClient(server.port, rcvbuf=4096)  # connects, never reads
        fast = LineClient(server.port)
        assert len(fast.lines(300_000, timeout=60)) == 300_000
        slow_port = slow.sock.getsockname()[1]
        log = server.err.getvalue()  # type: ignore[attr-defined]
        assert f"client 127.0.0.1:{slow_port} too slow: " in log
        fast_port = fast.sock.getsockname()[1]
        assert f"client 127.0.0.1:{fast_port} too slow" not in log
    slow.close()
    fast.close()


def test_at_rate_0_the_idle_client_is_the_slow_one() -> None:
    """Broadcast at --rate 0 with a client that connects and never reads (the kernel's default
    buffers: it swallows megabytes at once before it stops), beside one that reads all the
    time, while 500 clients connect and go: the idle one is dropped as too slow, the reader
    never, and the reader sees the stream whole, in order."""
    import threading

    with running(config(rate=0, max_queue=20_000, quiet=False)) as server:
        idle = LineClient(server.port)  # connects, never reads
        reader = socket.create_connection(("127.0.0.1", server.port))
        received = bytearray()
        closed = threading.Event()
        stop = threading.Event()

        def read() -> None:
            while not stop.is_set():
                chunk = reader.recv(1 << 20)
                if not chunk:
                    closed.set()
                    return
                received.extend(chunk)

        thread = threading.Thread(target=read)
        thread.start()
        try:
            for i in range(500):
                churn = socket.create_connection(("127.0.0.1", server.port))
                if i % 10 == 0:
                    churn.recv(100)  # some read a little, mid-line
                churn.close()
            deadline = time.monotonic() + 30
            while received.count(b"\n") < 300_000 and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            stop.set()
            thread.join(60)
        log = server.err.getvalue()  # type: ignore[attr-defined]
        assert f"client 127.0.0.1:{idle.sock.getsockname()[1]} too slow: " in log, log
        assert f"client 127.0.0.1:{reader.getsockname()[1]} too slow" not in log, log
        assert not closed.is_set()
        # the idle one; under a loaded machine a churning client held up between its connect
        # and its close may be too (it did not read either), never the reader
        assert server.clients.dropped == log.count(" too slow: ") >= 1, log
        idle.close()
        reader.close()
    got = bytes(received).split(b"\n")[:-1]
    assert len(got) >= 300_000
    assert got == sequence(PERSON, 7, len(got))


def test_an_idle_client_is_dropped_after_the_idle_timeout() -> None:
    """With --fanout each, every client's queue is its own: one that connects and never reads
    is disconnected after --idle-timeout (its memory freed), while one that reads goes on
    with its own stream, whole."""
    with running(config(rate=0, fanout="each", idle_timeout=0.5, quiet=False)) as server:
        idle = LineClient(server.port, rcvbuf=4096)  # connects, never reads
        reader = LineClient(server.port)
        got: list[bytes] = []
        deadline = time.monotonic() + 30
        while "idle: took nothing" not in server.err.getvalue():  # type: ignore[attr-defined]
            assert time.monotonic() < deadline, server.err.getvalue()  # type: ignore[attr-defined]
            got += reader.lines(10_000)
        got += reader.lines(10_000)
        log = server.err.getvalue()  # type: ignore[attr-defined]
        assert f"client 127.0.0.1:{idle.sock.getsockname()[1]} idle: took nothing for " in log
        assert f"client 127.0.0.1:{reader.sock.getsockname()[1]} idle" not in log
        assert not reader.closed_by_server
        idle.close()
        reader.close()
    assert got == sequence(PERSON, 7, len(got))


def test_with_count_an_idle_client_does_not_keep_the_server_running() -> None:
    """--fanout each --count N: a client that reads its N rows and one that never reads; the
    idle one is dropped after --idle-timeout, though its rows were all queued, and the server
    then exits."""
    with running(config(rate=0, fanout="each", count=200_000, idle_timeout=0.5)) as server:
        idle = LineClient(server.port, rcvbuf=4096)  # connects, never reads
        reader = LineClient(server.port)
        assert len(reader.rest(timeout=60)) == 200_000
        assert wait_exit(server, 30) == 0
        assert server.clients.dropped == 1
        idle.close()
        reader.close()


def test_stdin_line_held_until_the_first_client() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "generator", "socket", "0", "--stdin"],
        cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdout is not None and proc.stdin is not None
    first = proc.stdout.readline().decode()
    assert first.startswith("listening on 127.0.0.1:")
    port = int(first.rsplit(":", 1)[1])
    proc.stdin.write(b"Jean-George Perrin\n")
    proc.stdin.flush()
    assert proc.stderr is not None
    for line in proc.stderr:  # the server has the line, and nobody is connected to take it
        if b"held for the first client" in line:
            break
    client = LineClient(port)
    assert client.lines(1) == [b"Jean-George Perrin"]
    proc.stdin.write(b"Leor Finkelberg\nno newline at the end")
    proc.stdin.close()  # end of input: finish sending, then exit
    assert client.rest() == [b"Leor Finkelberg", b"no newline at the end"]
    proc.stderr.close()
    assert proc.wait(timeout=20) == 0
    client.close()


def _send_queue(local: int, remote: int) -> int | None:
    """Bytes waiting in the kernel on the connection 127.0.0.1:local -> remote (/proc/net/tcp)."""
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if (int(fields[1].split(":")[1], 16), int(fields[2].split(":")[1], 16)) == (local, remote):
            return int(fields[4].split(":")[0], 16)
    return None


def wait_for_full_send_queue(local: int, remote: int, timeout: float = 15) -> None:
    """Until the send queue has stopped growing, with bytes in it: the peer reads nothing."""
    deadline, last = time.monotonic() + timeout, -1
    while time.monotonic() < deadline:
        queued = _send_queue(local, remote) or 0
        if queued > 0 and queued == last:
            return
        last = queued
        time.sleep(0.1)
    raise TimeoutError(f"the send queue to port {remote} did not fill")


def wait_for_refused(port: int, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        except ConnectionRefusedError:
            return
        time.sleep(0.02)
    raise TimeoutError(f"port {port} still accepts")


def test_sigint_drains_and_exits_0_second_sigint_exits_at_once() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "generator", "socket", "0", "--rate", "50"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    port = int(proc.stdout.readline().rsplit(":", 1)[1])
    client = LineClient(port)
    client.lines(5)
    proc.send_signal(signal.SIGINT)
    client.rest()  # closed cleanly after the queue is flushed
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert "stopped:" in err and "Traceback" not in err
    client.close()

    proc = subprocess.Popen(
        [sys.executable, "-m", "generator", "socket", "0", "--rate", "0",
         "--max-queue", "100000000"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    port = int(proc.stdout.readline().rsplit(":", 1)[1])
    stuck = LineClient(port, rcvbuf=4096)  # never reads: the drain would wait its grace period
    assert proc.stderr is not None
    for line in proc.stderr:  # until the server has it, and is sending
        if "connected" in line:
            break
    # the kernel's buffers towards the idle client are full: the drain would have to wait
    wait_for_full_send_queue(port, stuck.sock.getsockname()[1])
    proc.send_signal(signal.SIGINT)
    wait_for_refused(port)  # the first Ctrl-C is handled: the server stopped accepting
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=3)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    stuck.close()


def test_sigterm_stops_cleanly() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "generator", "socket", "0", "--quiet"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    assert proc.stdout.readline().startswith("listening on 127.0.0.1:")
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0
    assert (out, err) == ("", "")


def test_retail_rows_over_the_socket() -> None:
    with running(config(dataset=RETAIL, count=200_000)) as server:
        lines = LineClient(server.port).rest(timeout=60)
    assert len(lines) == 200_000
    assert lines[0].startswith(b"536365,")
    assert lines[:50_000] == sequence(RETAIL, 7, 50_000)
    # the socket walks through the days, as the files do: one a day
    days = {line.split(b",")[4][:10] for line in lines[::97] if b'"' not in line}
    assert len(days) > 100


def test_port_in_use(capsys: pytest.CaptureFixture[str]) -> None:
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    port = holder.getsockname()[1]
    try:
        assert main(["socket", str(port)]) == 2
    finally:
        holder.close()
    err = capsys.readouterr().err
    assert err.startswith(f"generator: error: cannot listen on 127.0.0.1:{port}: address already")
    assert err.count("\n") == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["70000"], "argument PORT: must be 0..65535, not 70000"),
        (["-1"], "argument PORT: must be 0..65535, not -1"),
        (["http"], "argument PORT: not a port number: 'http'"),
        (["0", "--host", "192.0.2.1"], "cannot listen on 192.0.2.1:0: no such address"),
        (["0", "--rate", "-1"], "argument --rate: must be 0 or more, not -1"),
        (["0", "--rate", "fast"], "argument --rate: not a number: 'fast'"),
        (["0", "--count", "0"], "argument --count: must be 1 or more, not 0"),
        (["0", "--fanout", "some"], "argument --fanout: invalid choice: 'some'"),
        (
            ["0", "--dataset", "x"],
            "unknown data set 'x' (one of: person, retail, counter, sensor, impressions, clicks, "
            "customers, orders, activity, words, customer_changes, ads, shop; "
            "or a spec file, *.toml)",
        ),
        (["0", "--stdin", "--fanout", "each"], "--stdin sends the same lines to every client"),
        (["0", "--idle-timeout", "0"], "argument --idle-timeout: must be more than 0, not 0"),
    ],
)
def test_bad_input(capsys: pytest.CaptureFixture[str], args: list[str], message: str) -> None:
    assert main(["socket", *args]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith(f"generator: error: {message}")
    assert captured.err.count("\n") == 1
    assert captured.out == ""


def test_which_hosts_are_loopback() -> None:
    """The server warns when it listens beyond loopback; which hosts those are is decided here
    without listening on one (no test listens beyond 127.0.0.1)."""
    from generator.socket_server.server import _is_loopback

    assert all(map(_is_loopback, ["127.0.0.1", "127.0.0.2", "::1", "localhost"]))
    assert not any(map(_is_loopback, ["0.0.0.0", "::", "192.168.1.5", "10.0.0.1"]))
