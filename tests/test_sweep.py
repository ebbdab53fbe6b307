"""The project's own sweep of bad input: every field of every source kind, every top-level and
naming key of a spec, and every numeric option of `generator files`, each given values of the
wrong type, sign and size. Each run either works or is refused with one line and exit code 2;
never a traceback, a hang or memory without bound. A new kind, field or option is swept by
being declared: the lists below are read from the code, not typed here.

The values are enumerated rather than drawn at random (a property-based library would find the
same classes of value, at the cost of a dependency and of runs that differ from one another).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from generator.cli import main as generator_main
from generator.sources import KINDS
from generator.spec import Naming
from tests.conftest import REPO

# a value of each wrong kind: text, truth, sign, size, emptiness, structure, non-finite text
BAD = ["x", True, -3, 0, 2**70, 1e300, 1e-300, [], ["a"], {}, "2020-01-01", "nan"]

# a working source of each kind that can stand alone, with the column type it fills
WORKING: dict[str, tuple[str, dict[str, Any]]] = {
    "faker": ("STRING", {"provider": "first_name", "size": 20}),
    "choice": ("STRING", {"values": ["a", "b"], "weights": [1, 2]}),
    "histogram": ("BIGINT", {"edges": [0, 10, 20], "weights": [1, 1]}),
    "lognormal": ("BIGINT", {"median": 10, "sigma": 1, "low": 1, "high": 100}),
    "normal": ("DOUBLE", {"mean": 0, "stddev": 1, "low": -5, "high": 5}),
    "pattern": ("STRING", {"patterns": ["a-###"], "weights": [1]}),
    "sequence": ("BIGINT", {"start": 1, "step": 1}),
    "clock": ("TIMESTAMP", {}),
    "template": ("STRING", {"text": "{n}", "parts": {"n": {"kind": "sequence"}}}),
    "text": ("STRING", {"vocabulary": 50, "zipf": 1.0, "min_words": 1, "max_words": 4}),
    "visitor": ("STRING", {"users": 10, "active": 0.5, "slot": 60, "prefix": "u-"}),
}
NOT_ALONE = {"entity", "reference", "time_of_day"}  # need a catalog, a bundle, days


def toml(value: Any) -> str:
    """A value as TOML (inline), enough for the sweep's values."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {toml(v)}" for k, v in value.items()) + " }"
    return str(value)


def spec(top: dict[str, Any], naming: dict[str, Any], column_type: str,
         source: dict[str, Any]) -> str:  # fmt: skip
    lines = ['name = "sweep"', 'description = "v"']
    lines += [f"{k} = {toml(v)}" for k, v in top.items()]
    if naming:
        lines += ["[naming]", *(f"{k} = {toml(v)}" for k, v in naming.items())]
    lines += ["[[columns]]", 'name = "v"', f'type = "{column_type}"',
              f"source = {toml(source)}"]  # fmt: skip
    return "\n".join(lines) + "\n"


def cases() -> list[tuple[str, str]]:
    out = []
    assert set(KINDS) == set(WORKING) | NOT_ALONE, "a new kind: give it a working source here"
    for kind, (column_type, fields) in WORKING.items():
        source = {"kind": kind, **fields}
        out.append((f"{kind}", spec({}, {}, column_type, source)))
        names = [f.name for f in dataclasses.fields(KINDS[kind])]
        for name in names:
            for value in BAD:
                text = spec({}, {}, column_type, {**source, name: value})
                out.append((f"{kind}.{name}={value!r}", text))
    for key in ("header", "rows_per_file"):
        for value in BAD:
            out.append((f"{key}={value!r}", spec({key: value}, {}, "BIGINT",
                                                  {"kind": "sequence"})))  # fmt: skip
    for field in dataclasses.fields(Naming):
        for value in BAD:
            naming = {field.name: value}
            if field.name in ("start_date", "skip_weekdays"):
                naming["kind"] = "daily"
            out.append((f"naming.{field.name}={value!r}",
                        spec({}, naming, "BIGINT", {"kind": "sequence"})))  # fmt: skip
    return out


def one_line_or_works(argv: list[str], capsys: pytest.CaptureFixture[str]) -> int:
    code = generator_main(argv)
    err = capsys.readouterr().err
    assert code in (0, 2), (argv, code, err)
    if code == 2:
        assert err.count("\n") == 1 and err.startswith("generator: error: "), err
    return code


def test_every_field_of_every_kind_works_or_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    refused = worked = 0
    for label, text in cases():
        path = tmp_path / "sweep.toml"
        path.write_text(text)
        out = tmp_path / "out"
        code = one_line_or_works(["files", str(out), "--dataset", str(path), "--files", "2",
                                  "--rows-per-file", "50", "--interval", "0", "--quiet",
                                  "--seed", "1"], capsys)  # fmt: skip
        if code == 2:
            assert not out.exists(), label  # refused before anything is written
            refused += 1
        else:
            assert len(list(out.glob("*.csv"))) == 2, label
            worked += 1
        if out.exists():
            for f in out.iterdir():
                f.unlink()
            out.rmdir()
    assert refused > 300 and worked > 10, (refused, worked)
    # memory stayed bounded: no value made a pool, a file or a day without limit
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss < 2_000_000  # KiB


