"""What a run did, as one self-contained HTML file: `--report FILE.html` on every consumer,
`--progress-log FILE` (the listener's progress events as JSON lines, written while the run
goes), and `python -m consumer report LOG` to draw the report again from such a log.

Charts are drawn with matplotlib into inline SVG (text as paths): the file opens with no
network, no scripts and no fonts fetched, and stays small. For event-time queries on a folder
the report also shows the picture of Spark's guide drawn from the run itself: each row's event
time against the micro-batch that read it (the files each batch read come from the checkpoint's
source log), the watermark as a line, and the rows the watermark dropped marked.
"""

from __future__ import annotations

import argparse
import datetime as dt
import html
import io
import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from consumer.commands import Command
from consumer.progress import Listener
from generator.answers import Lateness
from generator.errors import UsageError

PARTS = ("latestOffset", "getBatch", "queryPlanning", "addBatch", "walCommit", "commitOffsets")


@dataclass
class Picture:
    """Event times of the rows each batch read, and which of them the watermark dropped."""

    title: str
    batches: list[int] = field(default_factory=list)  # per row
    times: list[int] = field(default_factory=list)  # epoch seconds, per row
    dropped: list[bool] = field(default_factory=list)  # per row
    watermarks: dict[int, int] = field(default_factory=dict)  # batch -> W(b), epoch seconds


@dataclass
class Report:
    settings: dict[str, str]
    progress: list[dict[str, Any]] = field(default_factory=list)
    outcome: str = "running"
    pictures: list[Picture] = field(default_factory=list)
    windows: list[tuple[str, int, int | None]] = field(default_factory=list)  # --check

    def lines(self) -> Iterator[dict[str, Any]]:
        """The report as the JSON lines of a progress log (settings first, then the events)."""
        yield {"settings": self.settings}
        for p in self.progress:
            yield {"progress": p}
        for pic in self.pictures:
            yield {"picture": pic.__dict__}
        if self.windows:
            yield {"windows": self.windows}
        yield {"outcome": self.outcome}


class Recorder(Listener):
    """Keeps every progress event (and appends it to the progress log, if any)."""

    def __init__(self, report: Report, log: Path | None) -> None:
        super().__init__()
        self.report = report
        self._log: TextIO | None = None
        if log is not None:
            log.parent.mkdir(parents=True, exist_ok=True)
            self._log = log.open("w")
            self._write({"settings": report.settings})

    def _write(self, line: dict[str, Any]) -> None:
        if self._log is not None:
            self._log.write(json.dumps(line, separators=(",", ":")) + "\n")
            self._log.flush()

    def onQueryProgress(self, event: Any) -> None:
        progress = json.loads(event.progress.json)
        self.report.progress.append(progress)
        self._write({"progress": progress})

    def onQueryIdle(self, event: Any) -> None:
        pass

    def close(self) -> None:
        """The run is over: the pictures, the check and the outcome go to the log too."""
        for pic in self.report.pictures:
            self._write({"picture": pic.__dict__})
        if self.report.windows:
            self._write({"windows": self.report.windows})
        self._write({"outcome": self.report.outcome})
        if self._log is not None:
            self._log.close()
            self._log = None


def load_log(path: Path) -> Report:
    """A report from a progress log (a torn last line, from a killed run, is left out)."""
    report = Report(settings={})
    raws = path.read_text().splitlines()
    for number, raw in enumerate(raws, 1):
        try:
            line = json.loads(raw)
        except ValueError:
            if number == len(raws):
                break
            raise
        if "settings" in line:
            report.settings = line["settings"]
        elif "progress" in line:
            report.progress.append(line["progress"])
        elif "picture" in line:
            pic = Picture(**line["picture"])
            pic.watermarks = {int(k): int(v) for k, v in pic.watermarks.items()}  # JSON keys
            report.pictures.append(pic)
        elif "windows" in line:
            report.windows = [(str(w[0]), int(w[1]), w[2]) for w in line["windows"]]
        elif "outcome" in line:
            report.outcome = line["outcome"]
    if report.outcome == "running":
        report.outcome = "unknown (the log ends without one: the run was killed?)"
    return report


# --- the event-time picture -------------------------------------------------------------------


def files_per_batch(checkpoint: Path, source: int, progress: list[dict[str, Any]],
                    query: str | None = None) -> dict[int, list[Path]]:  # fmt: skip
    """The files each batch of a file-source query read, from the checkpoint's source log."""
    out: dict[int, list[Path]] = {}
    log = checkpoint / "sources" / str(source)
    for p in progress:
        if query is not None and p.get("name") != query:
            continue
        sources = p.get("sources") or []
        if source >= len(sources):
            continue
        start, end = _offset(sources[source].get("startOffset")), _offset(
            sources[source].get("endOffset"))  # fmt: skip
        if end is None:
            continue
        files: list[Path] = []
        for n in range((start if start is not None else -1) + 1, end + 1):
            # every 10th entry of the log is compacted: it lists all files so far, each with
            # the batch that read it
            entry = log / str(n) if (log / str(n)).exists() else log / f"{n}.compact"
            if entry.exists():
                for raw in entry.read_text().splitlines()[1:]:
                    item = json.loads(raw)
                    if item.get("batchId", n) == n:
                        files.append(Path(item["path"].removeprefix("file://")))
        out[int(p["batchId"])] = files
    return out


