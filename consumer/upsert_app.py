"""`consumer upsert DIR --into URL --table NAME`: a change feed kept as a table in a database.

The production job people write most: a `foreachBatch` that deduplicates the batch's changes
(a copy has the same `seq`), applies them by `seq` (an older change never overwrites a newer
one; a delete removes the row) and records the batch's id in the same transaction, so a batch
Spark runs again after a failure changes nothing (`consumer/tables.py`). With `--check`, the
table is compared with the folder's answer key once the run ends: `_truth_table.jsonl` (SCD
type 1) or `_truth_history.jsonl` (SCD type 2).
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from consumer import arguments, checks, runner
from consumer.commands import Command
from consumer.inputs import FolderInput
from consumer.output import OutputConfig, OutputMode, in_batch
from consumer.runner import RunOptions
from consumer.tables import BATCHES, Change, Target, Writer
from generator.answers import HISTORY_TRUTH, TABLE_TRUTH, load_history, load_table
from generator.errors import UsageError
from generator.spec import Dataset, quote_name

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

MODES: tuple[OutputMode, ...] = ("append",)
OWN_COLUMNS = ("valid_from", "valid_to", "current", "_seq")  # the target table's own
QUIET = OutputConfig(num_rows=20)


@dataclass(frozen=True)
class UpsertConfig:
    source: FolderInput
    target: Target
    scd: int = 1
    check: bool = False
    run: RunOptions = RunOptions(QUIET)
    naive: bool = False  # each change as it comes: what a first version does (lesson 11)

    def __post_init__(self) -> None:
        if self.scd not in (1, 2):
            raise UsageError(
                f"--scd is 1 (the table as it stands) or 2 (every version), not {self.scd}"
            )
        ds = self.source.dataset
        if ds.changes is None:
            raise UsageError(
                f"{ds.name} is not a change feed (customer_changes is; a spec with [changes] is)"
            )
        kept = [c.name for c in ds.table_columns if c.name.lower() in OWN_COLUMNS]
        if kept:
            own = ", ".join(OWN_COLUMNS)
            raise UsageError(f"column {kept[0]!r} of {ds.name}: upsert keeps a column of that "
                             f"name itself ({own}): rename it in the spec")  # fmt: skip
        output = self.run.output
        for option, value in (
            ("--sink", output.sink),
            ("--output", output.path),
            ("--output-mode", output.output_mode),
        ):
            if value is not None:
                raise UsageError(
                    f"{option} does not apply: upsert writes to --into, in append mode"
                )
        output.check(MODES)
        if self.check:
            key = Path(self.source.directory) / self.key_file
            if not key.exists():
                raise UsageError(f"no answer key at {key}: land the feed with `generator files`")
            if not output.available_now and self.run.timeout is None:
                raise UsageError(
                    "--check compares once the run ends: give --available-now or --timeout SECONDS"
                )

    @property
    def key_file(self) -> str:
        return TABLE_TRUTH if self.scd == 1 else HISTORY_TRUTH

    @property
    def name(self) -> str:
        return self.run.output.query_name or "upsert"

    def writer(self) -> Writer:
        ds = self.source.dataset
        assert ds.key is not None
        table = [c for c in ds.table_columns if c.name != ds.key]
        key_type = next(c.type for c in ds.table_columns if c.name == ds.key)
        return Writer(
            self.target,
            ds.key,
            [c.name for c in table],
            [key_type, *(c.type for c in table)],
            self.scd,
            self.naive,
        )


def changes_of(batch: DataFrame, dataset: Dataset, naive: bool = False) -> list[Change]:
    """A batch's changes, each once (copies have the same seq; `naive`: copies kept, in the
    order they came), as plain values; times as UTC text and dates as ISO text, as the answer
    keys write them."""
    from pyspark.sql import functions as F

    key = dataset.key
    assert key is not None
    others = [c for c in dataset.table_columns if c.name != key]

    def text(name: str, type_: str) -> Column:
        column = F.col(quote_name(name))
        if type_ == "TIMESTAMP":
            return F.date_format(column, "yyyy-MM-dd HH:mm:ss").alias(name)
        return column.cast("string").alias(name) if type_ == "DATE" else column

    picked = [text(key, "key"), F.col("seq"), F.col("op"), text("ts", "TIMESTAMP"),
              *(text(c.name, c.type) for c in others)]  # fmt: skip
    rows = (batch if naive else batch.dropDuplicates(["seq"])).select(*picked).toArrow()
    return [(r[key], r["seq"], r["op"], r["ts"], [r[c.name] for c in others])
            for r in rows.to_pylist()]  # fmt: skip


def writer_id(checkpoint: str | None) -> str:
    """Whose batches these are: the query's id, which its checkpoint keeps across restarts
    (a new checkpoint is a new writer, whose batch 0 is not another's)."""
    if checkpoint is None:
        return f"run-{uuid.uuid4()}"  # a checkpoint of Spark's own, gone when the run ends
    metadata = Path(checkpoint) / "metadata"
    return str(json.loads(metadata.read_text().splitlines()[0])["id"])


def run(spark: SparkSession, config: UpsertConfig, err: TextIO | None = None) -> None:
    spark.conf.set("spark.sql.session.timeZone", "UTC")
    writer = config.writer()
    with config.target.connect() as conn:
        writer.create(conn)
    state: dict[str, Any] = {}

    def upsert(batch: DataFrame, batch_id: int) -> None:
        if "writer" not in state:  # the checkpoint's metadata is there by the first batch
            state["writer"] = writer_id(config.run.output.checkpoint)
        changes = changes_of(batch, config.source.dataset, config.naive)
        with config.target.connect() as conn:
            applied = writer.apply(conn, state["writer"], batch_id, changes)
        if not applied:
            print(
                f"consumer: batch {batch_id} was applied before ({BATCHES} says so): "
                "nothing changed",
                file=err or sys.stderr,
                flush=True,
            )

    stream = runner.Stream(
        config.source,
        lambda df: df,
        config.name,
        batch=in_batch(upsert),
        about=(
            ("into", f"{config.target.url} table {config.target.table}, SCD type {config.scd}"),
        ),
    )

    def compare(_: SparkSession) -> checks.Verdict:
        return check(config, writer)

    runner.run(
        spark,
        [stream],
        config.run,
        MODES,
        consumer="consumer upsert",
        check=compare if config.check else None,
        err=err,
    )


def check(config: UpsertConfig, writer: Writer) -> checks.Verdict:
    """The table against the answer key: the same records, every column, as many times."""
    path = Path(config.source.directory) / config.key_file
    expected = load_table(path) if config.scd == 1 else load_history(path)
    with config.target.connect() as conn:
        found = writer.rows(conn)
    names = [writer.key, *writer.columns]
    if config.scd == 2:
        names += ["valid_from", "valid_to", "current"]
    want = Counter(tuple(r.get(n) for n in names) for r in expected)
    got = Counter(tuple(r.get(n) for n in names) for r in found)
    missing, extra = sorted((want - got).elements()), sorted((got - want).elements())
    what = "rows" if config.scd == 1 else "versions"
    verdict = checks.Verdict(
        table=[["", "answer key", f"table {config.target.table}"],
               [what, want.total(), got.total()], ["missing from the table", "", len(missing)],
               ["not in the key", "", len(extra)]],
        good=not (missing or extra), what=f"the table's {what}",
        summary=f"table {config.target.table} against {config.key_file}")  # fmt: skip
    verdict.missing("missing", [", ".join(map(str, m)) for m in missing])
    verdict.missing("not in the key", [", ".join(map(str, e)) for e in extra])
    return verdict


def _arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("directory", metavar="DIR", help="folder the change feed lands in")
    p.add_argument(
        "--into",
        required=True,
        metavar="URL",
        help="the database: sqlite:///PATH (a file; no server) or postgresql://USER@HOST/DB",
    )
    p.add_argument("--table", required=True, metavar="NAME", help="the table kept up to date")
    p.add_argument(
        "--scd",
        type=int,
        default=1,
        metavar="1|2",
        help="1: the table as it stands (default); 2: every version, with "
        "valid_from, valid_to and current",
    )
    p.add_argument(
        "--check",
        action="store_true",
        help="when the run ends, compare the table with the folder's answer key "
        "(_truth_table.jsonl; _truth_history.jsonl with --scd 2)",
    )
    p.add_argument(
        "--naive",
        action="store_true",
        help="apply each change as it arrives: no seq order, copies kept, no batch "
        "ids: what a first version does, to see what it gets wrong (lesson 11)",
    )
    arguments.add_input(p, dataset="customer_changes", kinds=("folder",))
    arguments.add_running(p, QUIET, sinks=False)


def _config(args: argparse.Namespace) -> UpsertConfig:
    return UpsertConfig(
        arguments.folder_input(args, args.directory),
        Target(args.into, args.table),
        args.scd,
        args.check,
        arguments.run_options(args),
        args.naive,
    )


COMMAND = Command(
    name="upsert",
    app_name="Upsert a change feed",
    arguments=_arguments,
    config=_config,
    run=run,
    help="keep a table in SQLite or PostgreSQL up to date from a change feed (foreachBatch)",
    description="A change feed (customer_changes) applied to a database table, one "
    "transaction per micro-batch: copies dropped, changes applied by seq, the batch id "
    "recorded so a batch run again changes nothing. --check compares the table with the "
    "answer key.",
)
