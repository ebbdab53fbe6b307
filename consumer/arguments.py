"""The argument groups consumers share, and the config pieces built from them.

A consumer's command (`consumer.commands.Command`) declares its own arguments and picks the
groups it needs here: Spark (where and how Spark runs), its input (a folder, a server, the
`synthetic` source), running (how long, which trigger, how much it says) and output (the sink
and the report). The event-time options come from `generator.options`, shared with the
generator's command line. Each group has one builder: the part of a config it fills in.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from pathlib import Path

from consumer.inputs import FolderInput, SocketInput, SyntheticInput
from consumer.output import SINKS, OutputConfig
from consumer.runner import RunOptions
from consumer.session import LOG_LEVELS, SessionConfig
from generator.clock import event_time_of
from generator.datasets import DATASETS, get_dataset
from generator.errors import UsageError
from generator.manifest import MANIFEST, held_to, landed_format
from generator.options import (
    add_event_time_arguments,
    client_port,
    non_negative_float,
    non_negative_int,
    positive_float,
    positive_int,
)

INPUT_KINDS = {"folder": "a folder (DIR)", "socket": "a server (--socket)",
               "synthetic": "the synthetic source (--synthetic)"}  # fmt: skip


def conf_pair(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"expected key=value, not {text!r}")
    return key.strip(), value


# --- Spark ------------------------------------------------------------------------------------


def add_spark(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("Spark")
    g.add_argument("--master", help="Spark master URL: local[*], local[2], spark://HOST:7077 "
                   "(default: spark-submit's --master, else local[*])")  # fmt: skip
    g.add_argument("--remote", default=os.environ.get("SPARK_REMOTE"), metavar="sc://HOST:PORT",
                   help="run on a Spark Connect server (default: $SPARK_REMOTE, else a local "
                   "or --master session)")  # fmt: skip
    g.add_argument("--app-name", help="application name (default: the consumer's)")
    g.add_argument("--log-level", default="WARN", type=str.upper, choices=LOG_LEVELS,
                   help="Spark's log level (default: WARN)")  # fmt: skip
    g.add_argument("--conf", type=conf_pair, action="append", default=[], metavar="KEY=VALUE",
                   help="a Spark setting, repeatable (e.g. --conf "
                   "spark.sql.shuffle.partitions=4)")  # fmt: skip


def session_config(args: argparse.Namespace, default_name: str) -> SessionConfig:
    return SessionConfig(
        app_name=args.app_name or default_name,
        master=args.master,
        log_level=args.log_level,
        conf=tuple(args.conf),
        quiet=args.quiet,
        remote=args.remote,
    )


# --- input ------------------------------------------------------------------------------------


def add_input(
    p: argparse.ArgumentParser,
    *,
    dataset: str | None,
    kinds: Sequence[str] = ("folder",),
    event_time: bool = False,
) -> None:
    """The input arguments of a consumer whose rows come from one of `kinds` (folder, socket,
    synthetic); `dataset`: the default data set, None for a consumer whose data set is fixed.
    The folder itself (DIR) is the command's own positional argument."""
    if dataset is not None:
        p.add_argument("--dataset", metavar="NAME",
                       help=f"data set the stream carries: {', '.join(DATASETS)}, or a spec "
                       "file (default: a folder's own, from its _dataset.toml; else "
                       f"{dataset})")  # fmt: skip
        p.set_defaults(default_dataset=dataset)
    if dataset is not None and ("folder" in kinds or "socket" in kinds):
        p.add_argument(
            "--format",
            choices=("csv", "json", "debezium"),
            help="what the generator wrote: csv, json (JSON lines) or debezium (a change "
            "feed's envelopes); default: a folder's own, from its manifest; else csv",
        )
    if "folder" in kinds:
        add_files_per_trigger(p)
        p.add_argument("--clean-source", choices=("archive", "delete"),
                       help="Spark's cleanSource: move files it has read to --archive-dir, or "
                       "delete them, so a long run does not list every old file at each "
                       "trigger (default: keep them)")  # fmt: skip
        p.add_argument("--archive-dir", metavar="DIR",
                       help="with --clean-source archive: where read files go (beside the "
                       "folder read, not inside it)")  # fmt: skip
    if "socket" in kinds and len(kinds) > 1:
        p.add_argument("--socket", action="store_true", help="read a socket server instead of DIR")
        add_server(p, "with --socket (default: localhost)")
    if "synthetic" in kinds:
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
        if event_time:
            clock = p.add_argument_group("event time of --synthetic (as the generator's options)")
            add_event_time_arguments(clock, "the clock's start (default: the data set's start "
                                     "date, midnight UTC: a replayed batch must draw the same "
                                     "times)")  # fmt: skip