OPTIONS = ["--rows-per-file", "--interval", "--rate", "--files", "--duration", "--streams",
           "--seed", "--workers", "--duplicates"]  # fmt: skip
CLOCK = ["--start", "--speed", "--disorder", "--late-fraction", "--max-lateness"]
NUMBERS = ["-1", "0", "1e300", "1e-300", "3000000000", "x", "nan", "inf", "9999-12-31T23:59:00"]


@pytest.mark.slow  # some of its runs are processes, stopped with Ctrl-C once they start
@pytest.mark.parametrize("option", OPTIONS + CLOCK)
def test_every_option_of_generator_files_works_or_is_one_line(
    option: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dataset = ["--dataset", "sensor"] if option in CLOCK else []
    if option == "--duplicates":
        dataset = ["--dataset", "activity"]
    bound = [] if option in ("--files", "--duration") else ["--files", "2"]
    pace = [] if option in ("--interval", "--rate") else ["--interval", "0"]
    for value in NUMBERS:
        out = tmp_path / f"out{NUMBERS.index(value)}"
        argv = ["files", str(out), *dataset, *bound, *pace, "--quiet", option, value]
        if option in ("--files", "--duration", "--interval", "--rate"):
            # a run these values accept may rightly last for ages: run it as a person does,
            # and stop it with Ctrl-C after a moment; it must have started and stop cleanly
            runs_on(argv, out)
            continue
        code = one_line_or_works(argv, capsys)
        if code == 2:
            assert not out.exists(), (option, value)


def runs_on(argv: list[str], out: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-m", "generator", *argv], cwd=REPO,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip
    deadline = time.monotonic() + 60
    while proc.poll() is None and not out.exists():  # started: it made its folder
        assert time.monotonic() < deadline, argv
        time.sleep(0.05)
    try:
        code = proc.wait(timeout=1)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=30)
    err = proc.stderr.read() if proc.stderr else ""
    # 130: stopped while it started up; -SIGINT: the signal came as the interpreter exited,
    # after the run (nothing printed, nothing half-written)
    assert code in (0, 2, 130) or (code == -signal.SIGINT and not err), (argv, code, err)
    assert "Traceback" not in err, err
    if code == 2:
        assert err.count("\n") == 1 and err.startswith("generator: error: "), err
        assert not out.exists(), argv
    if code == 130:
        assert err == "generator: interrupted\n", err


# Every value-taking option of every command, of both front ends, read from their parsers: a
# value is taken (the config is built) or refused with one line (UsageError), before anything
# runs: never a traceback. (The runs themselves: the test above for `generator files`, and each
# command's own tests.)
VALUES = [*NUMBERS, "", "-0.5", "99999999999999999999", "1,2", "127.0.0.1"]


def value_options(parser: argparse.ArgumentParser) -> tuple[list[str], list[str]]:
    """A command's positionals (by name) and the options that take a value."""
    positionals = [a.dest for a in parser._actions if not a.option_strings]
    options = [a.option_strings[-1] for a in parser._actions
               if a.option_strings and a.nargs != 0 and a.dest != "help"]  # fmt: skip
    return positionals, options


def commands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


def sweep(build: Any, parsers: dict[str, argparse.ArgumentParser],
          positional: dict[str, str]) -> tuple[int, int]:  # fmt: skip
    from generator.errors import UsageError

    taken = refused = 0
    for name, parser in parsers.items():
        names, options = value_options(parser)
        base = [name, *(positional[n] for n in names)]
        for option in options:
            for value in VALUES:
                argv = [*base, option, value]
                try:
                    build(argv)
                except UsageError as exc:
                    assert "\n" not in str(exc) and str(exc), (argv, str(exc))
                    refused += 1
                else:
                    taken += 1
    return taken, refused


def test_every_option_of_every_generator_command_is_taken_or_refused_in_one_line(
    tmp_path: Path,
) -> None:
    from generator import cli

    parser = cli.build_parser()
    parsers = {k: v for k, v in commands(parser).items() if k in cli.CONFIGS}
    assert set(parsers) == {"files", "socket", "replay"}
    out = tmp_path / "out"

    def build(argv: list[str]) -> None:
        args = parser.parse_args(argv)
        cli.CONFIGS[args.command](args)

    source = str(REPO / "tests" / "data" / "retail-by-day-sample")
    taken, refused = sweep(build, parsers, {"directory": str(out), "port": "0", "source": source})
    assert taken > 50 and refused > 300, (taken, refused)
    assert not out.exists() or not list(out.iterdir())  # built, never run: nothing landed


def test_every_option_of_every_consumer_command_is_taken_or_refused_in_one_line(
    tmp_path: Path,
) -> None:
    from consumer import arguments, cli

    parser = cli.build_parser()
    by_name = {c.name: c for c in cli.COMMANDS}
    folder = tmp_path / "in"
    folder.mkdir()

    def build(argv: list[str]) -> None:
        args = parser.parse_args(argv)
        command = by_name[args.command]
        command.config(args)
        if command.app_name is not None:
            arguments.session_config(args, command.app_name)

    parsers = commands(parser)
    assert set(parsers) == set(by_name)
    positional = {n: str(folder) for p in parsers.values() for n in value_options(p)[0]}
    taken, refused = sweep(build, parsers, positional)
    assert taken > 100 and refused > 1000, (taken, refused)
