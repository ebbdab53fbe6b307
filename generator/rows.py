"""Rows of a seed's sequence as Arrow record batches, with the types Spark reads: the public
surface the Spark side draws rows with. Row k depends only on (data set, seed, k), so any range
can be drawn on any machine — a Spark partition is a range — and a range drawn twice is the same.
"""

from __future__ import annotations

import pickle
import threading
from collections import OrderedDict
from collections.abc import Iterator
from typing import TYPE_CHECKING

from generator.clock import Clock, EventTime
from generator.spec import Dataset

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

    from generator.engine import Engine

_ENGINES: OrderedDict[tuple[bytes, int, Clock | None], Engine] = OrderedDict()
_LOCK = threading.Lock()


def _engine(dataset: Dataset, seed: int, clock: Clock | None) -> Engine:
    """One engine per (declaration, seed, clock) and process: pools are filled once, however
    many partitions a Python worker reads."""
    from generator.engine import Engine

    key = (pickle.dumps(dataset), seed, clock)
    with _LOCK:
        engine = _ENGINES.get(key)
        if engine is None:
            engine = _ENGINES[key] = Engine(dataset, seed, clock=clock)
            while len(_ENGINES) > 4:
                _ENGINES.popitem(last=False)
        return engine


def fixed_clock(
    dataset: Dataset, event_time: EventTime | None = None, rows_per_second: float = 1.0
) -> Clock | None:
    """The event-time clock of rows made in Spark: with no `start`, the data set's start date
    at midnight UTC (not now), so that every executor and every replayed batch draw the same
    times. None for a data set without event time."""
    import datetime as dt

    if dataset.event_time_column is None:
        return None
    day = dataset.naming.start_date
    midnight = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)
    return (event_time or EventTime()).clock(rows_per_second, now=midnight)


def spark_arrow_schema(dataset: Dataset) -> pa.Schema:
    """The Arrow types Spark takes for a data set's Spark schema (timestamps in microseconds,
    UTC; plain, not dictionary-encoded, columns)."""
    import pyarrow as pa

    from generator.types import arrow_type

    fields = []
    for column in dataset.columns:
        t = arrow_type(column.type)
        if pa.types.is_timestamp(t):
            t = pa.timestamp("us", tz="UTC")
        fields.append(pa.field(column.name, t))
    return pa.schema(fields)


def batches(
    dataset: Dataset,
    seed: int,
    start: int,
    stop: int,
    clock: Clock | None = None,
    max_rows: int | None = None,
) -> Iterator[pa.RecordBatch]:
    """Rows [start, stop) of the sequence, a record batch per segment they cross, each cut into
    batches of at most `max_rows` rows (None: a segment's whole part)."""
    import pyarrow as pa

    schema = spark_arrow_schema(dataset)
    for piece in _engine(dataset, seed, clock).pieces(start, stop):
        columns = []
        for field, column in zip(schema, piece.columns, strict=True):
            values = column.combine_chunks()
            if isinstance(values, pa.DictionaryArray):
                values = values.dictionary_decode()
            columns.append(values.cast(field.type))
        batch = pa.RecordBatch.from_arrays(columns, schema=schema)
        step = max_rows or batch.num_rows or 1
        for offset in range(0, batch.num_rows, step):
            yield batch.slice(offset, step)  # a view: no copy


def event_seconds(
    dataset: Dataset, seed: int, start: int, stop: int, clock: Clock | None = None
) -> np.ndarray:
    """The event times (epoch seconds) of rows [start, stop), for a ground truth."""
    import numpy as np
    import pyarrow as pa

    column = dataset.event_time_column
    assert column is not None
    parts = [
        p.column(column).combine_chunks().cast(pa.int64()).to_numpy(zero_copy_only=False)
        for p in _engine(dataset, seed, clock).pieces(start, stop)
    ]
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


def table(
    dataset: Dataset, seed: int, start: int, stop: int, clock: Clock | None = None
) -> pa.Table:
    """Rows [start, stop) as one table with the data set's Arrow types, as landed files read
    back (for checking a sink against a seed)."""
    import pyarrow as pa

    from generator.types import arrow_schema

    schema = arrow_schema(dataset)
    pieces = _engine(dataset, seed, clock).pieces(start, stop)
    columns = []
    for k, field in enumerate(schema):
        chunks = []
        for piece in pieces:
            values = piece.column(k).combine_chunks()
            if isinstance(values, pa.DictionaryArray):
                values = values.dictionary_decode()
            chunks.append(values.cast(field.type))
        columns.append(pa.chunked_array(chunks, field.type))
    return pa.Table.from_arrays(columns, schema=schema)


def segment_edges(dataset: Dataset, seed: int, start: int, stop: int) -> list[int]:
    """Where the engine's segments begin inside (start, stop): a range cut there draws each
    segment once (a segment is drawn whole, whichever of its rows are asked for)."""
    from generator.engine import BLOCK_ROWS

    if not dataset.daily:  # fixed blocks: no engine needed to know where they begin
        return list(range((start // BLOCK_ROWS + 1) * BLOCK_ROWS, stop, BLOCK_ROWS))
    engine = _engine(dataset, seed, None)
    edges = []
    s = engine.segment_of(start) + 1
    while (first := engine.layout(s).start) < stop:
        edges.append(first)
        s += 1
    return edges


def what_decides(dataset: Dataset, seed: int, clock: Clock | None) -> dict[str, object]:
    """Everything row k depends on besides k, as plain values: the declaration (a digest of its
    spec text), the seed, the event-time clock and the versions that decide the bytes. Two
    draws of a range are the same when these are."""
    import hashlib
    from importlib.metadata import version

    from generator.spec_file import dumps

    return {
        "dataset": dataset.name,
        "declaration": hashlib.sha256(dumps(dataset).encode()).hexdigest()[:16],
        "seed": seed,
        "clock": None if clock is None else {
            "start": clock.start, "secondsPerRow": clock.seconds_per_row,
            "disorder": clock.disorder, "lateFraction": clock.late_fraction,
            "maxLateness": clock.max_lateness,
        },
        "versions": {name: version(name) for name in ("spark-stream-lab", "faker", "numpy")},
    }  # fmt: skip