def add_files_per_trigger(p: argparse.ArgumentParser, what: str = "files") -> None:
    p.add_argument("--max-files-per-trigger", type=positive_int, default=1, metavar="N",
                   help=f"{what} read per micro-batch (default: 1)")  # fmt: skip


def add_server(p: argparse.ArgumentParser, host_help: str) -> None:
    p.add_argument("--host", default="localhost", help=host_help)
    p.add_argument("--port", type=client_port, default=9999, help="server port (default: 9999)")


def one_input(
    args: argparse.Namespace, dataset: str = ""
) -> FolderInput | SocketInput | SyntheticInput:
    """The one input the arguments name, of the kinds the command offers; `dataset` (a fixed
    data set) overrides --dataset."""
    given = {"folder": getattr(args, "directory", None) is not None,
             "socket": getattr(args, "socket", False),
             "synthetic": getattr(args, "synthetic", False)}  # fmt: skip
    offered = [k for k in INPUT_KINDS if k == "folder" or hasattr(args, k)]
    if [given[k] for k in offered].count(True) != 1:
        names = [INPUT_KINDS[k] for k in offered]
        listed = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"
        raise UsageError(f"{args.command} reads {listed}: name one")
    clean = getattr(args, "clean_source", None) or getattr(args, "archive_dir", None)
    if given["socket"]:
        if clean:
            raise UsageError("--clean-source is for a folder, not --socket")
        return socket_input(args)
    if given["synthetic"]:
        if clean:
            raise UsageError("--clean-source is for a folder, not --synthetic")
        return SyntheticInput(
            dataset=get_dataset(dataset or args.dataset or args.default_dataset),
            seed=args.seed,
            rate=args.rate,
            rows=args.rows,
            partitions=args.partitions,
            max_records=args.max_records_per_batch,
            event_time=event_time_of(args),  # the clock's options, where the command has them
        )
    return folder_input(args, args.directory, dataset)


def folder_input(args: argparse.Namespace, directory: str, dataset: str = "") -> FolderInput:
    """A folder's input: its data set the folder's own (`_dataset.toml`), unless one is named;
    one named that the folder disagrees with is one line."""
    named = dataset or getattr(args, "dataset", None)
    _not_a_parent(Path(directory))
    found = held_to(Path(directory), get_dataset(named) if named else None,
                    "drop --dataset: the folder's own is read")  # fmt: skip
    return FolderInput(
        directory=directory,
        dataset=found if found is not None else get_dataset(args.default_dataset),
        # a folder's own format unless one is named; a fixed data set is landed as CSV
        format=getattr(args, "format", None) or landed_format(Path(directory)) or "csv",
        max_files_per_trigger=args.max_files_per_trigger,
        clean_source=args.clean_source or "off",
        archive_dir=args.archive_dir,
    )


def _not_a_parent(folder: Path) -> None:
    """A folder whose files are all in landed subfolders (`generator files --streams N`, a
    bundle) gives a stream no batches: say what is there instead."""
    if not folder.is_dir() or any(p.is_file() for p in folder.iterdir()):
        return
    landed = sorted(p.name for p in folder.iterdir() if (p / MANIFEST).is_file())
    if landed:
        both = " ".join(f"{folder}/{name}" for name in landed[:2])
        raise UsageError(
            f"{folder} holds no files, only the folders {', '.join(landed)}, with files of "
            "their own: read one of them"
            + (f" (or two at once: consumer multi {both})" if len(landed) > 1 else "")
        )


