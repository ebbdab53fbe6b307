"""Command line: `python -m consumer COMMAND ...` (also under spark-submit).

Every argument is checked before Spark starts: bad input is one line and exit code 2. A stream
that cannot go on (no server, the server went away, a failed query) is one line and exit code 1.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from consumer.errors import EXIT_FAILED, StreamFailed
from consumer.inputs import FolderInput, SocketInput, SyntheticInput
from consumer.output import SINKS, OutputConfig
from consumer.session import LOG_LEVELS, SessionConfig
from consumer.watermark_app import SELF_TRUTH
from generator.answers import (
    DEDUP_WATERMARK,
    JOIN_LEFT_WATERMARK,
    JOIN_RIGHT_WATERMARK,
    JOIN_WITHIN,
    SESSION_GAP,
    SESSION_WATERMARK,
)
from generator.clock import TRUTH_WATERMARK, TRUTH_WINDOW, event_time_of
from generator.datasets import DATASETS, get_dataset
from generator.errors import EXIT_USAGE, UsageError
from generator.options import (
    Parser,
    add_event_time_arguments,
    client_port,
    non_negative_float,
    non_negative_int,
    positive_float,
    positive_int,
)

PROG = "consumer"


def conf_pair(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"expected key=value, not {text!r}")
    return key.strip(), value


def _common(
    p: argparse.ArgumentParser,
    *,
    dataset: str | None,
    num_rows: int,
    truncate: bool,
    files: bool,
    synthetic: bool = False,
) -> None:
    spark = p.add_argument_group("Spark")
    spark.add_argument(
        "--master",
        help="Spark master URL: local[*], local[2], spark://HOST:7077 "
        "(default: spark-submit's --master, else local[*])",
    )
    spark.add_argument(
        "--remote",
        default=os.environ.get("SPARK_REMOTE"),
        metavar="sc://HOST:PORT",
        help="run on a Spark Connect server (default: $SPARK_REMOTE, else a local or --master "
        "session)",
    )
    spark.add_argument("--app-name", help="application name (default: the consumer's)")
    spark.add_argument(
        "--log-level",
        default="WARN",
        type=str.upper,
        choices=LOG_LEVELS,
        help="Spark's log level (default: WARN)",
    )
    spark.add_argument(
        "--conf",
        type=conf_pair,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a Spark setting, repeatable (e.g. --conf spark.sql.shuffle.partitions=4)",
    )
    if dataset is not None:
        p.add_argument(
            "--format",
            choices=("csv", "json"),
            default="csv",
            help="what the generator wrote: csv (default) or json (JSON lines)",
        )
        p.add_argument(
            "--dataset",
            default=dataset,
            metavar="NAME",
            help=f"data set the stream carries: {', '.join(DATASETS)} (default: {dataset})",
        )
    if synthetic:
        g = p.add_argument_group(
            "made inside Spark (--synthetic)",
            "the `synthetic` data source: the seed's rows drawn in Spark's executors, no files",
        )
        g.add_argument("--synthetic", action="store_true", help="read the synthetic source")
        g.add_argument("--rate", type=positive_float, default=1.0, metavar="ROWS_PER_SECOND",
                       help="rows per second, fractional allowed (default: 1)")  # fmt: skip
        g.add_argument("--seed", type=non_negative_int, default=0, help="(default: 0)")
        g.add_argument("--rows", type=non_negative_int, metavar="N",
                       help="end after N rows (needed with --available-now)")  # fmt: skip
        g.add_argument("--partitions", type=positive_int, metavar="N",
                       help="partitions per micro-batch (default: 2)")  # fmt: skip
        g.add_argument("--max-records-per-batch", type=positive_int, metavar="N",
                       help="at most N rows a micro-batch (default: all there are)")  # fmt: skip
    if files:
        p.add_argument(
            "--max-files-per-trigger",
            type=positive_int,
            default=1,
            metavar="N",
            help="files read per micro-batch (default: 1)",
        )
        p.add_argument(
            "--clean-source",
            choices=("archive", "delete"),
            help="Spark's cleanSource: move files it has read to --archive-dir, or delete them, "
            "so a long run does not list every old file at each trigger (default: keep them)",
        )
        p.add_argument(
            "--archive-dir",
            metavar="DIR",
            help="with --clean-source archive: where read files go (beside the folder read, "
            "not inside it)",
        )
    run = p.add_argument_group("running")
    run.add_argument(
        "--timeout",
        type=non_negative_float,
        metavar="SECONDS",
        help="stop cleanly after this many seconds, exit 0 (seconds, as PySpark's "
        "awaitTermination takes them; Java/Scala take milliseconds). Default: until Ctrl-C",
    )
    trig = run.add_mutually_exclusive_group()
    trig.add_argument(
        "--trigger",
        type=positive_float,
        metavar="SECONDS",
        help="processing-time trigger: a micro-batch every SECONDS (default: as soon as "
        "the last one ends)",
    )
    trig.add_argument(
        "--available-now",
        action="store_true",
        help="work through what is there now (honouring max files per trigger), then exit",
    )
    run.add_argument("--quiet", action="store_true", help="no line per batch on stderr")
    out = p.add_argument_group("output")
    out.add_argument("--sink", choices=SINKS,
                     help="(default: console; a memory table with --check)")  # fmt: skip
    out.add_argument(
        "--output-mode",
        choices=("append", "update", "complete"),
        help="append, update or complete, where the query allows it (default: the query's)",
    )
    out.add_argument(
        "--num-rows",
        type=positive_int,
        default=num_rows,
        metavar="N",
        help=f"rows the console shows per batch (default: {num_rows})",
    )
    out.add_argument(
        "--truncate",
        action=argparse.BooleanOptionalAction,
        default=truncate,
        help=f"truncate long values on the console (default: {'on' if truncate else 'off'})",
    )
    out.add_argument(
        "--checkpoint",
        metavar="DIR",
        help="checkpoint folder: a restarted query resumes where it stopped "
        "(required for file sinks)",
    )
    out.add_argument(
        "--output", metavar="DIR", help="where a parquet/csv/json sink writes (required for them)"
    )
    out.add_argument(
        "--query-name", metavar="NAME", help="query name; the table name of the memory sink"
    )
    out.add_argument(
        "--report",
        metavar="FILE.html",
        help="when the run ends (done, timed out, Ctrl-C or failed), write one self-contained "
        "HTML page of what it did: rows, rates, durations, watermark, state, and for event-time "
        "queries on a folder the rows each batch read and those dropped as late",
    )
    out.add_argument(
        "--progress-log",
        metavar="FILE",
        help="save the progress events as JSON lines while running; `consumer report FILE` "
        "draws the report from them again",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog=PROG,
        description="Spark Structured Streaming consumers: the programs of the seed notes, "
        "corrected, reading what `python -m generator` makes.",
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)

    f = sub.add_parser(
        "files",
        help="read CSV files landing in a folder (Spark in Action, ch. 10)",
        description="The seed's first program: CSV files with the data set's schema, "
        "max files per trigger, a `result` column fname-age, to the console.",
    )
    f.add_argument("directory", nargs="?", metavar="DIR",
                   help="folder to watch (waited for if missing); or --synthetic")  # fmt: skip
    _common(f, dataset="person", num_rows=3, truncate=False, files=True, synthetic=True)
    f.set_defaults(handler=_files)

    s = sub.add_parser(
        "socket",
        help="read lines from a TCP server (the seed's `nc -lk 9999` stream)",
        description="The seed's network stream: each line's `value` split into the data set's "
        "columns. Waits for the server rather than failing on 'Connection refused'; exits 1 "
        "when the server goes away.",
    )
    s.add_argument("--host", default="localhost", help="server host (default: localhost)")
    s.add_argument("--port", type=client_port, default=9999, help="server port (default: 9999)")
    s.add_argument(
        "--connect-timeout",
        type=positive_float,
        default=60.0,
        metavar="SECONDS",
        help="give up waiting for the server after this long (default: 60)",
    )
    _common(s, dataset="person", num_rows=20, truncate=True, files=False)
    s.set_defaults(handler=_socket)

    m = sub.add_parser(
        "multi",
        help="two file streams in one session (upper- and lower-cased fname)",
        description="The seed's two file streams: fname upper-cased in DIR1, lower-cased in "
        "DIR2, both stopped after --timeout seconds.",
    )
    m.add_argument("directories", nargs="*", metavar="DIR", help="exactly two folders")
    _common(m, dataset="person", num_rows=3, truncate=True, files=True)
    m.set_defaults(handler=_multi)

    r = sub.add_parser(
        "retail",
        help="total cost per customer per day (The Definitive Guide, ch. 3)",
        description="Total cost per customer per window(InvoiceDate). Streaming by default "
        "(complete mode, one file per trigger); --static for the batch version.",
    )
    r.add_argument("directory", nargs="?", metavar="DIR",
                   help="folder of by-day retail CSV files; or --synthetic")  # fmt: skip
    r.add_argument("--static", action="store_true", help="the batch version, with inferSchema")
    r.add_argument(
        "--window", default="1 day", help="window length, e.g. '1 hour' (default: 1 day)"
    )
    _common(r, dataset=None, num_rows=5, truncate=True, files=True, synthetic=True)
    r.set_defaults(handler=_retail)

    w = sub.add_parser(
        "watermark",
        help="count events per event-time window with a watermark; check against the truth",
        description="Events per window(event_time, --window) with withWatermark(event_time, "
        "--watermark), append mode: each window printed once, when final; late rows dropped. "
        "--check compares with the generator's _truth.jsonl (run with --available-now).",
    )
    w.add_argument("directory", nargs="?", metavar="DIR", help="folder of event-time files")
    w.add_argument("--socket", action="store_true", help="read a socket server instead of DIR")
    w.add_argument("--host", default="localhost", help="with --socket (default: localhost)")
    w.add_argument("--port", type=client_port, default=9999, help="with --socket (default: 9999)")
    w.add_argument("--window", type=positive_int, default=TRUTH_WINDOW, metavar="SECONDS",
                   help=f"window length (default: {TRUTH_WINDOW})")  # fmt: skip
    w.add_argument(
        "--watermark",
        type=non_negative_int,
        default=TRUTH_WATERMARK,
        metavar="SECONDS",
        help=f"watermark delay (default: {TRUTH_WATERMARK})",
    )
    w.add_argument(
        "--check",
        type=Path,
        nargs="?",
        const=SELF_TRUTH,
        metavar="TRUTH",
        help="_truth.jsonl (or its folder) to compare the final windows with; with "
        "--synthetic, no TRUTH: the truth is drawn from the same seed",
    )
    _common(w, dataset="sensor", num_rows=20, truncate=False, files=True, synthetic=True)
    clock = w.add_argument_group("event time of --synthetic (as the generator's options)")
    add_event_time_arguments(clock, "the clock's start (default: the data set's start date, "
                        "midnight UTC: a replayed batch must draw the same times)")  # fmt: skip
    clock.add_argument("--truth-watermark", type=non_negative_int, metavar="SECONDS",
                       help="the watermark the drawn truth judges lateness by (default: the "
                       "query's --watermark; another one shows a check that fails)")  # fmt: skip
    w.set_defaults(handler=_watermark)

    j = sub.add_parser(
        "join",
        help="the guide's stream-stream join of impressions and clicks; check the pairs",
        description="DIR/impressions joined with DIR/clicks (`generator files DIR --dataset ads`): "
        "impression watermark 2 hours, click watermark 3 hours, a click at most 1 hour after its "
        "impression. --check compares the pairs (and null rows) with DIR/_truth_join.jsonl.",
    )
    j.add_argument("directory", metavar="DIR", help="the ads bundle's folder")
    j.add_argument(
        "--how",
        choices=("inner", "leftOuter"),
        default="inner",
        help="inner (default) or leftOuter: unclicked impressions too, with nulls",
    )
    j.add_argument("--impression-watermark", type=non_negative_int, default=JOIN_LEFT_WATERMARK,
                   metavar="SECONDS", help=f"(default: {JOIN_LEFT_WATERMARK})")  # fmt: skip
    j.add_argument("--click-watermark", type=non_negative_int, default=JOIN_RIGHT_WATERMARK,
                   metavar="SECONDS", help=f"(default: {JOIN_RIGHT_WATERMARK})")  # fmt: skip
    j.add_argument("--within", type=non_negative_int, default=JOIN_WITHIN, metavar="SECONDS",
                   help=f"a click at most this long after its impression (default: "
                   f"{JOIN_WITHIN})")  # fmt: skip
    j.add_argument("--check", action="store_true",
                   help="compare with DIR/_truth_join.jsonl (needs --available-now)")  # fmt: skip
    j.add_argument("--format", choices=("csv", "json"), default="csv",
                   help="what the generator wrote (default: csv)")  # fmt: skip
    j.add_argument("--max-files-per-trigger", type=positive_int, default=1, metavar="N",
                   help="files of each side read per micro-batch (default: 1)")  # fmt: skip
    _common(j, dataset=None, num_rows=20, truncate=False, files=False)
    j.set_defaults(handler=_join)

    e = sub.add_parser(
        "enrich",
        help="orders joined to the static customers table (stream-static)",
        description="DIR/orders (a stream) joined to DIR/customers (read once, a static table), "
        "as `generator files DIR --dataset shop` lands them; inner or left outer; orders naming "
        "an unknown customer counted. --check compares with DIR/_truth_enrich.jsonl.",
    )
    e.add_argument("directory", metavar="DIR", help="the shop bundle's folder")
    e.add_argument(
        "--how",
        choices=("inner", "leftOuter"),
        default="inner",
        help="inner (default: unknown customers dropped) or leftOuter (kept, with nulls)",
    )
    e.add_argument("--check", action="store_true",
                   help="compare with DIR/_truth_enrich.jsonl (needs --available-now)")  # fmt: skip
    e.add_argument("--format", choices=("csv", "json"), default="csv",
                   help="what the generator wrote (default: csv)")  # fmt: skip
    e.add_argument("--max-files-per-trigger", type=positive_int, default=1, metavar="N",
                   help="order files read per micro-batch (default: 1)")  # fmt: skip
    _common(e, dataset=None, num_rows=20, truncate=False, files=False)
    e.set_defaults(handler=_enrich)

    se = sub.add_parser(
        "sessions",
        help="session_window per user with a watermark; check against the answer key",
        description="session_window(event_time, --gap) per user, withWatermark, append mode: "
        "each session printed once, when the watermark passes its end. --check compares with "
        "the generator's _truth_sessions.jsonl (run with --available-now).",
    )
    _keyed(se, "activity")
    se.add_argument("--gap", type=positive_int, default=SESSION_GAP, metavar="SECONDS",
                    help=f"a session ends after this long without events (default: "
                    f"{SESSION_GAP})")  # fmt: skip
    se.add_argument("--watermark", type=non_negative_int, default=SESSION_WATERMARK,
                    metavar="SECONDS", help=f"(default: {SESSION_WATERMARK})")  # fmt: skip
    se.add_argument("--by", metavar="COLUMN", help="sessions per this column (default: the "
                    "data set's user column)")  # fmt: skip
    se.set_defaults(handler=_sessions)

    d = sub.add_parser(
        "dedup",
        help="dropDuplicatesWithinWatermark on the event id; check against the answer key",
        description="Rows re-sent by an at-least-once source (`generator files --duplicates F`) "
        "dropped with withWatermark + dropDuplicatesWithinWatermark([id]). --check compares the "
        "rows kept with the generator's _truth_dedup.jsonl (run with --available-now).",
    )
    _keyed(d, "activity")
    d.add_argument("--watermark", type=non_negative_int, default=DEDUP_WATERMARK,
                   metavar="SECONDS", help=f"(default: {DEDUP_WATERMARK})")  # fmt: skip
    d.add_argument("--id", metavar="COLUMN", help="the event id (default: the data set's key)")
    d.set_defaults(handler=_dedup)

    rp = sub.add_parser(
        "report",
        help="draw a run report again from a --progress-log file (no Spark needed)",
        description="Read the JSON lines a consumer wrote with --progress-log and write the same "
        "self-contained HTML report --report writes.",
    )
    rp.add_argument("log", type=Path, metavar="LOG", help="a --progress-log file")
    rp.add_argument("--output", type=Path, metavar="FILE.html",
                    help="where to write it (default: LOG with .html)")  # fmt: skip
    rp.set_defaults(handler=_report)

    v = sub.add_parser(
        "verify",
        help="check that a file sink holds every generated row exactly once (no Spark needed)",
        description="Compare the rows the generator landed (its _manifest.jsonl, each file "
        "checked against its size and CRC-32) with the rows a file sink committed (its "
        "_spark_metadata log). Exit 0 only when every row is there exactly once.",
    )
    v.add_argument(
        "--manifest",
        nargs="+",
        default=[],
        type=Path,
        metavar="DIR",
        help="folder(s) the generator wrote (with --streams: DIR or its subdirK)",
    )
    v.add_argument("--seed", type=non_negative_int,
                   help="instead of --manifest: the seed whose rows the sink holds")  # fmt: skip
    v.add_argument("--rows", type=non_negative_int, metavar="N",
                   help="with --seed: rows 0 .. N-1 of its sequence")  # fmt: skip
    v.add_argument("--dataset", default="person", metavar="NAME",
                   help="with --seed: the data set (default: person)")  # fmt: skip
    v.add_argument("--sink", required=True, type=Path, metavar="DIR", help="the sink's --output")
    v.add_argument(
        "--format", choices=("parquet", "csv", "json"), default="parquet", help="(default: parquet)"
    )
    v.set_defaults(handler=_verify)
    return parser


def _keyed(p: argparse.ArgumentParser, dataset: str) -> None:
    """A folder, a server (--socket) or the synthetic source, and --check."""
    p.add_argument("directory", nargs="?", metavar="DIR", help="folder of event-time files")
    p.add_argument("--socket", action="store_true", help="read a socket server instead of DIR")
    p.add_argument("--host", default="localhost", help="with --socket (default: localhost)")
    p.add_argument("--port", type=client_port, default=9999, help="with --socket (default: 9999)")
    p.add_argument(
        "--check",
        action="store_true",
        help="compare with the answer key beside the files (needs --available-now)",
    )
    _common(p, dataset=dataset, num_rows=20, truncate=False, files=True, synthetic=True)


def _one_input(args: argparse.Namespace) -> FolderInput | SocketInput | SyntheticInput:
    if [args.socket, args.synthetic, args.directory is not None].count(True) != 1:
        raise UsageError(f"{args.command} reads a folder (DIR), a server (--socket) or the "
                         "synthetic source (--synthetic): name one")  # fmt: skip
    if args.socket and (args.clean_source or args.archive_dir):
        raise UsageError("--clean-source is for a folder, not --socket")
    return _socket_input(args) if args.socket else _input(args)


def _output(args: argparse.Namespace) -> OutputConfig:
    return OutputConfig(
        sink=args.sink,
        output_mode=args.output_mode,
        num_rows=args.num_rows,
        truncate=args.truncate,
        checkpoint=args.checkpoint,
        path=args.output,
        trigger_seconds=args.trigger,
        available_now=args.available_now,
        query_name=args.query_name,
        report=args.report,
        progress_log=args.progress_log,
    )


def _session(args: argparse.Namespace, default_name: str) -> SessionConfig:
    return SessionConfig(
        app_name=args.app_name or default_name,
        master=args.master,
        log_level=args.log_level,
        conf=tuple(args.conf),
        quiet=args.quiet,
        remote=args.remote,
    )


def _synthetic(args: argparse.Namespace, dataset: str = "") -> SyntheticInput:
    event_time = event_time_of(args)  # the clock's options, where the command has them
    return SyntheticInput(
        dataset=get_dataset(dataset or args.dataset),
        seed=args.seed,
        rate=args.rate,
        rows=args.rows,
        partitions=args.partitions,
        max_records=args.max_records_per_batch,
        event_time=event_time,
    )


def _input(args: argparse.Namespace, dataset: str = "") -> FolderInput | SyntheticInput:
    """The folder, or the synthetic source: one of them."""
    if args.synthetic == (args.directory is not None):
        raise UsageError(f"{args.command} reads a folder (DIR) or the synthetic source "
                         "(--synthetic): name one")  # fmt: skip
    if args.synthetic:
        if args.clean_source or args.archive_dir:
            raise UsageError("--clean-source is for a folder, not --synthetic")
        return _synthetic(args, dataset)
    return _folder(args, args.directory, dataset)


def _folder(args: argparse.Namespace, directory: str, dataset: str = "") -> FolderInput:
    return FolderInput(
        directory=directory,
        dataset=get_dataset(dataset or args.dataset),
        format=getattr(args, "format", "csv"),
        max_files_per_trigger=args.max_files_per_trigger,
        clean_source=args.clean_source or "off",
        archive_dir=args.archive_dir,
    )


def _socket_input(args: argparse.Namespace) -> SocketInput:
    return SocketInput(
        dataset=get_dataset(args.dataset),
        host=args.host,
        port=args.port,
        format=args.format,
        connect_timeout=getattr(args, "connect_timeout", 60.0),
    )


Prepared = tuple[SessionConfig, Callable[[Any], None]]


def _files(args: argparse.Namespace) -> Prepared:
    from consumer import files_app

    config = files_app.FilesConsumerConfig(
        source=_input(args),
        output=_output(args),
        timeout=args.timeout,
        quiet=args.quiet,
        log_level=args.log_level,
    )
    return _session(args, "Read lines from a file stream"), lambda spark: files_app.run(
        spark, config
    )


def _socket(args: argparse.Namespace) -> Prepared:
    from consumer import socket_app

    config = socket_app.SocketConsumerConfig(
        source=_socket_input(args),
        output=_output(args),
        timeout=args.timeout,
        quiet=args.quiet,
        log_level=args.log_level,
    )
    return _session(args, "Read lines over a network stream"), lambda spark: socket_app.run(
        spark, config
    )


def _multi(args: argparse.Namespace) -> Prepared:
    from consumer import multi_app

    if len(args.directories) != 2:
        raise UsageError(
            f"multi reads exactly two folders, got {len(args.directories)}: "
            "consumer multi DIR1 DIR2"
        )
    config = multi_app.MultiConsumerConfig(
        sources=(_folder(args, args.directories[0]), _folder(args, args.directories[1])),
        output=_output(args),
        timeout=args.timeout,
        quiet=args.quiet,
        log_level=args.log_level,
    )
    return _session(args, "Two Streams"), lambda spark: multi_app.run(spark, config)


def _retail(args: argparse.Namespace) -> Prepared:
    from consumer import retail_app

    config = retail_app.RetailConsumerConfig(
        source=_input(args, "retail"),
        output=_output(args),
        static=args.static,
        window=args.window,
        timeout=args.timeout,
        quiet=args.quiet,
        log_level=args.log_level,
    )
    return _session(args, "Retail purchases by customer"), lambda spark: retail_app.run(
        spark, config
    )


def _watermark(args: argparse.Namespace) -> Prepared:
    from consumer import watermark_app

    if [args.socket, args.synthetic, args.directory is not None].count(True) != 1:
        raise UsageError(
            "watermark reads a folder (DIR), a server (--socket) or the synthetic source "
            "(--synthetic): name one"
        )
    if args.socket and (args.clean_source or args.archive_dir):
        raise UsageError("--clean-source is for a folder, not --socket")
    if args.check == SELF_TRUTH and not args.synthetic:
        raise UsageError("--check needs a TRUTH file (or its folder), except with --synthetic")
    config = watermark_app.WatermarkConsumerConfig(
        source=_socket_input(args) if args.socket else _input(args),
        output=_output(args),
        window=args.window,
        watermark=args.watermark,
        check=args.check,
        truth_watermark=args.truth_watermark,
        timeout=args.timeout,
        quiet=args.quiet,
        log_level=args.log_level,
    )
    return _session(args, "Event-time windows with a watermark"), lambda spark: watermark_app.run(
        spark, config
    )


def _join(args: argparse.Namespace) -> Prepared:
    from consumer import join_app

    config = join_app.JoinConsumerConfig(
        directory=Path(args.directory),
        how=args.how,
        impression_watermark=args.impression_watermark,
        click_watermark=args.click_watermark,
        within=args.within,
        check=args.check,
        format=args.format,
        max_files_per_trigger=args.max_files_per_trigger,
        output=_output(args),
        timeout=args.timeout,
        quiet=args.quiet,
        log_level=args.log_level,
    )
    return _session(args, "Impressions joined with clicks"), lambda spark: join_app.run_join(
        spark, config
    )


def _enrich(args: argparse.Namespace) -> Prepared:
    from consumer import join_app

    config = join_app.EnrichConsumerConfig(
        directory=Path(args.directory),
        how=args.how,
        check=args.check,
        format=args.format,
        max_files_per_trigger=args.max_files_per_trigger,
        output=_output(args),
        timeout=args.timeout,
        quiet=args.quiet,
        log_level=args.log_level,
    )
    return _session(args, "Orders with their customers"), lambda spark: join_app.run_enrich(
        spark, config
    )


def _sessions(args: argparse.Namespace) -> Prepared:
    from consumer import sessions_app

    config = sessions_app.SessionsConsumerConfig(
        source=_one_input(args),
        gap=args.gap,
        watermark=args.watermark,
        by=args.by,
        check=args.check,
        output=_output(args),
        timeout=args.timeout,
        quiet=args.quiet,
        log_level=args.log_level,
    )
    return _session(args, "Sessions per user"), lambda spark: sessions_app.run_sessions(
        spark, config
    )


def _dedup(args: argparse.Namespace) -> Prepared:
    from consumer import sessions_app

    config = sessions_app.DedupConsumerConfig(
        source=_one_input(args),
        watermark=args.watermark,
        id=args.id,
        check=args.check,
        output=_output(args),
        timeout=args.timeout,
        quiet=args.quiet,
        log_level=args.log_level,
    )
    return _session(args, "Duplicates dropped"), lambda spark: sessions_app.run_dedup(spark, config)


def _report(args: argparse.Namespace) -> int:
    from consumer import report

    if not args.log.is_file():
        raise UsageError(f"no progress log at {args.log}")
    try:
        drawn = report.load_log(args.log)
    except ValueError:
        raise UsageError(f"{args.log} is not a progress log (JSON lines)") from None
    target = args.output or args.log.with_suffix(".html")
    report.write(drawn, target)
    print(f"consumer: report written to {target}", file=sys.stderr)
    return 0


def _verify(args: argparse.Namespace) -> int:
    from consumer import verify

    for folder in [*args.manifest, args.sink]:
        if not folder.is_dir():
            raise UsageError(f"not a folder: {folder}")
    drawn = None
    if args.seed is not None or args.rows is not None:
        if args.seed is None or args.rows is None:
            raise UsageError("verify against a seed needs --seed N and --rows N")
        drawn = verify.Drawn(get_dataset(args.dataset), args.seed, args.rows)
    config = verify.VerifyConfig(tuple(args.manifest), args.sink, args.format, drawn)
    return verify.run(config)


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit code (tests call this in-process)."""
    from consumer.session import build_session

    try:
        args = build_parser().parse_args(argv)
        prepared = args.handler(args)
        if isinstance(prepared, int):
            return prepared  # done without Spark (verify)
        session_config, app = prepared
    except UsageError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    from pyspark import SparkContext

    # in-process callers (tests) may have Spark running already: join it, and leave it running
    joined = SparkContext._active_spark_context is not None
    spark = build_session(session_config)
    try:
        app(spark)
    except StreamFailed as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
    finally:
        if not joined:
            spark.stop()
    return 0
