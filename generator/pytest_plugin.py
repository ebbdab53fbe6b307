"""pytest fixtures for the tests of a streaming job of one's own, loaded wherever this project is
installed (the `pytest11` entry point `spark_stream_lab_generator`): `landed`, a folder of
generated files under the test's temporary folder. Spark's side, `spark_session`, is in
`consumer.pytest_plugin`. Nothing is imported until a test asks for a fixture: pytest starts as
fast as without the plugin."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

# event times start here unless a test says otherwise: the same files at every run (the
# command line's default, the time of the run, would change them)
START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


@pytest.fixture
def landed(tmp_path: Path) -> Callable[..., Path]:
    """`landed(dataset, files=3, rows_per_file=None, seed=1, ...)` lands the files
    `generator files` would land (all at once) into a new folder under the test's temporary
    folder, with its manifest, its `_dataset.toml` and its answer keys, and returns it. The
    event-time options are those of `generator files`: `start` (default 2026-01-01 00:00 UTC),
    `speed`, `disorder`, `late_fraction`, `max_lateness`, `truth_window`, `truth_watermark`;
    `duplicates` too. A wrong value raises the `UsageError` the command line would print."""
    made = itertools.count(1)

    def land(dataset: str | Path = "person", *, files: int = 3, rows_per_file: int | None = None,
             seed: int = 1, start: dt.datetime | str | None = None, duplicates: float = 0.0,
             format: str = "csv", **event_time: Any) -> Path:  # fmt: skip
        from generator import options
        from generator.clock import EventTime
        from generator.datasets import resolve
        from generator.files import FilesConfig, run
        from generator.spec import Bundle

        found = resolve(str(dataset))
        lead = found.lead if isinstance(found, Bundle) else found  # a bundle's lead sets its pace
        begin = options.held("--start", options.clock_start, start)
        if begin is None and lead.event_time_column is not None:
            begin = START
        folder = tmp_path / f"{Path(str(dataset)).stem}-{next(made)}"
        run(FilesConfig(folder, found, seed=seed, rows_per_file=rows_per_file, interval=0,
                        files=files, quiet=True, format=format, duplicates=duplicates,
                        event_time=EventTime(start=begin, **event_time)))  # fmt: skip
        return folder

    return land
