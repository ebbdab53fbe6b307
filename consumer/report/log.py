"""A run as data, and its log: the settings, every progress event, the pictures and the check's
counts (`Report`); `Recorder` keeps them while the run goes and appends each as a JSON line to
the progress log (`--progress-log`); `load_log` reads such a log back."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from consumer.progress import Listener
from generator.errors import UsageError

PARTS = ("latestOffset", "getBatch", "queryPlanning", "addBatch", "walCommit", "commitOffsets")
# what each part of a batch's duration is, for a reader who does not know Spark's internal names
PART_NAMES = {
    "latestOffset": "finding new input (latestOffset)",
    "getBatch": "getting the batch (getBatch)",
    "queryPlanning": "planning (queryPlanning)",
    "addBatch": "running it into the sink (addBatch)",
    "walCommit": "recording its offsets (walCommit)",
    "commitOffsets": "recording it done (commitOffsets)",
    "other": "the rest",
}


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
    verdict: str | None = None  # --check: "agree" or "DIFFER"
    oracle: str = "the answer key"  # what the verdict holds the result against
    differences: list[str] = field(default_factory=list)  # `consumer check`: rows missing ...
    batches: list[dict[str, Any]] = field(default_factory=list)  # ... and each batch's rows

    def lines(self) -> Iterator[dict[str, Any]]:
        """The report as the JSON lines of a progress log (settings first, then the events)."""
        yield {"settings": self.settings}
        for p in self.progress:
            yield {"progress": p}
        for pic in self.pictures:
            yield {"picture": pic.__dict__}
        if self.windows:
            yield {"windows": self.windows}
        if self.verdict is not None:
            yield {"verdict": self.verdict, "oracle": self.oracle}
        if self.differences:
            yield {"differences": self.differences}
        if self.batches:
            yield {"batches": self.batches}
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
        if self.report.verdict is not None:
            self._write({"verdict": self.report.verdict})
        self._write({"outcome": self.report.outcome})
        if self._log is not None:
            self._log.close()
            self._log = None


def load_log(path: Path) -> Report:
    """A report from a progress log (a torn last line, from a killed run, is left out)."""
    report = Report(settings={})
    try:
        raws = path.read_text().splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {path} as a progress log: {exc}") from None
    not_a_log = UsageError(f"{path} is not a progress log (JSON lines)")
    if not raws:
        raise not_a_log
    for number, raw in enumerate(raws, 1):
        try:
            line = json.loads(raw)
        except ValueError:
            if number == len(raws) > 1:
                break  # torn by a kill
            raise (
                not_a_log
                if number == 1
                else UsageError(f"{path} is damaged at line {number}: not JSON")
            ) from None
        if not isinstance(line, dict) or (number == 1 and "settings" not in line):
            raise not_a_log
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
        elif "verdict" in line:
            report.verdict = str(line["verdict"])
            report.oracle = str(line.get("oracle", report.oracle))
        elif "differences" in line:
            report.differences = [str(x) for x in line["differences"]]
        elif "batches" in line:
            report.batches = list(line["batches"])
        elif "outcome" in line:
            report.outcome = line["outcome"]
    if report.outcome == "running":
        report.outcome = "unknown (the log ends without one: the run was killed?)"
    return report
