"""`python -m consumer check FILE.py:FUNCTION DIR`: a streaming query of one's own checked
against the same query without streaming (`consumer.testing`), from a terminal.

FUNCTION takes the streaming DataFrame of the landed folder DIR (its schema the folder's own
data set), or of the `synthetic` source (`--synthetic --rows N`), and returns a DataFrame.
The command prints `dropped as late: N`, the differences if any, and a last line that starts
with `agree` (exit 0) or `DIFFER` (exit 1); bad input is one line and exit 2, before Spark
starts.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from consumer.arguments import add_input, one_input
from consumer.commands import Command
from consumer.errors import StreamFailed
from consumer.inputs import FolderInput, SocketInput, SyntheticInput
from consumer.output import OutputMode
from consumer.testing import MODES, Check, CheckOptions, CheckResult, Query, source_of
from generator.errors import UsageError
from generator.options import positive_int

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


class Disagrees(StreamFailed):
    """The verdict, printed already, is DIFFER: exit 1 with nothing more to say."""


@dataclass(frozen=True)
class CheckConfig:
    target: str  # FILE.py:FUNCTION
    data: Path | SyntheticInput  # a landed folder, or the synthetic source
    options: CheckOptions = field(default_factory=CheckOptions)
    report: Path | None = None
    function: Query | None = field(default=None, compare=False, repr=False)  # loaded: not given

    def __post_init__(self) -> None:
        path, function = self.where
        if not path.is_file():
            raise UsageError(f"no such file: {path}")
        if path.suffix != ".py" or not function.isidentifier():
            raise UsageError(f"{self.target}: give FILE.py:FUNCTION (a Python file and the "
                             "function in it that makes the query)")  # fmt: skip
        if self.report is not None and self.report.is_dir():
            raise UsageError(f"--report {self.report} is a folder: give a file name")
        source_of(self.data, self.options)  # the input, and the options held to it
        object.__setattr__(self, "function", self._load())  # its own bugs: its traceback

    @property
    def where(self) -> tuple[Path, str]:
        path, _, function = self.target.rpartition(":")
        return Path(path or self.target), function

    def _load(self) -> Query:
        """The user's function, from their file (its folder first on the import path, so the
        modules beside it import)."""
        from pyspark import cloudpickle

        path, name = self.where
        known = f"_checked_{path.stem}"  # a name of its own: never another module's
        spec = importlib.util.spec_from_file_location(known, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        # as `python FILE.py` would: its folder on the path, here and in Spark's Python
        # workers (started later, with this environment), and the module known by its name
        # (dataclasses look it up there) but sent to the workers by value (they cannot import it)
        folder = str(path.resolve().parent)
        if folder not in sys.path:
            sys.path.insert(0, folder)
        paths = os.environ.get("PYTHONPATH", "").split(os.pathsep)
        if folder not in paths:
            os.environ["PYTHONPATH"] = os.pathsep.join([folder, *filter(None, paths)])
        sys.modules[known] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[known]
            raise
        cloudpickle.register_pickle_by_value(module)  # type: ignore[no-untyped-call]
        function = getattr(module, name, None)
        if not callable(function):
            raise UsageError(f"{path} has no function {name}")
        return function  # type: ignore[no-any-return]


def restart_points(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(k) for k in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"batch numbers, comma-separated, not {text!r}") from None


def _arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("target", metavar="FILE.py:FUNCTION",
                   help="the function that takes the folder's streaming DataFrame and returns "
                   "the query's")  # fmt: skip
    p.add_argument("directory", nargs="?", metavar="DIR",
                   help="a folder landed by `generator files` (it says what it holds)")  # fmt: skip
    p.add_argument("--output-mode", choices=MODES, default="append",
                   help="the stream's output mode (default: append)")  # fmt: skip
    p.add_argument("--max-files-per-trigger", type=positive_int, metavar="N",
                   help="a folder's files read per micro-batch (default: 1)")  # fmt: skip
    p.add_argument(
        "--restart-at",
        type=restart_points,
        default=(),
        metavar="K[,K...]",
        help="stop the stream after batch K, start it again on its checkpoint",
    )
    p.add_argument("--report", type=Path, metavar="FILE.html",
                   help="a page of the check: the verdict, the differences, batch by batch "
                   "the rows read, dropped as late and written, and the picture of the rows "
                   "the watermark dropped")  # fmt: skip
    add_input(p, dataset="sensor", kinds=("synthetic",), event_time=True)
    # what the check prints, and nothing of Spark's; a folder is read as landed
    p.set_defaults(quiet=True, clean_source=None, archive_dir=None)


def _config(args: argparse.Namespace) -> CheckConfig:
    mode: OutputMode = args.output_mode
    source = one_input(args)  # DIR or --synthetic, by the consumers' one rule
    per_trigger = args.max_files_per_trigger
    if isinstance(source, SyntheticInput) and per_trigger is not None:
        raise UsageError("--max-files-per-trigger is for a folder: with --synthetic, give "
                         "--max-records-per-batch N")  # fmt: skip
    options = CheckOptions(mode, per_trigger or 1, args.restart_at)
    data = Path(source.directory) if isinstance(source, FolderInput) else source
    assert not isinstance(data, SocketInput)
    return CheckConfig(args.target, data, options, args.report)


def run(spark: SparkSession, config: CheckConfig, out: TextIO | None = None) -> CheckResult:
    """Check the query; print what the check found; DIFFER fails the run (exit 1)."""
    from pyspark.errors import AnalysisException

    out = out if out is not None else sys.stdout
    assert config.function is not None
    try:
        result = Check(spark, config.function, config.data, config.options).run()
    except AnalysisException as exc:  # the query cannot run as a stream: Spark's own words
        reason = str(exc).strip().splitlines()[0]
        raise StreamFailed(f"Spark refuses the query as a stream: {reason}") from None
    except KeyboardInterrupt:  # Ctrl-C: the stream stopped cleanly, and no verdict (exit 1)
        raise StreamFailed("the check did not finish: no verdict") from None

    for line in result.lines():
        print(line, file=out)
    if config.report is not None:
        write_report(result, config)
        print(f"consumer: report written to {config.report}", file=sys.stderr)
    if not result.agree:
        raise Disagrees("")
    return result


def write_report(result: CheckResult, config: CheckConfig) -> None:
    from consumer.report import Report, write

    o = config.options
    settings: dict[str, Any] = {
        "consumer": "check",
        "query": config.target,
        "input": config.data if isinstance(config.data, Path) else config.data.describe(),
        "output mode": o.output_mode,
        "per micro-batch": f"{o.max_files_per_trigger} files"
        if isinstance(config.data, Path)
        else f"{config.data.max_records or 'all the'} rows",
        "restarted after batches": ", ".join(map(str, o.restart_at)) or "none",
        "dropped as late": "not known" if result.dropped_late is None else result.dropped_late,
    }
    report = Report(settings={k: str(v) for k, v in settings.items()}, progress=result.progress,
                    outcome=result.lines()[-1], verdict="agree" if result.agree else "DIFFER",
                    oracle="the same query without streaming",
                    differences=result.explain().splitlines(),
                    batches=[b.__dict__ for b in result.batches])  # fmt: skip
    if result.picture is not None:
        report.pictures.append(result.picture)
    write(report, config.report)  # type: ignore[arg-type]


COMMAND = Command(
    name="check",
    app_name="Check a streaming query",
    arguments=_arguments,
    config=_config,
    run=run,
    help="check a streaming query of your own against the same query without streaming",
    description="Run FUNCTION (in FILE.py) over the landed folder DIR as a stream, "
    "availableNow, N files a micro-batch (or over the synthetic source: --synthetic --rows N, "
    "--max-records-per-batch rows a micro-batch), and compare its result with the same query "
    "run without streaming on the rows the stream was entitled to use (those not late for "
    "the watermark of the batch that read them). Prints `dropped as late: N`, the "
    "differences, and `agree` (exit 0) or `DIFFER` (exit 1).",
)
