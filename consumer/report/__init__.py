"""What a run did, as one self-contained HTML file: `--report FILE.html` on every consumer,
`--progress-log FILE` (the listener's progress events as JSON lines, written while the run
goes), and `python -m consumer report LOG` to draw the report again from such a log.

For event-time queries on a folder the report also shows the picture of Spark's guide drawn
from the run itself: each row's event time against the micro-batch that read it, the watermark
as a line, and the rows the watermark dropped marked. Kept apart: the run as data and its log
(`log.py`), what Spark did read back from its checkpoint and progress (`spark_state.py`), the
charts (`charts.py`) and the page (`page.py`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from consumer.commands import Command
from consumer.report.log import Picture, Recorder, Report, load_log
from consumer.report.page import inline, render, write
from consumer.report.spark_state import files_per_batch, picture, watermarks
from generator.errors import UsageError

# in a notebook, a report shows itself (its verdict, outcome and charts): given here, as log.py
# is below the page that draws it
Report._repr_html_ = inline  # type: ignore[attr-defined]

__all__ = ["COMMAND", "Picture", "Recorder", "Report", "files_per_batch", "load_log", "picture",
           "render", "watermarks", "write"]  # fmt: skip


def _arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("log", type=Path, metavar="LOG", help="a --progress-log file")
    p.add_argument("--output", type=Path, metavar="FILE.html",
                   help="where to write it (default: LOG with .html)")  # fmt: skip


def _config(args: argparse.Namespace) -> tuple[Report, Path]:
    """The report a log holds, and where it goes."""
    if not args.log.is_file():
        raise UsageError(f"no progress log at {args.log}")
    return load_log(args.log), args.output or args.log.with_suffix(".html")


def redraw(config: tuple[Report, Path]) -> int:
    """`consumer report LOG`: the report drawn again from a progress log."""
    report, target = config
    write(report, target)
    print(f"consumer: report written to {target}", file=sys.stderr)
    return 0


COMMAND = Command(
    name="report",
    app_name=None,
    arguments=_arguments,
    config=_config,
    run=redraw,
    help="draw a run report again from a --progress-log file (no Spark needed)",
    description="Read the JSON lines a consumer wrote with --progress-log and write the same "
    "self-contained HTML report --report writes.",
)
