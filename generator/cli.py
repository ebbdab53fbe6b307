"""Command line: `python -m generator files|schema ...`.

Each subcommand turns its arguments into one config object and calls one `run()`. Errors a user
can cause are a UsageError, printed once here as one line, exit code 2; bugs keep their traceback.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from generator.clock import (
    TRUTH_WATERMARK,
    TRUTH_WINDOW,
    EventTime,
    event_time_of,
)
from generator.datasets import BUNDLES, DATASETS, get
from generator.errors import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    LandingFailed,
    UsageError,
)
from generator.options import (
    Parser,
    add_event_time_arguments,
    file_rows,
    fraction,
    non_negative_float,
    non_negative_int,
    pause,
    period,
    port_number,
    positive_float,
    positive_int,
    prog,
    stream_count,
)
from generator.spec import Bundle
from generator.spec_file import dumps

if TYPE_CHECKING:  # numpy, pyarrow, Faker: imported when a command runs, not for `--help`
    from generator.files import FilesConfig
    from generator.replay import ReplayConfig
    from generator.socket_server import SocketConfig

PROG = "generator"


def add_format_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--format",
        choices=("csv", "json", "debezium"),
        default="csv",
        help="csv (default); json: JSON lines, one object per row, the same columns and types; "
        "debezium: a change feed's rows in Debezium's JSON envelope (before, after, op, ts_ms, "
        "source.seq)",
    )


def add_dataset_option(parser: argparse.ArgumentParser, default: str) -> None:
    parser.add_argument(
        "--dataset",
        default=default,
        metavar="NAME",
        help=f"data set to generate: {', '.join(DATASETS)}; or a bundle of several, each into "
        f"a subfolder: {', '.join(BUNDLES)} (default: {default})",
    )


def _add_clock_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group(
        "event time (data sets with an event-time column: sensor)",
        "event_time follows a simulated clock that ticks per row, so the same seed gives the "
        "same events; _truth.jsonl beside the files says what a correct watermark consumer "
        "must count",
    )
    add_event_time_arguments(g, "the clock's start, e.g. 2026-01-01T09:00:00 (UTC unless an offset "
                        "is given; default: now)")  # fmt: skip
    g.add_argument(
        "--truth-window",
        type=positive_int,
        metavar="SECONDS",
        help=f"window size of the ground truth (default: {TRUTH_WINDOW})",
    )
    g.add_argument(
        "--truth-watermark",
        type=non_negative_int,
        metavar="SECONDS",
        help=f"watermark delay the ground truth judges lateness by (default: {TRUTH_WATERMARK})",
    )


def _event_time(args: argparse.Namespace) -> EventTime:
    return event_time_of(args, truth_window=args.truth_window,
                         truth_watermark=args.truth_watermark)  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog=prog(PROG),
        description="Realistic, reproducible data for Spark Structured Streaming: "
        "files landing in a watched folder, or rows served over TCP.",
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)

    f = sub.add_parser(
        "files",
        help="land CSV files in a folder, one at a time, atomically",
        description="Land CSV files of a data set in DIR, one at a time. Each file is written "
        "as a hidden temp file and renamed into place, so Spark never reads one half-written.",
    )
    f.add_argument("directory", type=Path, metavar="DIR", help="folder to land files in (created)")
    add_dataset_option(f, "person")
    f.add_argument(
        "--rows-per-file",
        type=file_rows,
        metavar="N",
        help="rows in each file (default: the data set's: 10 for person); not for data sets "
        "whose files are days (retail: a day has its own rows)",
    )
    pace = f.add_mutually_exclusive_group()
    pace.add_argument(
        "--interval",
        type=pause,
        metavar="SECONDS",
        help="pause between files, fractional; 0 = as fast as possible (default: 1)",
    )
    pace.add_argument(
        "--rate",
        type=positive_float,
        metavar="ROWS_PER_SECOND",
        help="pace files to this many rows per second instead of a fixed interval",
    )
    stop = f.add_mutually_exclusive_group()
    stop.add_argument("--files", type=positive_int, metavar="N", help="stop after N files")
    stop.add_argument(
        "--duration", type=positive_float, metavar="SECONDS", help="stop after this long"
    )
    f.add_argument(
        "--seed",
        type=non_negative_int,
        help="same seed, data set and options: byte-identical files (default: random, printed)",
    )
    f.add_argument(
        "--header",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="write a header line (default: the data set's: off for person, on for retail)",
    )
    f.add_argument(
        "--streams",
        type=stream_count,
        default=1,
        metavar="K",
        help="write into DIR/subdir1 .. DIR/subdirK, one file to each in turn (default: 1, DIR)",
    )
    f.add_argument(
        "--duplicates",
        type=fraction,
        default=0.0,
        metavar="F",
        help="send this fraction of rows again a little later (same id, same event time), as an "
        "at-least-once source does; _truth_dedup.jsonl says what dropDuplicatesWithinWatermark "
        "keeps (data sets with a key: activity, impressions, orders)",
    )
    f.add_argument("--quiet", action="store_true", help="print nothing but errors")
    add_format_option(f)
    _add_clock_options(f)
    f.set_defaults(handler=_files)

    r = sub.add_parser(
        "replay",
        help="land a real data set into a folder, in time order, one file at a time",
        description="Land SOURCE into DIR one file at a time, atomically, with strictly "
        "increasing modification times. SOURCE is a folder (files keep their names and bytes, "
        "in name order) or one CSV with --time-column (lines ordered by it, split into files).",
    )
    r.add_argument("source", type=Path, metavar="SOURCE", help="a folder, or one CSV file")
    r.add_argument("directory", type=Path, metavar="DIR", help="folder to land files in")
    r.add_argument("--time-column", metavar="NAME", help="one CSV: the column to order by")
    split = r.add_mutually_exclusive_group()
    split.add_argument("--rows-per-file", type=positive_int, metavar="N",
                       help="one CSV: lines per file (default: 1000)")  # fmt: skip
    split.add_argument("--every", type=period, metavar="PERIOD",
                       help="one CSV: one file per period of the time column: 1d, 6h, 15m, "
                       "90s or seconds")  # fmt: skip
    pace = r.add_mutually_exclusive_group()
    pace.add_argument("--interval", type=non_negative_float, metavar="SECONDS",
                      help="pause between files (default: 1)")  # fmt: skip
    pace.add_argument("--speed", type=positive_float, metavar="X",
                      help="follow the data's own times X times faster than real time (a "
                      "by-day folder: 86400 is a day a second)")  # fmt: skip
    r.add_argument("--loop", action="store_true", help="start over, with fresh names, for ever")
    stop = r.add_mutually_exclusive_group()
    stop.add_argument("--files", type=positive_int, metavar="N", help="stop after N files")
    stop.add_argument("--duration", type=positive_float, metavar="SECONDS",
                      help="stop after this long")  # fmt: skip
    r.add_argument("--quiet", action="store_true", help="print nothing but errors")
    r.set_defaults(handler=_replay)

    k = sub.add_parser(
        "socket",
        help="serve rows over TCP to Spark socket streams (replaces `nc -lk PORT`)",
        description="Listen on PORT and send every client CSV lines (no header) of a data set, "
        "or the lines typed on standard input. Any number of clients at once: start the server, "
        "then the Spark queries. The first line of output is `listening on HOST:PORT`.",
    )
    k.add_argument("port", type=port_number, metavar="PORT", help="TCP port; 0 picks a free one")
    k.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default: 127.0.0.1; 0.0.0.0 for every interface)",
    )
    add_dataset_option(k, "person")
    k.add_argument(
        "--fanout",
        choices=("broadcast", "each"),
        default="broadcast",
        help="broadcast: every client gets the same rows from the moment it connects (default); "
        "each: every client gets the whole sequence from its first row, at its own pace",
    )
    k.add_argument(
        "--rate",
        type=non_negative_float,
        metavar="ROWS_PER_SECOND",
        help="rows per second per stream, fractional allowed; 0 = as fast as clients read "
        "(default: 5)",
    )
    bound = k.add_mutually_exclusive_group()
    bound.add_argument(
        "--count", type=positive_int, metavar="N", help="stop after N rows (per client with each)"
    )
    bound.add_argument(
        "--duration", type=positive_float, metavar="SECONDS", help="stop after this long"
    )
    k.add_argument(
        "--seed",
        type=non_negative_int,
        help="same seed: same rows, the ones `files --seed` lands (default: random)",
    )
    k.add_argument(
        "--stdin",
        action="store_true",
        help="forward lines typed or piped on standard input instead of generated rows "
        "(the notes' `nc -lk 9999` workflow); exits at end of input",
    )
    k.add_argument(
        "--max-queue",
        type=positive_int,
        default=1_000_000,
        metavar="LINES",
        help="lines queued for one client before it is disconnected as too slow (default: 1000000)",
    )
    k.add_argument(
        "--idle-timeout",
        type=positive_float,
        default=30.0,
        metavar="SECONDS",
        help="a client that takes none of the lines waiting for it for this long is "
        "disconnected as idle (default: 30)",
    )
    k.add_argument("--quiet", action="store_true", help="print nothing but the listening line")
    add_format_option(k)
    _add_clock_options(k)
    k.add_argument(
        "--truth",
        type=Path,
        metavar="FILE",
        help="broadcast: keep the answer key of the rows sent in FILE; event-time data sets: "
        "events and late rows per window (late counts are upper bounds: Spark's batches depend "
        "on timing); words: each word's count, one JSON line per word",
    )
    k.set_defaults(handler=_socket)

    s = sub.add_parser(
        "schema",
        help="print a data set's schema",
        description="Print a data set's schema as a Spark DDL string (default) or in Spark's "
        "JSON form (loadable with StructType.fromJson).",
    )
    s.add_argument("name", metavar="NAME", help=f"data set: {', '.join(DATASETS)}; or a bundle: "
                   f"{', '.join(BUNDLES)} (each of its data sets); or a spec file; or a folder "
                   "the generator landed files in (the data set it declares)")  # fmt: skip
    form = s.add_mutually_exclusive_group()
    form.add_argument("--ddl", action="store_true", help="DDL string (the default)")
    form.add_argument("--json", action="store_true", help="Spark's JSON schema")
    form.add_argument(
        "--toml",
        action="store_true",
        help="the whole declaration as a spec file, to start your own data set from",
    )
    s.add_argument("--header", action="store_true", help="the CSV header line instead")
    s.set_defaults(handler=_schema)
    return parser


def _files(args: argparse.Namespace) -> int:
    from generator import files  # numpy, pyarrow, Faker: not needed for `schema` or `--help`

    files.run(files_config(args))
    return 0


def files_config(args: argparse.Namespace) -> FilesConfig:
    """`generator files`'s arguments as its config (every rule checked as it is built)."""
    from generator import files

    return files.FilesConfig(
        directory=args.directory,
        dataset=args.dataset,
        seed=args.seed,
        rows_per_file=args.rows_per_file,
        interval=args.interval,
        rate=args.rate,
        files=args.files,
        duration=args.duration,
        header=args.header,
        streams=args.streams,
        quiet=args.quiet,
        format=args.format,
        event_time=_event_time(args),
        duplicates=args.duplicates,
    )


