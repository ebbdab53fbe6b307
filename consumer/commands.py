"""A `python -m consumer` subcommand as data: the arguments it takes, the config it builds
from them, and what runs that config. Each consumer module declares its own beside its `run`;
`consumer/cli.py` lists them. Bad input is refused while the config is built (`UsageError`),
before Spark starts.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Command:
    name: str
    app_name: str | None  # the Spark application's default name; None: runs without Spark
    arguments: Callable[[argparse.ArgumentParser], None]
    config: Callable[[argparse.Namespace], Any]  # the arguments as the consumer's config
    # with Spark: run(spark, config); without: run(config) -> exit code
    run: Callable[..., Any]
    help: str  # one line, in `consumer --help`
    description: str  # in `consumer NAME --help`