def socket_input(args: argparse.Namespace) -> SocketInput:
    return SocketInput(
        dataset=get_dataset(args.dataset or args.default_dataset),
        host=args.host,
        port=args.port,
        format=args.format or "csv",
        connect_timeout=getattr(args, "connect_timeout", 60.0),
    )


# --- running and output -----------------------------------------------------------------------


def add_running(p: argparse.ArgumentParser, console: OutputConfig, sinks: bool = True) -> None:
    """How long the run lasts, its trigger, and where it writes; `console`: the consumer's
    console defaults (rows shown, truncation). `sinks=False`: a consumer that writes where it
    writes (upsert) takes no sink, output mode, console or output folder options."""
    run = p.add_argument_group("running")
    run.add_argument("--timeout", type=non_negative_float, metavar="SECONDS",
                     help="stop cleanly after this many seconds, exit 0 (seconds, as PySpark's "
                     "awaitTermination takes them; Java/Scala take milliseconds). Default: "
                     "until Ctrl-C")  # fmt: skip
    trig = run.add_mutually_exclusive_group()
    trig.add_argument("--trigger", type=positive_float, metavar="SECONDS",
                      help="processing-time trigger: a micro-batch every SECONDS (default: as "
                      "soon as the last one ends)")  # fmt: skip
    trig.add_argument("--available-now", action="store_true",
                      help="work through what is there now (honouring max files per trigger), "
                      "then exit")  # fmt: skip
    run.add_argument("--quiet", action="store_true", help="no line per batch on stderr")
    out = p.add_argument_group("output")
    if sinks:
        out.add_argument("--sink", choices=SINKS,
                         help="(default: console; a memory table with --check)")  # fmt: skip
        out.add_argument("--output-mode", choices=("append", "update", "complete"),
                         help="append, update or complete, where the query allows it "
                         "(default: the query's)")  # fmt: skip
        out.add_argument(
            "--num-rows",
            type=positive_int,
            default=console.num_rows,
            metavar="N",
            help=f"rows the console shows per batch (default: {console.num_rows})",
        )
        out.add_argument("--truncate", action=argparse.BooleanOptionalAction,
                         default=console.truncate, help="truncate long values on the console "
                         f"(default: {'on' if console.truncate else 'off'})")  # fmt: skip
    out.add_argument("--checkpoint", metavar="DIR",
                     help="checkpoint folder: a restarted query resumes where it stopped "
                     "(required for file sinks)")  # fmt: skip
    if sinks:
        out.add_argument(
            "--output",
            metavar="DIR",
            help="where a parquet/csv/json sink writes (required for them)",
        )
    out.add_argument("--query-name", metavar="NAME",
                     help="query name; the table name of the memory sink")  # fmt: skip
    out.add_argument("--report", metavar="FILE.html",
                     help="when the run ends (done, timed out, Ctrl-C or failed), write one "
                     "self-contained HTML page of what it did: rows, rates, durations, "
                     "watermark, state, and for event-time queries on a folder the rows each "
                     "batch read and those dropped as late")  # fmt: skip
    out.add_argument("--progress-log", metavar="FILE",
                     help="save the progress events as JSON lines while running; `consumer "
                     "report FILE` draws the report from them again")  # fmt: skip


def run_options(args: argparse.Namespace) -> RunOptions:
    return RunOptions(
        output=OutputConfig(
            sink=getattr(args, "sink", None),  # a consumer without sink options: its own
            output_mode=getattr(args, "output_mode", None),
            num_rows=getattr(args, "num_rows", OutputConfig.num_rows),
            truncate=getattr(args, "truncate", OutputConfig.truncate),
            checkpoint=args.checkpoint,
            path=getattr(args, "output", None),
            trigger_seconds=args.trigger,
            available_now=args.available_now,
            query_name=args.query_name,
            report=args.report,
            progress_log=args.progress_log,
        ),
        timeout=args.timeout,
        quiet=args.quiet,
        log_level=args.log_level,
    )
