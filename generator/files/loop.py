"""`python -m generator files DIR`: land CSV files of a data set in a folder Spark watches.

Files are cuts of the seed's one sequence of rows: file N holds the rows after file N-1's (a day
each for data sets named by day), drawn ahead by `maker.py`, landed by `landing.land`, recorded
in the manifest, and fed to the answer keys (`answers/landed.py`) as they land.
"""

from __future__ import annotations

import os
import sys
import time
from typing import TextIO

from generator.answers.landed import Keys
from generator.engine import Engine
from generator.errors import LandingFailed
from generator.files.config import FilesConfig, FilesSummary
from generator.files.maker import Made, Maker
from generator.landing import land, prepare_folder, remove_stale_temps
from generator.manifest import Entry, Manifest, crc32_of, declare
from generator.naming import file_name, index_of
from generator.progress import StatusLine, human, rate
from generator.signals import interrupts_deferred, sigterm_as_interrupt

TRUTH_EVERY = 1.0  # seconds between saves of the answer keys while landing (and once at the end)


def run(config: FilesConfig, err: TextIO | None = None) -> FilesSummary:
    """Land files until the count or duration is reached, or until Ctrl-C / SIGTERM."""
    err = err if err is not None else sys.stderr
    ds = config.ds
    assert config.seed is not None
    members = config.members
    for folder in config.folders:
        prepare_folder(folder)
    # leftovers of a killed run, then continue after the newest landed file
    listings = [os.listdir(folder) for folder in config.folders]  # once: 10,000s of names
    for folder, listing in zip(config.folders, listings, strict=True):
        remove_stale_temps(folder, listing)
    manifests = [Manifest(folder) for folder in config.folders]
    for folder, manifest, member in zip(config.folders, manifests, members, strict=True):
        config.goes_on(folder, member, manifest.newest("seed")[0])
    for manifest, member, listing in zip(manifests, members, listings, strict=True):
        manifest.reconcile(member.naming, member.name, config.header_of(member), listing)
    for folder, member in zip(config.folders, members, strict=True):
        declare(folder, member)  # the folder says what it holds, to every reader
    lead = members.index(ds) if config.bundle is not None else None
    paced = [manifests[lead]] if lead is not None else manifests
    peers = {m.name: m for m in members} if config.bundle is not None else None
    engine = Engine(ds, config.seed, clock=config.clock, peers=peers)
    if lead is not None:
        complete_last_tick(config, engine, manifests, lead)
    next_index, next_row, last_mtime = resume_point(config, paced)
    keys = Keys(members, config.folders, config.directory, config.bundle, config.event_time,
                config.duplicates, config.seed, manifests)  # fmt: skip
    if keys.replayed:  # save what reading them back cost, before a kill can lose it again
        save_keys(keys, 0, last=True)
    if keys.gone:
        name, skipped = keys.gone
        print(f"generator: {name} is no longer in the folder (moved by Spark's cleanSource?): "
              f"the answer keys go on without it and the {skipped - 1} landed after it, and "
              "say less than the folder held", file=err)  # fmt: skip
    if not config.quiet:
        where: object = config.directory
        if config.bundle is not None:
            subfolders = ",".join(m.name for m in members)
            where = f"{config.directory}/{{{subfolders}}}"
        elif config.streams > 1:
            where = f"{config.directory}/subdir1..{config.streams}"
        print(
            f"generator: {config.bundle.name if config.bundle else ds.name} files into {where} "
            f"(seed {config.seed}, first file "
            f"{file_name(ds.naming, next_index, config.extension)})",
            file=err,
        )
    status = StatusLine(err, enabled=not config.quiet)
    files = rows = size = 0
    names: list[str] = []
    interrupted = False
    start = time.monotonic()
    due = start
    saved = start
    maker = Maker(config, engine, next_index, next_row)
    row_of = [m.next_row or 0 for m in manifests]  # where each folder's sequence goes on

    def put(stream: int, made: Made, landed: int) -> int:
        first = made.start if made.start >= 0 else row_of[stream]
        landed = land_one(config, manifests[stream], stream, made, first, landed, files)
        row_of[stream] = first + made.rows - made.copies
        return landed

    with sigterm_as_interrupt():
        try:
            for stream, member in enumerate(members):
                if member.static and manifests[stream].last is None:
                    last_mtime = put(stream, maker.static(member), last_mtime)
            while config.files is None or files < config.files:
                if config.duration is not None and time.monotonic() - start >= config.duration:
                    break
                tick = maker.next()
                for stream, made in tick:
                    last_mtime = put(stream, made, last_mtime)
                    names.append(file_name(members[stream].naming, made.index, config.extension))
                with interrupts_deferred():  # the keys take a tick whole, or not at all
                    keys.add([(stream, made.table) for stream, made in tick])
                if time.monotonic() - saved >= TRUTH_EVERY:
                    save_keys(keys, files)
                    saved = time.monotonic()
                made = dict(tick)[lead] if lead is not None else tick[0][1]
                files, rows, size = files + 1, rows + made.rows, size + made.size
                elapsed = time.monotonic() - start
                status.show(
                    f"files {files} · rows {human(rows)} · {human(rate(rows, elapsed))} rows/s"
                    f" · {elapsed:.1f}s"
                )
                due += made.rows / config.rate if config.rate else config.pause
                if config.duration is not None:
                    due = min(due, start + config.duration)
                if config.files is not None and files >= config.files:
                    break
                pause = due - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
        except KeyboardInterrupt:
            interrupted = True  # land() has already removed the file it was writing
        finally:
            maker.close()
            failing = sys.exc_info()[1] is not None
            try:
                save_keys(keys, files, last=True)
            except LandingFailed:
                if not failing:
                    raise  # else the first failure is the one to tell
    summary = FilesSummary(files, rows, size, time.monotonic() - start, interrupted, tuple(names))
    status.clear()
    if not config.quiet:
        print(f"generator: {summary.line(config.directory)}", file=err)
    return summary


