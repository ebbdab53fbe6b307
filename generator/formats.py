"""Render a table as CSV bytes, the way the seed data is written: quotes only where needed,
doubles as Python writes them (`17850.0`), timestamps as `yyyy-MM-dd HH:mm:ss`, empty for null.

Where no value needs quotes, Arrow's CSV writer does the work; where some do (its "needed" style
would quote every string), the lines are joined with pyarrow compute, quoting only those values.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Protocol

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from generator.errors import UsageError

_NEEDS_QUOTES = r'[,"\r\n]'
_WHOLE_NUMBER = r"^-?[0-9]+$"


def _plain(values: pa.Array, cells: Callable[[pa.Array], pa.Array]) -> pa.Array | None:
    """`cells` of a chunked or dictionary array (the pool's text made once, then expanded: far
    cheaper than each row's); None for a plain array, which the caller turns to text itself."""
    if isinstance(values, pa.ChunkedArray):
        return cells(values.combine_chunks())
    if isinstance(values, pa.DictionaryArray):
        return pa.DictionaryArray.from_arrays(
            values.indices, cells(values.dictionary)
        ).dictionary_decode()
    return None


def csv_cells(values: pa.Array) -> pa.Array:
    """The CSV text of each value (null stays null: it is written as an empty field)."""
    if (done := _plain(values, csv_cells)) is not None:
        return done
    t = values.type
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return _quote_where_needed(values)
    if pa.types.is_floating(t):
        text = values.cast(pa.string())
        return pc.if_else(
            pc.match_substring_regex(text, _WHOLE_NUMBER),
            pc.binary_join_element_wise(text, ".0", ""),
            text,
        )
    if pa.types.is_timestamp(t) and t.tz is None and t.unit == "s":
        return values.cast(pa.string())  # "2010-12-01 08:26:00", 100x faster than strftime
    if pa.types.is_timestamp(t):
        return pc.strftime(values, format="%Y-%m-%d %H:%M:%S")
    return values.cast(pa.string())


def _quote_where_needed(text: pa.Array) -> pa.Array:
    # a byte search over the whole buffer first: most columns never need quotes
    if not _has_special_bytes(text):
        return text
    needs = pc.match_substring_regex(text, _NEEDS_QUOTES)
    quoted = pc.binary_join_element_wise('"', pc.replace_substring(text, '"', '""'), '"', "")
    return pc.if_else(needs, quoted, text)


def csv_body(table: pa.Table) -> pa.Buffer:
    """All rows of `table` as CSV lines ending in `\\n`, one contiguous buffer (no header)."""
    if table.num_rows == 0:
        return pa.py_buffer(b"")
    columns = [_render_numbers(c) for c in table.columns]
    if not any(_needs_quotes(c) for c in columns):
        # nothing to quote: Arrow's CSV writer, twice as fast as joining cells ourselves
        out = pa.BufferOutputStream()
        pacsv.write_csv(
            pa.Table.from_arrays(columns, names=table.column_names),
            out,
            pacsv.WriteOptions(include_header=False, quoting_style="none", batch_size=8192),
        )
        return out.getvalue()
    return joined_body(columns)


def joined_body(columns: list[pa.Array]) -> pa.Buffer:
    """CSV lines built with pyarrow compute, quoting only the values that need it."""
    cells = [csv_cells(c) for c in columns]
    # the line end joins the last column alone: far less to copy than the joined lines
    cells[-1] = pc.binary_join_element_wise(
        cells[-1], "\n", "", null_handling="replace", null_replacement=""
    )
    lines = pc.binary_join_element_wise(*cells, ",", null_handling="replace", null_replacement="")
    return _data_of(lines)


def _render_numbers(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Doubles rendered as text up front (Arrow writes 17850.0 as `17850`); the rest as is."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if isinstance(values, pa.DictionaryArray):
        if pa.types.is_floating(values.dictionary.type):
            return pa.DictionaryArray.from_arrays(values.indices, csv_cells(values.dictionary))
        return values
    return csv_cells(values) if pa.types.is_floating(values.type) else values


def _needs_quotes(values: pa.Array) -> bool:
    if isinstance(values, pa.DictionaryArray):
        values = values.dictionary
    if not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
        return False
    return _has_special_bytes(values)


def _has_special_bytes(text: pa.Array) -> bool:
    data = text.buffers()[2]
    raw = data.to_pybytes() if data is not None else b""
    return any(ch in raw for ch in (b",", b'"', b"\n", b"\r"))


def _data_of(strings: pa.Array) -> pa.Buffer:
    # the value bytes of a string array are contiguous: slice them out without a copy
    if isinstance(strings, pa.ChunkedArray):
        strings = strings.combine_chunks()
    _, offsets_buf, data = strings.buffers()
    offsets = np.frombuffer(offsets_buf, dtype=np.int32)[strings.offset :]
    start, end = int(offsets[0]), int(offsets[len(strings)])
    return data.slice(start, end - start)


def csv_header(names: list[str]) -> bytes:
    cells = csv_cells(pa.array(names, pa.string())).to_pylist()
    return (",".join(cells) + "\n").encode("utf-8")


FORMATS = ("csv", "json", "debezium")
EXTENSIONS = {"csv": "csv", "json": "json", "debezium": "json"}  # a landed file's extension


def body(table: pa.Table, fmt: str) -> pa.Buffer:
    """The rows of `table` in format `fmt`: CSV lines, JSON lines, or a change feed's rows
    as Debezium's JSON envelopes."""
    if fmt == "debezium":
        return debezium_body(table)
    return json_body(table) if fmt == "json" else csv_body(table)


def json_cells(values: pa.Array) -> pa.Array:
    """The JSON text of each value; null stays null."""
    if (done := _plain(values, json_cells)) is not None:
        return done
    t = values.type
    if pa.types.is_timestamp(t):
        # ISO 8601 with a T: the form Spark's JSON reader takes by default
        text = pc.replace_substring(csv_cells(values), " ", "T")
        return pc.binary_join_element_wise('"', text, '"', "")
    if pa.types.is_date(t):
        return pc.binary_join_element_wise('"', values.cast(pa.string()), '"', "")
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        text = values
        for plain, escaped in (("\\", "\\\\"), ('"', '\\"'), ("\n", "\\n"),
                               ("\r", "\\r"), ("\t", "\\t")):  # fmt: skip
            text = pc.replace_substring(text, plain, escaped)
        return pc.binary_join_element_wise('"', text, '"', "")
    if pa.types.is_boolean(t):
        return pc.if_else(values, "true", "false")
    return values.cast(pa.string())


def json_body(table: pa.Table) -> pa.Buffer:
    """All rows of `table` as JSON lines: one object per line, keys in column order."""
    if table.num_rows == 0:
        return pa.py_buffer(b"")
    fields = []
    for k, (name, column) in enumerate(zip(table.column_names, table.columns, strict=True)):
        key = ("{" if k == 0 else "") + json.dumps(name) + ":"
        cells = json_cells(column).fill_null("null")
        fields.append(pc.binary_join_element_wise(key, cells, ""))
    fields[-1] = pc.binary_join_element_wise(fields[-1], "}\n", "")
    return _data_of(pc.binary_join_element_wise(*fields, ","))


CONNECTOR = "spark-stream-lab"  # the envelope's source.connector


def check_format(fmt: str, dataset: _Declared) -> None:
    """`--format debezium` is for change feeds: one line for any other data set."""
    if fmt == "debezium" and dataset.changes is None:
        raise UsageError(f"--format debezium writes changes in Debezium's envelope: "
                         f"{dataset.name} is not a change feed (customer_changes is)")  # fmt: skip


class _Declared(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def changes(self) -> object: ...


def debezium_body(table: pa.Table) -> pa.Buffer:
    """A change feed's rows (op, seq, ts, then the table's columns) as the JSON lines a
    Debezium connector writes with schemas off: `before` (the row before a delete, else
    null), `after` (the row an insert or update leaves, else null), `op`, `ts_ms` (the commit
    time) and `source` (the connector, and the commit order as `seq`)."""
    if table.num_rows == 0:
        return pa.py_buffer(b"")
    names = table.column_names
    assert names[:3] == ["op", "seq", "ts"], names
    fields = []
    for k, name in enumerate(names[3:]):
        key = ("{" if k == 0 else "") + json.dumps(name) + ":"
        cells = json_cells(table.column(name).combine_chunks()).fill_null("null")
        fields.append(pc.binary_join_element_wise(key, cells, ""))
    fields[-1] = pc.binary_join_element_wise(fields[-1], "}", "")
    row = pc.binary_join_element_wise(*fields, ",")
    op = table.column("op").combine_chunks()
    if isinstance(op, pa.DictionaryArray):
        op = op.dictionary_decode()
    deleted = pc.equal(op, "d")
    before = pc.if_else(deleted, row, "null")
    after = pc.if_else(deleted, "null", row)
    ms = pc.multiply(table.column("ts").combine_chunks().cast(pa.int64()), 1000).cast(pa.string())
    seq = table.column("seq").combine_chunks().cast(pa.string())
    lines = pc.binary_join_element_wise(
        '{"before":', before, ',"after":', after, ',"source":{"connector":"' + CONNECTOR
        + '","ts_ms":', ms, ',"seq":', seq, '},"op":"', op, '","ts_ms":', ms, "}\n", ""
    )  # fmt: skip
    return _data_of(lines)


def from_debezium(envelopes: pa.Table, schema: pa.Schema) -> pa.Table:
    """Debezium envelopes read back (`debezium_body`) as the change feed's rows of `schema`:
    op, seq, ts, then each column from `after`, or from `before` for a delete."""
    op = envelopes.column("op").combine_chunks()
    deleted = pc.equal(op, "d")
    before = envelopes.column("before").combine_chunks()
    after = envelopes.column("after").combine_chunks()
    seq = pc.struct_field(envelopes.column("source").combine_chunks(), "seq")
    ms = envelopes.column("ts_ms").combine_chunks()
    arrays = [op, seq.cast(schema.field("seq").type),
              pc.divide(ms, 1000).cast(pa.int64()).cast(schema.field("ts").type)]  # fmt: skip
    for field in list(schema)[3:]:
        arrays.append(pc.if_else(deleted, pc.struct_field(before, field.name),
                                 pc.struct_field(after, field.name)).cast(field.type))  # fmt: skip
    return pa.Table.from_arrays(arrays, schema=schema)


def debezium_schema(schema: pa.Schema) -> pa.Schema:
    """The envelope's schema for a change feed of `schema` (its columns after op, seq, ts)."""
    row = pa.struct(list(schema)[3:])
    source = pa.struct([("connector", pa.string()), ("ts_ms", pa.int64()), ("seq", pa.int64())])
    return pa.schema([("before", row), ("after", row), ("source", source),
                      ("op", pa.string()), ("ts_ms", pa.int64())])  # fmt: skip
