"""`consumer verify`: does a file sink hold every generated row exactly once?

Expected rows come from the files the generator's manifests list (each checked against its
recorded size and CRC-32 first); found rows from the sink's committed files — those its
`_spark_metadata` log lists, as Spark's own reader does, so files a killed batch left behind do
not count. No Spark needed: pyarrow reads both sides.
"""

from __future__ import annotations

import argparse
import json
import sys
import zlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TextIO
from urllib.parse import unquote, urlparse

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.json as pajson
import pyarrow.parquet as pq

from consumer.commands import Command
from generator.clock import Clock
from generator.datasets import get_dataset
from generator.errors import UsageError
from generator.manifest import declared, format_of, read_landed, read_manifests
from generator.options import non_negative_int
from generator.rows import fixed_clock, table
from generator.spec import Dataset
from generator.types import arrow_schema

SinkFormat = Literal["parquet", "csv", "json"]
Row = tuple[object, ...]


@dataclass(frozen=True)
class Drawn:
    """The rows a sink should hold, by seed: rows [0, rows) of the data set's sequence (as the
    `synthetic` source or `generator files` made them; event time on the clock a stream's
    checkpoint records, else on a batch read's default clock)."""

    dataset: Dataset
    seed: int
    rows: int
    clock: Clock | None = None  # the stream's, from its checkpoint; else a batch read's default


def recorded_clock(checkpoint: Path, dataset: Dataset, seed: int) -> Clock | None:
    """The event-time clock a `synthetic` stream drew its rows on, as its checkpoint's offsets
    record it (`consumer/source.py`); the seed and data set they record must be these."""
    logs = checkpoint / "offsets"
    batches = sorted((p for p in logs.glob("[0-9]*") if p.name.isdigit()),
                     key=lambda p: int(p.name)) if logs.is_dir() else []  # fmt: skip
    if not batches:
        raise UsageError(f"no offsets in {checkpoint}: not the checkpoint of a stream")
    try:
        of = json.loads(batches[-1].read_text().splitlines()[2])["of"]
        clock, drew = of["clock"], (of["dataset"], of["seed"])
    except (IndexError, KeyError, TypeError, ValueError):
        raise UsageError(f"{checkpoint} is not the checkpoint of a synthetic stream "
                         "(its offsets do not say what drew the rows)") from None  # fmt: skip
    if drew != (dataset.name, seed):
        raise UsageError(f"{checkpoint} holds a stream of {drew[0]!r} seed {drew[1]}, not "
                         f"{dataset.name!r} seed {seed}")  # fmt: skip
    if clock is None:
        return None
    return Clock(int(clock["start"]), float(clock["secondsPerRow"]), float(clock["disorder"]),
                 float(clock["lateFraction"]), float(clock["maxLateness"]))  # fmt: skip


@dataclass(frozen=True)
class VerifyConfig:
    manifests: tuple[Path, ...]  # what the generator landed, or:
    sink: Path
    format: SinkFormat = "parquet"
    drawn: Drawn | None = None  # the rows a seed makes

    def __post_init__(self) -> None:
        if bool(self.manifests) == (self.drawn is not None):
            raise UsageError(
                "verify against the generator's manifests (--manifest DIR) or a seed's rows "
                "(--seed N --rows N): name one"
            )


@dataclass(frozen=True)
class Verdict:
    files: int
    expected: int
    found: int
    missing: int
    duplicated: int
    unexpected: int
    damaged: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not (self.missing or self.duplicated or self.unexpected or self.damaged) and (
            self.expected == self.found
        )


def _rows(table: pa.Table, dataset: Dataset) -> Counter[Row]:
    table = table.select(dataset.column_names).cast(arrow_schema(dataset), safe=False)
    return Counter(
        zip(*(table.column(i).to_pylist() for i in range(table.num_columns)), strict=True)
    )