def _replay(args: argparse.Namespace) -> int:
    from generator import replay

    return replay.run(replay_config(args))


def replay_config(args: argparse.Namespace) -> ReplayConfig:
    from generator import replay

    return replay.ReplayConfig(
        source=args.source,
        directory=args.directory,
        time_column=args.time_column,
        rows_per_file=args.rows_per_file,
        every=args.every,
        interval=args.interval,
        speed=args.speed,
        loop=args.loop,
        files=args.files,
        duration=args.duration,
        quiet=args.quiet,
    )


def _socket(args: argparse.Namespace) -> int:
    from generator import socket_server

    return socket_server.Server(socket_config(args)).run()


def socket_config(args: argparse.Namespace) -> SocketConfig:
    from generator import socket_server

    return socket_server.SocketConfig(
        dataset=args.dataset,
        seed=args.seed,
        port=args.port,
        host=args.host,
        fanout=args.fanout,
        rate=args.rate,
        count=args.count,
        duration=args.duration,
        stdin=args.stdin,
        max_queue=args.max_queue,
        idle_timeout=args.idle_timeout,
        quiet=args.quiet,
        format=args.format,
        truth=args.truth,
        event_time=_event_time(args),
    )


# each command that runs: its arguments as its config, built and checked without running it
CONFIGS: dict[str, Callable[[argparse.Namespace], Any]] = {
    "files": files_config,
    "replay": replay_config,
    "socket": socket_config,
}