def _offset(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = json.loads(value)
    return int(value["logOffset"]) if isinstance(value, dict) and "logOffset" in value else None


def watermarks(progress: list[dict[str, Any]], query: str | None = None) -> dict[int, int]:
    out: dict[int, int] = {}
    for p in progress:
        if query is not None and p.get("name") != query:
            continue
        mark = (p.get("eventTime") or {}).get("watermark")
        if mark:
            when = int(dt.datetime.fromisoformat(mark.replace("Z", "+00:00")).timestamp())
            if when > 0:  # 1970-01-01: no watermark yet
                out[int(p["batchId"])] = when
    return out


def picture(title: str, batch_files: dict[int, list[Path]], marks: dict[int, int],
            times_of: Callable[[Path], list[int]], late: Lateness) -> Picture:  # fmt: skip
    """Each row read, by batch; dropped by the answer keys' rule (`Lateness`) under the
    previous batch's watermark."""
    import numpy as np

    pic = Picture(title, watermarks=marks)
    for batch in sorted(batch_files):
        previous = marks.get(batch - 1, 0)
        for path in batch_files[batch]:
            if not path.exists():
                continue
            times = times_of(path)
            pic.batches += [batch] * len(times)
            pic.times += times
            pic.dropped += late.late(np.asarray(times, dtype=np.int64), previous).tolist()
    return pic


# --- drawing ----------------------------------------------------------------------------------


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


def _by_query(progress: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for p in progress:
        out.setdefault(p.get("name") or str(p.get("id", ""))[:8], []).append(p)
    return out


def _time_axis(ax: Any, mdates: Any) -> None:
    locator = mdates.AutoDateLocator()
    ax.yaxis.set_major_locator(locator)
    ax.yaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


def _when(seconds: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, dt.UTC)


def charts(report: Report) -> list[str]:
    import matplotlib.dates

    mdates: Any = matplotlib.dates

    out: list[str] = []
    queries = _by_query(report.progress)
    if not queries:
        return out
    fig, ax = _figure("Input rows per micro-batch")
    width = 0.8 / len(queries)
    for k, (name, ps) in enumerate(queries.items()):
        ax.bar([p["batchId"] + k * width for p in ps], [p["numInputRows"] for p in ps],
               width=width, label=name)  # fmt: skip
    ax.set_xlabel("batch")
    ax.legend(fontsize=8)
    out.append(_svg(fig))

    fig, ax = _figure("Rows per second: arriving (input) and processed")
    for name, ps in queries.items():
        batches = [p["batchId"] for p in ps]
        ax.plot(batches, [p.get("inputRowsPerSecond") or 0 for p in ps], marker=".",
                label=f"{name}: input")  # fmt: skip
        ax.plot(batches, [p.get("processedRowsPerSecond") or 0 for p in ps], marker=".",
                label=f"{name}: processed")  # fmt: skip
    ax.set_xlabel("batch")
    ax.legend(fontsize=8)
    out.append(_svg(fig))

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
    out.append(_svg(fig))

    marks = {name: watermarks(ps) for name, ps in queries.items()}
    if any(marks.values()):
        fig, ax = _figure("Watermark")
        for name, m in marks.items():
            if m:
                ax.step([*m], [dt.datetime.fromtimestamp(v, dt.UTC) for v in m.values()],
                        where="post", marker=".", label=name)  # fmt: skip
        _time_axis(ax, mdates)
        ax.set_xlabel("batch")
        ax.legend(fontsize=8)
        out.append(_svg(fig))

    states = {name: [(p["batchId"], sum(o.get("numRowsTotal", 0) for o in p["stateOperators"]),
                      sum(o.get("numRowsDroppedByWatermark", 0) for o in p["stateOperators"]))
                     for p in ps if p.get("stateOperators")]
              for name, ps in queries.items()}  # fmt: skip
    if any(states.values()):
        fig, ax = _figure("Rows held in state, and rows the watermark dropped")
        for name, rows in states.items():
            if rows:
                ax.plot([r[0] for r in rows], [r[1] for r in rows], marker=".",
                        label=f"{name}: in state")  # fmt: skip
                ax.bar([r[0] for r in rows], [r[2] for r in rows], alpha=0.5,
                       label=f"{name}: dropped as late")  # fmt: skip
        ax.set_xlabel("batch")
        ax.legend(fontsize=8)
        out.append(_svg(fig))

    for pic in report.pictures:
        fig, ax = _figure(pic.title)
        kept = [(b, t) for b, t, d in zip(pic.batches, pic.times, pic.dropped, strict=True)
                if not d]  # fmt: skip
        gone = [(b, t) for b, t, d in zip(pic.batches, pic.times, pic.dropped, strict=True) if d]
        when = _when
        if kept:
            ax.scatter([b for b, _ in kept], [when(t) for _, t in kept], s=6, alpha=0.5,
                       label="rows read")  # fmt: skip
        if gone:
            ax.scatter([b for b, _ in gone], [when(t) for _, t in gone], s=30, marker="x",
                       color="red", label="dropped as late")  # fmt: skip
        if pic.watermarks:
            ax.step([*pic.watermarks], [when(v) for v in pic.watermarks.values()], where="post",
                    color="black", label="watermark")  # fmt: skip
        _time_axis(ax, mdates)
        ax.set_xlabel("micro-batch that read the row")
        ax.set_ylabel("event time")
        ax.legend(fontsize=8)
        fig.set_size_inches(9, 4.5)
        out.append(_svg(fig))

    if report.windows:
        fig, ax = _figure("Per window: expected by the truth, counted by Spark")
        xs = range(len(report.windows))
        ax.bar([x - 0.2 for x in xs], [w[1] for w in report.windows], width=0.4,
               label="expected")  # fmt: skip
        ax.bar([x + 0.2 for x in xs], [w[2] or 0 for w in report.windows], width=0.4,
               label="counted")  # fmt: skip
        ax.set_xticks(list(xs), [w[0][11:] for w in report.windows], rotation=60, fontsize=7)
        ax.legend(fontsize=8)
        out.append(_svg(fig))
    return out


STYLE = """body{font-family:sans-serif;margin:2em;max-width:1000px;color:#222}
table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;padding:2px 8px;
text-align:right}td:first-child,th:first-child{text-align:left}h1{font-size:22px}
.chart{margin:1.5em 0}.outcome{font-weight:bold}"""


def render(report: Report) -> str:
    rows = "".join(f"<tr><td>{html.escape(k)}</td><td>{html.escape(str(v))}</td></tr>"
                   for k, v in report.settings.items())  # fmt: skip
    head = ("<tr><th>query</th><th>batch</th><th>input rows</th><th>input rows/s</th>"
            "<th>processed rows/s</th><th>duration ms</th><th>watermark</th>"
            "<th>rows in state</th></tr>")  # fmt: skip
    batches = []
    for p in report.progress[-500:]:
        state = sum(o.get("numRowsTotal", 0) for o in p.get("stateOperators") or [])
        batches.append(
            f"<tr><td>{html.escape(str(p.get('name')))}</td><td>{p['batchId']}</td>"
            f"<td>{p['numInputRows']}</td><td>{p.get('inputRowsPerSecond') or 0:.1f}</td>"
            f"<td>{p.get('processedRowsPerSecond') or 0:.1f}</td>"
            f"<td>{(p.get('durationMs') or {}).get('triggerExecution', '')}</td>"
            f"<td>{html.escape(str((p.get('eventTime') or {}).get('watermark', '')))}</td>"
            f"<td>{state}</td></tr>"
        )
    figures = "".join(f'<div class="chart">{svg}</div>' for svg in charts(report))
    title = html.escape(report.settings.get("consumer", "consumer"))
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{title} run report</title>"
        f"<style>{STYLE}</style></head><body><h1>{title}: run report</h1>"
        f"<p class='outcome'>Outcome: {html.escape(report.outcome)}</p>"
        f"<h2>Settings</h2><table>{rows}</table><h2>Charts</h2>{figures}"
        f"<h2>Micro-batches</h2><table>{head}{''.join(batches)}</table></body></html>\n"
    )


def write(report: Report, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(render(report))
    tmp.replace(path)


def _arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("log", type=Path, metavar="LOG", help="a --progress-log file")
    p.add_argument("--output", type=Path, metavar="FILE.html",
                   help="where to write it (default: LOG with .html)")  # fmt: skip


def _config(args: argparse.Namespace) -> tuple[Report, Path]:
    """The report a log holds, and where it goes."""
    if not args.log.is_file():
        raise UsageError(f"no progress log at {args.log}")
    try:
        report = load_log(args.log)
    except ValueError:
        raise UsageError(f"{args.log} is not a progress log (JSON lines)") from None
    return report, args.output or args.log.with_suffix(".html")


def redraw(config: tuple[Report, Path]) -> int:
    """`consumer report LOG`: the report drawn again from a progress log."""
    report, target = config
    write(report, target)
    print(f"consumer: report written to {target}", file=sys.stderr)
    return 0


COMMAND = Command(
    name="report",
    help="draw a run report again from a --progress-log file (no Spark needed)",
    description="Read the JSON lines a consumer wrote with --progress-log and write the same "
    "self-contained HTML report --report writes.",
    arguments=_arguments,
    config=_config,
    run=redraw,
)
