"""What a streaming query does, read from Spark's own plans: its stateful operator (an
aggregation, a deduplication, or one the no-streaming twin cannot stand in for), the event-time
column of its watermark, its window (length, slide, offset), the columns that key its result,
and the expressions Spark computes anew each time (`rand()`, `current_timestamp()`, `uuid()`).

Spark gives the analyzed plan (resolved names, the stateful operators) and the logical plan
as the query was written (the `window(...)` call with its interval strings: once analyzed, a
window is arithmetic). Both are read as Spark serialises them (`TreeNode.toJSON`): a list of
nodes in pre-order. A classic session only (py4j); a Spark Connect client has no plans to read.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from generator.answers import Lateness

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

Stateful = Literal["none", "aggregate", "dedup"]

# operators whose result the same query without streaming does not give: the answer keys check
# them (docs/answer-keys.md)
NOT_EXACT = {
    "Join": "a join of two streams",
    "FlatMapGroupsWithState": "state of one's own (applyInPandasWithState)",
    "TransformWithState": "state of one's own (transformWithState)",
    "TransformWithStateInPySpark": "state of one's own (transformWithStateInPandas)",
    "DeduplicateWithinWatermark": "dropDuplicatesWithinWatermark (its state expires on the "
    "watermark, not the event time)",
}
# expressions Spark evaluates once per micro-batch (a stream) or per query (its twin)
TIME_NOW = {"CurrentTimestamp", "Now", "CurrentDate", "LocalTimestamp", "CurrentBatchTimestamp"}


@dataclass(frozen=True)
class Window:
    """A `window(column, length, slide, offset)`, in seconds; `column` None when the window
    is over an expression (`current_timestamp()`) rather than a column."""

    column: str | None
    length: int
    slide: int
    offset: int = 0

    def lateness(self) -> Lateness:
        """The answer keys' rule for this window: a row is late when its last window ended."""
        return Lateness("window", self.length, self.slide, self.offset)


@dataclass(frozen=True)
class Shape:
    stateful: Stateful
    watermark: str | None  # the event-time column of withWatermark
    window: Window | None
    keys: tuple[str, ...]  # what keys the result: the grouping columns, the dedup columns
    moving: tuple[str, ...]  # expressions computed anew each time (rand, current_timestamp)
    not_exact: str | None  # why the no-streaming twin cannot stand in for the stream


def _nodes(plan: Any) -> list[dict[str, Any]]:
    return list(json.loads(plan.toJSON()))


def _short(node: dict[str, Any]) -> str:
    return str(node["class"]).rsplit(".", 1)[-1]


def shape_of(spark: SparkSession, df: DataFrame) -> Shape:
    """The shape of the streaming query `df`."""
    execution = df._jdf.queryExecution()
    analyzed = execution.analyzed()
    nodes = _nodes(analyzed)
    names = [_short(n) for n in nodes]
    not_exact = next((why for cls, why in NOT_EXACT.items() if cls in names), None)
    stateful_nodes = [n for n in nodes if _short(n) in ("Aggregate", "Deduplicate")]
    if len(stateful_nodes) > 1 and not_exact is None:
        not_exact = "two stateful operators, one over the other"
    watermark = next((n["eventTime"][0]["name"] for n in nodes
                      if _short(n) == "EventTimeWatermark"), None)  # fmt: skip
    stateful: Stateful = "none"
    keys: tuple[str, ...] = ()
    if stateful_nodes:
        top = stateful_nodes[0]
        if _short(top) == "Aggregate":
            stateful = "aggregate"
            keys = tuple(_name(e) for e in top["aggregateExpressions"] if not _aggregates(e))
        else:
            stateful = "dedup"
            keys = tuple(_name(e) for e in top["keys"])
    logical = _nodes(execution.logical())
    window, session = _window(spark, logical)
    if session and not_exact is None:
        not_exact = "session windows (a session's end moves with each row)"
    return Shape(stateful, watermark, window, keys, _moving(analyzed), not_exact)


def _aggregates(expression: list[dict[str, Any]]) -> bool:
    return any(_short(x).endswith("AggregateExpression") for x in expression)


def _name(expression: list[dict[str, Any]]) -> str:
    return str(expression[0].get("name", ""))


def _window(spark: SparkSession, logical: list[dict[str, Any]]) -> tuple[Window | None, bool]:
    """The query's `window(...)` call, its interval strings in seconds; whether it has a
    `session_window(...)`."""
    session = False
    for node in logical:
        for value in node.values():
            for expression in value if isinstance(value, list) else []:
                for i, e in enumerate(expression if isinstance(expression, list) else []):
                    if not isinstance(e, dict) or _short(e) != "UnresolvedFunction":
                        continue
                    if e.get("nameParts") == "[session_window]":
                        session = True
                    if e.get("nameParts") != "[window]":
                        continue
                    time, *args = [expression[j] for j in _children(expression, i)]
                    texts = [a.get("value") for a in args if _short(a) == "Literal"]
                    column = (str(time["nameParts"]).strip("[]")
                              if _short(time) == "UnresolvedAttribute" else None)  # fmt: skip
                    if texts:
                        length, *rest = [_seconds(spark, str(t)) for t in texts]
                        slide = rest[0] if rest else length
                        offset = rest[1] if len(rest) > 1 else 0
                        return Window(column, length, slide, offset), session
    return None, session


def _children(expression: list[dict[str, Any]], i: int) -> list[int]:
    """The places of a node's children in an expression flattened in pre-order."""
    out, j = [], i + 1
    for _ in range(int(expression[i]["num-children"])):
        out.append(j)
        j = _end(expression, j)
    return out


def _end(expression: list[dict[str, Any]], i: int) -> int:
    """One past the last place of the subtree at `i`."""
    kids = _children(expression, i)
    return _end(expression, kids[-1]) if kids else i + 1


def _seconds(spark: SparkSession, interval: str) -> int:
    """An interval string as Spark reads it ("1 minute", "30 seconds"), in seconds."""
    row = spark.sql("SELECT unix_micros(TIMESTAMP'1970-01-01 00:00:00Z' + CAST(:s AS INTERVAL))",
                    args={"s": interval}).first()  # fmt: skip
    assert row is not None
    return int(row[0]) // 1_000_000


def _moving(plan: Any) -> tuple[str, ...]:
    """The innermost expressions Spark calls non-deterministic, and the current time's."""
    found: list[str] = []
    stack = [plan]
    while stack:
        node = stack.pop()
        expressions = node.expressions()
        todo = [expressions.apply(i) for i in range(expressions.size())]
        while todo:
            e = todo.pop()
            children = [e.children().apply(j) for j in range(e.children().size())]
            inner = not e.deterministic() and all(c.deterministic() for c in children)
            if inner or e.getClass().getSimpleName() in TIME_NOW:
                name = f"{e.prettyName()}()"
                if name not in found:
                    found.append(name)
            todo += children
        stack += [node.children().apply(j) for j in range(node.children().size())]
    return tuple(found)