def _empty_as_null(table: pa.Table) -> pa.Table:
    """An empty CSV field as Spark's CSV reader reads it: null (its nullValue is "")."""
    import pyarrow.compute as pc

    for i, column in enumerate(table.columns):
        if pa.types.is_string(column.type):
            table = table.set_column(i, table.field(i), pc.if_else(pc.equal(column, ""), None,
                                                                   column))  # fmt: skip
    return table


def expected_rows(folders: list[Path]) -> tuple[Counter[Row], int, list[str], Dataset]:
    entries = read_manifests(folders)
    names = {e.dataset for _, e in entries}
    if len(names) != 1:
        raise UsageError(f"the manifests mix data sets: {', '.join(sorted(names))}")
    # the folder's own declaration (a spec file's data set, or one named like a built-in);
    # a folder landed before folders declared themselves: the built-in of the manifest's name
    declarations = [declared(folder) for folder in dict.fromkeys(f for f, _ in entries)]
    own = declarations[0] if all(d == declarations[0] for d in declarations) else None
    dataset = own if own is not None else get_dataset(names.pop())
    rows: Counter[Row] = Counter()
    damaged = []
    for folder, entry in entries:
        path = folder / entry.file
        data = path.read_bytes() if path.exists() else b""
        if len(data) != entry.bytes or zlib.crc32(data) != entry.crc32:
            damaged.append(str(path))
            continue
        landed = read_landed(
            pa.py_buffer(data), dataset, entry.header, format_of(entry.file, entry.format)
        )
        if format_of(entry.file, entry.format) == "csv":
            landed = _empty_as_null(landed)
        rows += _rows(landed, dataset)
    return rows, len(entries), damaged, dataset


def committed_files(sink: Path) -> list[Path]:
    """The data files a Spark file sink committed, from its `_spark_metadata` log."""
    log = sink / "_spark_metadata"
    if not log.is_dir():
        raise UsageError(f"{sink} has no _spark_metadata: not the output folder of a file sink")
    added: set[str] = set()
    deleted: set[str] = set()
    for batch in sorted(log.iterdir()):
        if batch.name.startswith("."):
            continue
        lines = batch.read_text().splitlines()
        for line in lines[1:]:  # the first line is the log's version, "v1"
            status = json.loads(line)
            path = unquote(urlparse(status["path"]).path)
            (added if status.get("action", "add") == "add" else deleted).add(path)
    return [Path(p) for p in sorted(added - deleted)]


def found_rows(sink: Path, fmt: SinkFormat, dataset: Dataset) -> Counter[Row]:
    rows: Counter[Row] = Counter()
    for path in committed_files(sink):
        if path.stat().st_size == 0:
            continue
        if fmt == "parquet":
            table = pq.read_table(path)
        elif fmt == "json":
            table = pajson.read_json(
                path, parse_options=pajson.ParseOptions(explicit_schema=arrow_schema(dataset))
            )
        else:  # Spark's CSV sink writes no header
            table = pacsv.read_csv(
                path,
                read_options=pacsv.ReadOptions(
                    column_names=[*dataset.column_names, "result"][: _csv_width(path)]
                ),
                convert_options=pacsv.ConvertOptions(column_types=arrow_schema(dataset)),
            )
        rows += _rows(table, dataset)
    return rows


def _csv_width(path: Path) -> int:
    with path.open() as f:
        first = f.readline()
    return first.count(",") + 1 if first else 0


def drawn_rows(drawn: Drawn) -> Counter[Row]:
    clock = drawn.clock if drawn.clock is not None else fixed_clock(drawn.dataset)
    return _rows(table(drawn.dataset, drawn.seed, 0, drawn.rows, clock), drawn.dataset)


def verify(config: VerifyConfig) -> Verdict:
    if config.drawn is not None:
        expected, files, damaged = drawn_rows(config.drawn), 0, list[str]()
        dataset = config.drawn.dataset
    else:
        expected, files, damaged, dataset = expected_rows(list(config.manifests))
    found = found_rows(config.sink, config.format, dataset)
    missing = sum((expected - found).values())
    extra = found - expected
    duplicated = sum(n for row, n in extra.items() if row in expected)
    unexpected = sum(n for row, n in extra.items() if row not in expected)
    return Verdict(
        files=files,
        expected=sum(expected.values()),
        found=sum(found.values()),
        missing=missing,
        duplicated=duplicated,
        unexpected=unexpected,
        damaged=tuple(damaged),
    )


