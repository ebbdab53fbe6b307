"""Render a table as CSV bytes, the way the seed data is written: quotes only where needed,
doubles as Python writes them (`17850.0`), timestamps as `yyyy-MM-dd HH:mm:ss`, empty for null.

Where no value needs quotes, Arrow's CSV writer does the work; where some do (its "needed" style
would quote every string), the lines are joined with pyarrow compute, quoting only those values.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

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


FORMATS = ("csv", "json")


def body(table: pa.Table, fmt: str) -> pa.Buffer:
    """The rows of `table` in format `fmt`: CSV lines, or JSON lines."""
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