def _schema(args: argparse.Namespace) -> int:
    from generator.manifest import DECLARATION, declared

    folder = Path(args.name)
    # a landed folder: the data set it declares (its _dataset.toml)
    found = declared(folder) if folder.is_dir() else get(args.name)
    if found is None:
        raise UsageError(f"{folder} is a folder without a {DECLARATION}: name a data set")
    if isinstance(found, Bundle):
        if args.toml or args.json:
            raise UsageError(f"{args.name} is a bundle: ask for one of its data sets, "
                             f"{', '.join(m.name for m in found.members)}")  # fmt: skip
        for member in found.members:
            print(f"{member.name}: {member.csv_header() if args.header else member.ddl()}")
        return 0
    dataset = found
    if args.header:
        print(dataset.csv_header())
    elif args.json:
        print(json.dumps(dataset.schema_json(), indent=2))
    elif args.toml:
        print(dumps(dataset), end="")
    else:
        print(dataset.ddl())
    return 0


def entry() -> int:
    """`python -m generator` and the `spark-stream-generator` command: `main`, then, the run
    over, a Ctrl-C while the interpreter exits (joining the drawing threads) ends the process at
    once, as the signal's default does, instead of a traceback from inside that join."""
    code = main()
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    return code


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit code (tests call this in-process)."""
    try:
        args = build_parser().parse_args(argv)
        handler: Callable[[argparse.Namespace], int] = args.handler
        return handler(args)
    except UsageError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except LandingFailed as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        # Ctrl-C before a run's own handling began (while it starts up): nothing was landed
        # half-way (files land whole or not at all); one line, the shell's code for Ctrl-C
        print(f"{PROG}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # `python -m generator schema person | head -1`: the reader left; nothing is wrong
        sys.stderr.close()
        return 0