def land_one(config: FilesConfig, manifest: Manifest, stream: int, made: Made, first: int,
             after_ns: int, files: int) -> int:  # fmt: skip
    """Land one made file in its folder and record it in the manifest; its mtime (ns)."""
    folder, member = config.folders[stream], config.members[stream]
    name = file_name(member.naming, made.index, config.extension)
    try:
        landed = land(folder, name, made.chunks, after_ns=after_ns)
        manifest.add(
            Entry(name, made.rows, made.size, crc32_of(made.chunks), config.seed,
                  member.name, config.header_of(member), first, made.copies,
                  config.recorded_format)
        )  # fmt: skip
    except OSError as exc:
        # disk full, a file-size limit, permissions changed: land() removed its temp file;
        # what landed before stays as it was
        raise LandingFailed(
            f"cannot write {folder / name}: {exc.strerror or exc}; "
            f"{files} files landed before it are complete"
        ) from None
    return landed


def complete_last_tick(config: FilesConfig, engine: Engine, manifests: list[Manifest],
                       lead: int) -> None:  # fmt: skip
    """A bundle lands a tick as one file per member, one after the other: a run killed
    between them left its last tick half-landed (impressions without their clicks). Land the
    missing members' files of that tick now, the bytes a whole tick would have had, so the
    folders and the answer keys go on as if nothing had happened."""
    members = config.members
    streams = [i for i, m in enumerate(members) if not m.static]
    # files land in number order: each folder's newest line is its newest tick
    held = {i: index_of(members[i].naming, e.file) if (e := manifests[i].last) else None
            for i in streams}  # fmt: skip
    last = max((n for n in held.values() if n is not None), default=None)
    if last is None:
        return
    missing = [i for i in streams if held[i] != last]
    if not missing:
        return
    # the rows before the tick: the lead's file of it is there (a tick lands it first)
    entry, after = manifests[lead].newest("start")
    if held[lead] != last or entry is None or after:
        before = sum(e.rows - e.copies for e in manifests[lead].entries
                     if (index_of(members[lead].naming, e.file) or 0) < last)  # fmt: skip
    else:
        assert entry.start is not None
        before = entry.start
    maker = Maker(config, engine, last, before)
    try:
        tick = maker.next()
    finally:
        maker.close()
    after_ns = resume_point(config, manifests)[2]  # after every landed file, as land() keeps it
    for stream, made in tick:
        if stream in missing:
            first = made.start if made.start >= 0 else (manifests[stream].next_row or 0)
            after_ns = land_one(config, manifests[stream], stream, made, first, after_ns, 0)


def save_keys(keys: Keys, files: int, last: bool = False) -> None:
    """Save the answer keys (whole: an interrupt waits for the save to end); a disk that
    cannot take them is one line, exit 1, as a file."""
    try:
        with interrupts_deferred():
            keys.save(last)
    except OSError as exc:
        raise LandingFailed(
            f"cannot save the answer keys: {exc.strerror or exc}; {files} files landed before "
            "are complete (the keys are rebuilt from them at the next start)"
        ) from None


def resume_point(config: FilesConfig, manifests: list[Manifest]) -> tuple[int, int, int]:
    """The next file number, the next row of the sequence, and the newest landed file's mtime
    (ns), from the manifests' newest lines (they remember files Spark's cleanSource has moved
    away since; `reconcile` has given a line to every file landed without one)."""
    naming = config.ds.naming
    lasts = [m.last for m in manifests if m.last is not None]
    if not lasts:
        return 1, 0, 0
    newest = max(lasts, key=lambda e: index_of(naming, e.file) or 0)
    ends = [m.newest("start") for m in manifests if m.last is not None]
    if all(entry is not None and not after for entry, after in ends):
        rows = max(m.next_row or 0 for m in manifests)
    else:  # lines without a first row (files that landed without one): count every row
        rows = sum(e.rows - e.copies for m in manifests for e in m.entries)
    folder = next(m.folder for m in manifests if m.last is newest)
    try:
        mtime = os.stat(folder / newest.file).st_mtime_ns
    except FileNotFoundError:
        mtime = time.time_ns()  # moved away (cleanSource): later than any landed file
    return (index_of(naming, newest.file) or 0) + 1, rows, mtime
