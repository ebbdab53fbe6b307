"""What a streaming query does, read from Spark's own plans: its stateful operator (an
aggregation, a deduplication, or one the no-streaming twin cannot stand in for), the watermark
it judges late rows by, its window (length, slide, offset), the columns that key its result,
and the expressions Spark computes anew each time (`rand()`, `current_timestamp()`, `uuid()`).

The analyzed plan is walked through py4j: its operators, and the metadata Spark's analyzer
puts on columns (`spark.watermarkDelayMs` on the watermark's column and on a window derived
from it, `spark.timeWindow`, `spark.sessionWindow`), renamed or not. A window's intervals are
read from the plan as written (`window(...)` with its strings: once analyzed, a window is
arithmetic); where it is out of reach (written below the last operator), the check reads them
from the windows the query writes. A classic session only: a Spark Connect client has no plans.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from generator.answers import Lateness

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

Stateful = Literal["none", "aggregate", "dedup"]
DELAY, TIME_WINDOW, SESSION_WINDOW = (
    "spark.watermarkDelayMs",
    "spark.timeWindow",
    "spark.sessionWindow",
)

# operators whose result the same query without streaming does not give: the answer keys check
# the toolkit's own (docs/answer-keys.md)
NOT_EXACT = {
    "FlatMapGroupsWithState": "state of one's own (mapGroupsWithState)",
    "FlatMapGroupsInPandasWithState": "state of one's own (applyInPandasWithState)",
    "TransformWithState": "state of one's own (transformWithState)",
    "TransformWithStateInPySpark": "state of one's own (transformWithStateInPandas)",
    "DeduplicateWithinWatermark": "dropDuplicatesWithinWatermark (its state expires on the "
    "watermark, not the event time)",
    "GlobalLimit": "a limit (which rows it keeps depends on the micro-batches)",
}
# expressions Spark evaluates once per micro-batch (a stream) or per query (its twin)
TIME_NOW = {"CurrentTimestamp", "Now", "CurrentDate", "LocalTimestamp", "CurrentBatchTimestamp"}


@dataclass(frozen=True)
class Window:
    """A `window(column, length, slide, offset)`, in seconds."""

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
    watermark_read: bool  # ... a column of the input as read (not one the query computed)
    # the column the stateful operator judges its input rows by, when it drops late ones: the
    # watermark's own (by event time) or a window over it (by the window's end)
    judged_by: Literal["event", "window"] | None
    keyed: bool  # its state is keyed by that column (a group closes when the watermark passes)
    window: Window | None  # the window's intervals, where the plan as written gives them
    window_column: str | None  # the result's window column (its name there)
    keys: tuple[str, ...]  # what keys the result: the grouping columns, the dedup columns
    moving: tuple[str, ...]  # expressions computed anew each time (rand, current_timestamp)
    not_exact: str | None  # why the no-streaming twin cannot stand in for the stream


def _nodes(plan: Any) -> list[Any]:
    """The plan's operators, parents first."""
    out, stack = [], [plan]
    while stack:
        node = stack.pop()
        out.append(node)
        children = node.children()
        stack += [children.apply(j) for j in reversed(range(children.size()))]
    return out


def _list(seq: Any) -> list[Any]:
    return [seq.apply(i) for i in range(seq.size())]


def _attributes(node: Any) -> list[tuple[str, dict[str, Any]]]:
    """A node's output columns: their names and metadata."""
    out = node.output()
    return [(str(out.apply(i).name()), json.loads(out.apply(i).metadata().json()))
            for i in range(out.size())]  # fmt: skip


def shape_of(spark: SparkSession, df: DataFrame) -> Shape:
    """The shape of the streaming query `df`."""
    execution = df._jdf.queryExecution()
    analyzed = execution.analyzed()
    # the stream's operators (not a static side's: a stream-static join's table)
    nodes = [n for n in _nodes(analyzed) if n.isStreaming()]
    names = [str(n.getClass().getSimpleName()) for n in nodes]
    not_exact = next((why for cls, why in NOT_EXACT.items() if cls in names), None)
    for node, name in zip(nodes, names, strict=True):
        if name == "Join" and node.left().isStreaming() and node.right().isStreaming():
            not_exact = not_exact or "a join of two streams"
    stateful_nodes = [(n, c) for n, c in zip(nodes, names, strict=True)
                      if c in ("Aggregate", "Deduplicate")]  # fmt: skip
    if len(stateful_nodes) > 1:
        not_exact = not_exact or "two stateful operators, one over the other"
    marks = [n for n, c in zip(nodes, names, strict=True) if c == "EventTimeWatermark"]
    watermark = str(marks[0].eventTime().name()) if marks else None
    # a watermark on a column the source gives, unchanged (not one the query computed)
    read = {int(a.exprId().id()) for n, c in zip(nodes, names, strict=True)
            if c.startswith("StreamingRelation") for a in _list(n.output())}  # fmt: skip
    given = bool(marks) and int(marks[0].eventTime().exprId().id()) in read
    result = _attributes(analyzed)
    if any(SESSION_WINDOW in meta for _, meta in result) or any(
        SESSION_WINDOW in meta for n, _ in stateful_nodes for _, meta in _attributes(n)
    ):
        not_exact = not_exact or "session windows (a session's end moves with each row)"
    stateful: Stateful = "none"
    keys: tuple[str, ...] = ()
    judged_by: Literal["event", "window"] | None = None
    keyed = False
    if stateful_nodes:
        top, kind = stateful_nodes[0]
        stateful = "aggregate" if kind == "Aggregate" else "dedup"
        keys = _keys(top, kind)
        # Spark drops the input rows the first watermarked column of the operator's input
        # says are late (WatermarkSupport.watermarkPredicateForData)
        marked = [(name, meta) for name, meta in _attributes(top.child()) if DELAY in meta]
        if marked:
            judged_by = "window" if TIME_WINDOW in marked[0][1] else "event"
        keyed = any(DELAY in meta for _, meta in _key_attributes(top, kind))
    window_column = next((name for name, meta in result if TIME_WINDOW in meta), None)
    window = _window(spark, json.loads(execution.logical().toJSON()))
    return Shape(stateful, watermark, given, judged_by, keyed, window, window_column, keys,
                 _moving(nodes, names), not_exact)  # fmt: skip


