"""Command line: `python -m consumer COMMAND ...` (also under spark-submit).

The commands are a table: each consumer module declares its `Command` (its arguments, the config
they build, its `run`). Every argument is checked while the config is built, before Spark
starts: bad input is one line and exit code 2. A stream that cannot go on (no server, the server
went away, a failed query, a check that differs) is one line and exit code 1.
"""

from __future__ import annotations

import sys

from consumer import (
    arguments,
    check_app,
    files_app,
    interrupt,
    join_app,
    multi_app,
    report,
    retail_app,
    sessions_app,
    socket_app,
    upsert_app,
    verify,
    watermark_app,
)
from consumer.commands import Command
from consumer.errors import EXIT_FAILED, StreamFailed
from generator.errors import EXIT_INTERRUPTED, EXIT_USAGE, UsageError
from generator.options import Parser, prog

PROG = "consumer"

COMMANDS: tuple[Command, ...] = (
    files_app.COMMAND,
    socket_app.COMMAND,
    multi_app.COMMAND,
    retail_app.COMMAND,
    watermark_app.COMMAND,
    join_app.JOIN,
    join_app.ENRICH,
    sessions_app.SESSIONS,
    sessions_app.DEDUP,
    report.COMMAND,
    verify.COMMAND,
    check_app.COMMAND,
    upsert_app.COMMAND,
)


def build_parser() -> Parser:
    parser = Parser(
        prog=prog(PROG),
        description="Spark Structured Streaming consumers: the programs of the notes, "
        "corrected, reading what `python -m generator` makes.",
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for command in COMMANDS:
        p = sub.add_parser(command.name, help=command.help, description=command.description)
        command.arguments(p)
        if command.app_name is not None:
            arguments.add_spark(p)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit code (tests call this in-process)."""
    try:
        args = build_parser().parse_args(argv)
        command = next(c for c in COMMANDS if c.name == args.command)
        config = command.config(args)
        if command.app_name is None:
            return int(command.run(config))  # done without Spark (verify, report)
        session = arguments.session_config(args, command.app_name)
    except UsageError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    from pyspark import SparkContext

    from consumer.session import build_session

    # in-process callers (tests) may have Spark running already: join it, and leave it running
    joined = SparkContext._active_spark_context is not None
    # one Ctrl-C stops the run cleanly (the report and progress log written), a second at once
    with interrupt.handled():
        started = interrupt.children()
        try:
            with interrupt.kept():
                spark = build_session(session)
        except KeyboardInterrupt:  # while the JVM starts: it is ended too
            if not joined:
                interrupt.end_children(started)
            print(f"{PROG}: interrupted", file=sys.stderr)
            return EXIT_INTERRUPTED
        if interrupt.take():  # pressed while the session was being built: as above
            print(f"{PROG}: interrupted", file=sys.stderr)
            if not joined:
                spark.stop()
            return EXIT_INTERRUPTED
        try:
            command.run(spark, config)
        except UsageError as exc:  # found once Spark runs: a source's option, a checkpoint's
            print(f"{PROG}: error: {exc}", file=sys.stderr)
            return EXIT_USAGE
        except StreamFailed as exc:
            if str(exc):  # else said already (a check's DIFFER)
                print(f"{PROG}: {exc}", file=sys.stderr)
            return EXIT_FAILED
        except KeyboardInterrupt:
            print(f"{PROG}: interrupted", file=sys.stderr)
        finally:
            if not joined:
                spark.stop()
        if interrupt.take():  # pressed while Spark finished a step it could not leave
            print(f"{PROG}: interrupted", file=sys.stderr)
            return EXIT_INTERRUPTED
    return 0