def run(config: VerifyConfig, out: TextIO | None = None) -> int:
    out = out if out is not None else sys.stdout
    v = verify(config)
    if config.drawn is not None:
        d = config.drawn
        print(f"expected {v.expected} rows: {d.dataset.name}, seed {d.seed}, rows 0-{d.rows - 1}",
              file=out)  # fmt: skip
    else:
        print(f"expected {v.expected} rows in {v.files} landed files", file=out)
    print(f"found    {v.found} rows in {config.sink}", file=out)
    print(f"missing {v.missing}, duplicated {v.duplicated}, unexpected {v.unexpected}", file=out)
    for path in v.damaged:
        print(f"damaged: {path} (size or CRC-32 differs from the manifest)", file=out)
    drawn = config.drawn
    if not v.ok and drawn is not None and drawn.clock is None and drawn.dataset.event_time_column:
        print(f"hint: {drawn.dataset.name}'s event times follow the clock its stream drew them on "
              "(start, secondsPerRow or rowsPerSecond); these were drawn on a batch read's "
              "default clock: give the stream's --checkpoint DIR, whose offsets record its "
              "clock", file=out)  # fmt: skip
    print("OK: every row exactly once" if v.ok else "MISMATCH", file=out)
    return 0 if v.ok else 1


def _arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--manifest",
        nargs="+",
        default=[],
        type=Path,
        metavar="DIR",
        help="folder(s) the generator wrote (with --streams: DIR or its subdirK)",
    )
    p.add_argument("--seed", type=non_negative_int,
                   help="instead of --manifest: the seed whose rows the sink holds")  # fmt: skip
    p.add_argument("--rows", type=non_negative_int, metavar="N",
                   help="with --seed: rows 0 .. N-1 of its sequence")  # fmt: skip
    p.add_argument("--dataset", default="person", metavar="NAME",
                   help="with --seed: the data set (default: person)")  # fmt: skip
    p.add_argument("--checkpoint", type=Path, metavar="DIR",
                   help="with --seed: the synthetic stream's checkpoint, whose offsets say the "
                   "event-time clock its rows were drawn on")  # fmt: skip
    p.add_argument("--sink", required=True, type=Path, metavar="DIR", help="the sink's --output")
    p.add_argument("--format", choices=("parquet", "csv", "json"), default="parquet",
                   help="(default: parquet)")  # fmt: skip


def _config(args: argparse.Namespace) -> VerifyConfig:
    for folder in [*args.manifest, args.sink]:
        if not folder.is_dir():
            raise UsageError(f"not a folder: {folder}")
    drawn = None
    if args.seed is not None or args.rows is not None:
        if args.seed is None or args.rows is None:
            raise UsageError("verify against a seed needs --seed N and --rows N")
        dataset = get_dataset(args.dataset)
        clock = None if args.checkpoint is None else recorded_clock(args.checkpoint, dataset,
                                                                    args.seed)  # fmt: skip
        drawn = Drawn(dataset, args.seed, args.rows, clock)
    elif args.checkpoint is not None:
        raise UsageError("--checkpoint goes with --seed N --rows N (a synthetic stream's rows)")
    return VerifyConfig(tuple(args.manifest), args.sink, args.format, drawn)


COMMAND = Command(
    name="verify",
    app_name=None,
    arguments=_arguments,
    config=_config,
    run=run,
    help="check that a file sink holds every generated row exactly once (no Spark needed)",
    description="Compare the rows the generator landed (its _manifest.jsonl, each file checked "
    "against its size and CRC-32) with the rows a file sink committed (its _spark_metadata "
    "log). Exit 0 only when every row is there exactly once.",
)
