"""The report's charts, one function each, drawn with matplotlib into inline SVG (text as
paths): the page opens with no network, no scripts and no fonts fetched, and stays small."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

from consumer.report.log import PART_NAMES, PARTS, Picture, Report
from consumer.report.spark_state import watermarks

Progress = list[dict[str, Any]]
Chart = tuple[str, str]  # the SVG, and its caption: what to look for


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


def _chart(fig: Any, ax: Any, xlabel: str, caption: str, ncol: int = 1) -> Chart:
    """The chart finished: its x label and legend, and it as SVG with its caption."""
    ax.set_xlabel(xlabel)
    ax.legend(fontsize=8, ncol=ncol)
    return _svg(fig), caption


def _by_query(progress: Progress) -> dict[str, Progress]:
    out: dict[str, Progress] = {}
    for p in progress:
        out.setdefault(p.get("name") or str(p.get("id", ""))[:8], []).append(p)
    return out


def _time_axis(ax: Any, times: list[dt.datetime]) -> None:
    """Event time on the y axis as clock time (HH:MM:SS), the date(s) in the axis label."""
    import matplotlib.dates

    mdates: Any = matplotlib.dates
    ax.yaxis.set_major_formatter(mdates.DateFormatter("%H:%M:%S"))
    days = sorted({t.date().isoformat() for t in times})
    when = days[0] if len(days) == 1 else f"{days[0]} to {days[-1]}" if days else ""
    ax.set_ylabel(f"event time, UTC ({when})" if when else "event time, UTC")


def _when(seconds: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, dt.UTC)


def charts(report: Report) -> list[Chart]:
    """Every chart the report has data for, as SVG text with its caption, in the page's
    order."""
    queries = _by_query(report.progress)
    if not queries:
        return []
    out = [_rows(queries), _read(queries), _durations(queries)]
    out += [chart for chart in (_watermarks(queries), _state(queries)) if chart is not None]
    out += [_picture(pic) for pic in report.pictures]
    if report.windows:
        out.append(_windows(report.windows))
    return out


def _rows(queries: dict[str, Progress]) -> Chart:
    fig, ax = _figure("Input rows per micro-batch")
    width = 0.8 / len(queries)
    for k, (name, ps) in enumerate(queries.items()):
        ax.bar([p["batchId"] + k * width for p in ps], [p["numInputRows"] for p in ps],
               width=width, label=name)  # fmt: skip
    return _chart(
        fig,
        ax,
        "batch",
        (
            "How many rows each micro-batch read. With maxFilesPerTrigger, a batch reads at most "
            "that many files. A batch with no rows is one Spark ran to move the watermark on "
            "(stateful queries), not a stall."
        ),
    )


def _read(queries: dict[str, Progress]) -> Chart:
    fig, ax = _figure("Rows read since the run began")
    begin = min(_at(p) for ps in queries.values() for p in ps)
    for name, ps in queries.items():
        total, xs, ys = 0, [0.0], [0]
        for p in ps:
            total += p["numInputRows"]
            xs.append(
                (_at(p) - begin).total_seconds()
                + (p.get("durationMs") or {}).get("triggerExecution", 0) / 1000
            )
            ys.append(total)
        ax.step(xs, ys, where="post", marker=".", label=name)
    ax.set_ylabel("rows")
    return _chart(
        fig,
        ax,
        "seconds since the first batch began",
        (
            "Each step is a batch, drawn when it ended; the slope is the rate at which rows were "
            "read. A steady slope that flattens means the query caught up with its input and reads "
            "rows as they come. Spark's own inputRowsPerSecond (the table below) divides a batch's "
            "rows by the time since the batch before: it jumps while a backlog is read in quick "
            "batches, however slowly rows arrive."
        ),
    )


def _at(progress: dict[str, Any]) -> dt.datetime:
    return dt.datetime.fromisoformat(str(progress["timestamp"]).replace("Z", "+00:00"))


def _durations(queries: dict[str, Progress]) -> Chart:
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
            ax.bar(batches, values, bottom=bottom, label=PART_NAMES[part])
            bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    return _chart(
        fig,
        ax,
        f"batch ({name})",
        (
            "Where each batch's time went. Running the query into the sink is the work itself; "
            "recording offsets and commits is the checkpoint's cost per batch, the same however "
            "many rows the batch holds: many small batches pay it many times."
        ),
        ncol=2,
    )


def _watermarks(queries: dict[str, Progress]) -> Chart | None:
    marks = {name: watermarks(ps) for name, ps in queries.items()}
    if not any(marks.values()):
        return None
    fig, ax = _figure("Watermark")
    times = []
    for name, m in marks.items():
        if m:
            when = [_when(v) for v in m.values()]
            times += when
            ax.step([*m], when, where="post", marker=".", label=name)
    _time_axis(ax, times)
    return _chart(
        fig,
        ax,
        "batch",
        (
            "The watermark each batch ran with: the newest event time seen in the batches before, "
            "minus the delay. It only moves forward. A row older than it is late; a window that "
            "ends at or before it is final (append mode writes it then). Batch 0 has none yet."
        ),
    )


def _state(queries: dict[str, Progress]) -> Chart | None:
    states = {name: [(p["batchId"], sum(o.get("numRowsTotal", 0) for o in p["stateOperators"]),
                      sum(o.get("numRowsDroppedByWatermark", 0) for o in p["stateOperators"]))
                     for p in ps if p.get("stateOperators")]
              for name, ps in queries.items()}  # fmt: skip
    if not any(states.values()):
        return None
    fig, ax = _figure("Rows held in state, and Spark's count of rows the watermark dropped")
    for name, rows in states.items():
        if rows:
            ax.plot([r[0] for r in rows], [r[1] for r in rows], marker=".",
                    label=f"{name}: rows in state")  # fmt: skip
            ax.bar([r[0] for r in rows], [r[2] for r in rows], alpha=0.5,
                   label=f"{name}: numRowsDroppedByWatermark")  # fmt: skip
    return _chart(
        fig,
        ax,
        "batch",
        (
            "Rows in state: what the stateful operator keeps between batches (open windows, "
            "sessions, keys seen); it falls as the watermark passes them. Spark's "
            "numRowsDroppedByWatermark counts the rows the operator itself dropped; in a window "
            "aggregation that is after partial aggregation (the late rows of one window in one "
            "partition count once), so it is smaller than the late input rows the picture "
            "below marks."
        ),
    )


def _picture(pic: Picture) -> Chart:
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
    _time_axis(ax, [_when(t) for t in pic.times])
    fig.set_size_inches(9, 4.5)
    return _chart(
        fig,
        ax,
        "micro-batch that read the row",
        (
            f"Every input row ({len(pic.times)}), at the batch that read it and its event time. "
            f"Red crosses ({sum(pic.dropped)}) are rows that arrived when the watermark had passed "
            "them (or their window's end): a correct query drops them. The files each batch read "
            "come from the query's checkpoint; the watermark from Spark's progress."
        ),
    )


def _windows(windows: list[tuple[str, int, int | None]]) -> Chart:
    fig, ax = _figure("Per window: expected by the answer key, counted by Spark")
    xs = range(len(windows))
    ax.bar([x - 0.2 for x in xs], [w[1] for w in windows], width=0.4, label="expected")
    ax.bar([x + 0.2 for x in xs], [w[2] or 0 for w in windows], width=0.4, label="counted")
    ax.set_xticks(list(xs), [w[0][11:] for w in windows], rotation=60, fontsize=7)
    return _chart(
        fig,
        ax,
        f"window start, UTC ({windows[0][0][:10]})" if windows else "window start",
        (
            "The check, window by window: the answer key's count beside what the query wrote. "
            "Where the bars differ, the query kept a late row or dropped one it should not have."
        ),
    )