def _key_attributes(node: Any, kind: str) -> list[tuple[str, dict[str, Any]]]:
    exprs = node.groupingExpressions() if kind == "Aggregate" else node.keys()
    out = []
    for i in range(exprs.size()):
        e = exprs.apply(i)
        if e.getClass().getSimpleName() == "AttributeReference":
            out.append((str(e.name()), json.loads(e.metadata().json())))
    return out


def _keys(node: Any, kind: str) -> tuple[str, ...]:
    """The names its result is keyed by: a dedup's columns, an aggregation's outputs that are
    not aggregates (its groupBy columns, as the result names them)."""
    if kind == "Deduplicate":
        return tuple(name for name, _ in _key_attributes(node, kind))
    outputs = json.loads(node.toJSON())[0]["aggregateExpressions"]
    return tuple(str(e[0].get("name", "")) for e in outputs if not _aggregates(e))


def _aggregates(expression: list[dict[str, Any]]) -> bool:
    return any(str(x["class"]).endswith("AggregateExpression") for x in expression)


def _short(node: dict[str, Any]) -> str:
    return str(node["class"]).rsplit(".", 1)[-1]


def _window(spark: SparkSession, logical: list[dict[str, Any]]) -> Window | None:
    """The query's `window(...)` call, where the plan as written still has it (the last
    operator), its interval strings in seconds."""
    for node in logical:
        for value in node.values():
            for expression in _expressions(value):
                ends = _subtree_ends(expression)
                for i, e in enumerate(expression):
                    if not isinstance(e, dict) or _short(e) != "UnresolvedFunction":
                        continue
                    if str(e.get("nameParts")).lower() != "[window]":
                        continue
                    args, j = [], i + 1
                    for _ in range(int(e["num-children"])):
                        args.append(expression[j])
                        j = ends[j]
                    texts = [a.get("value") for a in args[1:] if _short(a) == "Literal"]
                    if texts and len(texts) == len(args) - 1:
                        length, *rest = [_seconds(spark, str(t)) for t in texts]
                        slide = rest[0] if rest else length
                        return Window(length, slide, rest[1] if len(rest) > 1 else 0)
    return None


def _expressions(value: Any) -> Iterator[list[dict[str, Any]]]:
    """The expressions (each flattened in pre-order) in a node's field, however nested."""
    if isinstance(value, list):
        if value and all(isinstance(x, dict) and "class" in x for x in value):
            yield value
        else:
            for item in value:
                yield from _expressions(item)


def _subtree_ends(expression: list[dict[str, Any]]) -> list[int]:
    """For each place of an expression flattened in pre-order, one past its subtree's end."""
    ends = [0] * len(expression)

    def end(i: int) -> int:
        j = i + 1
        for _ in range(int(expression[i].get("num-children", 0))):
            j = end(j)
        ends[i] = j
        return j

    i = 0
    while i < len(expression):
        i = end(i)
    return ends


def _seconds(spark: SparkSession, interval: str) -> int:
    """An interval string as Spark reads it ("1 minute", "30 seconds"), in seconds."""
    row = spark.sql("SELECT unix_micros(TIMESTAMP'1970-01-01 00:00:00Z' + CAST(:s AS INTERVAL))",
                    args={"s": interval}).first()  # fmt: skip
    assert row is not None
    return int(row[0]) // 1_000_000


def _moving(nodes: list[Any], names: list[str]) -> tuple[str, ...]:
    """The innermost expressions Spark calls non-deterministic, the current time's, and a
    sample's rows (its seed drawn anew each time the query is built)."""
    found: list[str] = ["sample()"] if "Sample" in names else []
    for node in nodes:
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
    return tuple(found)
