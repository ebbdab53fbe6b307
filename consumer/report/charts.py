"""The report's charts, one function each, drawn with matplotlib into inline SVG (text as
paths): the page opens with no network, no scripts and no fonts fetched, and stays small."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

from consumer.report.log import PARTS, Picture, Report
from consumer.report.spark_state import watermarks

Progress = list[dict[str, Any]]


def _svg(fig: Any) -> str:
    import matplotlib.pyplot as plt

    buf = io.StringIO()
    # no date and fixed ids: the same run draws the same bytes (the log redraws the report)
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg") :]


def _figure(title: str) -> tuple[Any, Any]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams["svg.fonttype"] = "path"  # no font needed to show the text
    plt.rcParams["svg.hashsalt"] = "spark-stream-lab"
    fig, ax = plt.subplots(figsize=(9, 3.2))
    ax.set_title(title, loc="left", fontsize=11)
    ax.grid(True, alpha=0.3)
    return fig, ax


def _by_query(progress: Progress) -> dict[str, Progress]:
    out: dict[str, Progress] = {}
    for p in progress:
        out.setdefault(p.get("name") or str(p.get("id", ""))[:8], []).append(p)
    return out


def _time_axis(ax: Any) -> None:
    import matplotlib.dates

    mdates: Any = matplotlib.dates
    locator = mdates.AutoDateLocator()
    ax.yaxis.set_major_locator(locator)
    ax.yaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


def _when(seconds: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, dt.UTC)


def charts(report: Report) -> list[str]:
    """Every chart the report has data for, as SVG text, in the page's order."""
    queries = _by_query(report.progress)
    if not queries:
        return []
    out = [_rows(queries), _rates(queries), _durations(queries)]
    out += [svg for svg in (_watermarks(queries), _state(queries)) if svg is not None]
    out += [_picture(pic) for pic in report.pictures]
    if report.windows:
        out.append(_windows(report.windows))
    return out


def _rows(queries: dict[str, Progress]) -> str:
    fig, ax = _figure("Input rows per micro-batch")
    width = 0.8 / len(queries)
    for k, (name, ps) in enumerate(queries.items()):
        ax.bar([p["batchId"] + k * width for p in ps], [p["numInputRows"] for p in ps],
               width=width, label=name)  # fmt: skip
    ax.set_xlabel("batch")
    ax.legend(fontsize=8)
    return _svg(fig)


def _rates(queries: dict[str, Progress]) -> str:
    fig, ax = _figure("Rows per second: arriving (input) and processed")
    for name, ps in queries.items():
        batches = [p["batchId"] for p in ps]
        ax.plot(batches, [p.get("inputRowsPerSecond") or 0 for p in ps], marker=".",
                label=f"{name}: input")  # fmt: skip
        ax.plot(batches, [p.get("processedRowsPerSecond") or 0 for p in ps], marker=".",
                label=f"{name}: processed")  # fmt: skip
    ax.set_xlabel("batch")
    ax.legend(fontsize=8)
    return _svg(fig)


def _durations(queries: dict[str, Progress]) -> str:
    fig, ax = _figure("Batch duration and its parts (ms)")
    name, ps = next(iter(queries.items()))
    batches = [p["batchId"] for p in ps]
    bottom = [0.0] * len(ps)
    for part in (*PARTS, "other"):
        if part == "other":
            values = [max(0.0, (p.get("durationMs") or {}).get("triggerExecution", 0) - b)
                      for p, b in zip(ps, bottom, strict=True)]  # fmt: skip
        else:
            values = [float((p.get("durationMs") or {}).get(part, 0)) for p in ps]
        if any(values):
            ax.bar(batches, values, bottom=bottom, label=part)
            bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    ax.set_xlabel(f"batch ({name})")
    ax.legend(fontsize=8, ncol=4)
    return _svg(fig)


def _watermarks(queries: dict[str, Progress]) -> str | None:
    marks = {name: watermarks(ps) for name, ps in queries.items()}
    if not any(marks.values()):
        return None
    fig, ax = _figure("Watermark")
    for name, m in marks.items():
        if m:
            ax.step([*m], [_when(v) for v in m.values()], where="post", marker=".", label=name)
    _time_axis(ax)
    ax.set_xlabel("batch")
    ax.legend(fontsize=8)
    return _svg(fig)


def _state(queries: dict[str, Progress]) -> str | None:
    states = {name: [(p["batchId"], sum(o.get("numRowsTotal", 0) for o in p["stateOperators"]),
                      sum(o.get("numRowsDroppedByWatermark", 0) for o in p["stateOperators"]))
                     for p in ps if p.get("stateOperators")]
              for name, ps in queries.items()}  # fmt: skip
    if not any(states.values()):
        return None
    fig, ax = _figure("Rows held in state, and rows the watermark dropped")
    for name, rows in states.items():
        if rows:
            ax.plot([r[0] for r in rows], [r[1] for r in rows], marker=".",
                    label=f"{name}: in state")  # fmt: skip
            ax.bar([r[0] for r in rows], [r[2] for r in rows], alpha=0.5,
                   label=f"{name}: dropped as late")  # fmt: skip
    ax.set_xlabel("batch")
    ax.legend(fontsize=8)
    return _svg(fig)


def _picture(pic: Picture) -> str:
    fig, ax = _figure(pic.title)
    rows = list(zip(pic.batches, pic.times, pic.dropped, strict=True))
    kept = [(b, t) for b, t, d in rows if not d]
    gone = [(b, t) for b, t, d in rows if d]
    if kept:
        ax.scatter([b for b, _ in kept], [_when(t) for _, t in kept], s=6, alpha=0.5,
                   label="rows read")  # fmt: skip
    if gone:
        ax.scatter([b for b, _ in gone], [_when(t) for _, t in gone], s=30, marker="x",
                   color="red", label="dropped as late")  # fmt: skip
    if pic.watermarks:
        ax.step([*pic.watermarks], [_when(v) for v in pic.watermarks.values()], where="post",
                color="black", label="watermark")  # fmt: skip
    _time_axis(ax)
    ax.set_xlabel("micro-batch that read the row")
    ax.set_ylabel("event time")
    ax.legend(fontsize=8)
    fig.set_size_inches(9, 4.5)
    return _svg(fig)


def _windows(windows: list[tuple[str, int, int | None]]) -> str:
    fig, ax = _figure("Per window: expected by the truth, counted by Spark")
    xs = range(len(windows))
    ax.bar([x - 0.2 for x in xs], [w[1] for w in windows], width=0.4, label="expected")
    ax.bar([x + 0.2 for x in xs], [w[2] or 0 for w in windows], width=0.4, label="counted")
    ax.set_xticks(list(xs), [w[0][11:] for w in windows], rotation=60, fontsize=7)
    ax.legend(fontsize=8)
    return _svg(fig)
