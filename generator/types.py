"""Column types: the name a declaration uses (Spark DDL), Spark's JSON name and the Arrow type,
side by side in one place. pyarrow is imported only when an Arrow type is asked for, so that
`generator schema` starts without it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import pyarrow as pa


class _Typed(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def type(self) -> str: ...


class _Columns(Protocol):
    """A data set as far as its types go (types sit below the declarations)."""

    @property
    def columns(self) -> Sequence[_Typed]: ...


@dataclass(frozen=True)
class ColumnType:
    ddl: str  # as written in a declaration and in Spark DDL: "INT"
    spark: str  # Spark's JSON schema name: "integer"
    arrow: str  # the pyarrow factory: "int32"

    def arrow_type(self) -> pa.DataType:
        import pyarrow as pa

        if self.arrow == "timestamp":
            return pa.timestamp("s")  # whole seconds, as the CSV files write them
        factory = getattr(pa, self.arrow)
        result: pa.DataType = factory()
        return result


TYPES: Mapping[str, ColumnType] = {
    t.ddl: t
    for t in (
        ColumnType("STRING", "string", "string"),
        ColumnType("INT", "integer", "int32"),
        ColumnType("BIGINT", "long", "int64"),
        ColumnType("DOUBLE", "double", "float64"),
        ColumnType("BOOLEAN", "boolean", "bool_"),
        ColumnType("DATE", "date", "date32"),
        ColumnType("TIMESTAMP", "timestamp", "timestamp"),
    )
}


def arrow_type(ddl: str) -> pa.DataType:
    return TYPES[ddl].arrow_type()


def arrow_schema(dataset: _Columns) -> pa.Schema:
    """The Arrow types a data set's columns are drawn as and read back as."""
    import pyarrow as pa

    return pa.schema([(c.name, arrow_type(c.type)) for c in dataset.columns])


def plain(column: pa.ChunkedArray | pa.Array) -> pa.Array:
    """One array of plain values (chunks joined, dictionaries decoded)."""
    import pyarrow as pa

    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    if isinstance(column, pa.DictionaryArray):
        column = column.dictionary_decode()
    return column
