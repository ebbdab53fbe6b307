"""Value sources: how the values of one column are drawn. One class per kind, in faker's
provider style: its declaration (plain data), its checks and its draw function together,
registered by the name spec files use (`kind = "faker"`). The TOML loader and the engine look a
kind up here; a new kind is a new class in this module and nothing else.

numpy and pyarrow are imported inside the draw functions, so declarations load without them
(`generator schema` starts in a blink).
"""

from __future__ import annotations

import datetime as dt
import math
import string
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from generator.errors import UsageError

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

    from generator.clock import Clock

KINDS: dict[str, type[Source]] = {}


def kind(name: str) -> Callable[[type[Source]], type[Source]]:
    """Register a source class under the name spec files use for it."""

    def register(cls: type[Source]) -> type[Source]:
        cls.kind = name
        KINDS[name] = cls
        return cls

    return register


@dataclass
class Draw:
    """What a draw function gets: how many values, its own random stream, and where it is."""

    n: int
    rng: np.random.Generator
    offset: int = 0  # index of the first value in the whole sequence (rows, or groups)
    day: dt.date | None = None  # the day of the rows (data sets named by day)
    clock: Clock | None = None
    state: Any = None  # what `prepare` made for this source, once per run
    picks: Callable[[str], np.ndarray] | None = None  # shared entity picks per catalog


@dataclass
class Prepare:
    """Once-per-run context for sources that fill pools: streams keyed by the column."""

    rng: np.random.Generator
    faker: Callable[[], Any]  # a Faker seeded for this column alone
    catalogs: Mapping[str, Mapping[str, pa.Array]]
    where: str
    # a static data set's column: (its values, values it never holds), for lookups
    peer: Callable[[str, str], tuple[pa.Array, pa.Array]] | None = None


@dataclass(frozen=True)
class Context:
    """What a declaration is checked against: its column and data set."""

    column_type: str
    catalogs: Mapping[str, tuple[str, ...]]  # catalog name -> field names
    daily: bool  # the data set's rows come in days


POOL_MOST = 100_000  # values a Faker pool holds at most (drawn one call each, at start)


def spread_problems(name: str, spread: float, low: float, high: float) -> Iterator[str]:
    """A bell curve's width must be 0 or more, its clip range the right way round."""
    if spread < 0:
        yield f"{name} must be 0 or more, not {spread}"
    if low > high:
        yield f"low ({low}) must not be above high ({high})"


class Source:
    """Base of every kind. Subclasses are frozen dataclasses of plain data."""

    kind: ClassVar[str] = ""
    # column types the kind can fill; None: any
    types: ClassVar[tuple[str, ...] | None] = None

    def problems(self, ctx: Context) -> Iterator[str]:
        """What is wrong with this declaration in this place (nothing, usually)."""
        if self.types is not None and ctx.column_type not in self.types:
            yield f"a {self.kind} source needs type {' or '.join(self.types)}"

    def prepare(self, run: Prepare) -> Any:
        """Per-run state (a pool, say), drawn from the column's own streams. Default: none."""
        return None

    def draw(self, d: Draw) -> pa.Array:
        raise NotImplementedError

    def upper(self) -> float | None:
        """The largest number the kind can draw, if it has one (a follower's delay needs it)."""
        return None

    def catalog_values(self, run: Prepare, n: int) -> pa.Array:
        """n values drawn once per run, for a catalog's entities."""
        return _decode(self.draw(Draw(n, run.rng, state=self.prepare(run))))

    def numbers(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Plain numbers (group and file sizes)."""
        import numpy as np

        return np.asarray(_decode(self.draw(Draw(n, rng))).to_numpy(zero_copy_only=False))


# --- the kinds ------------------------------------------------------------------------------


@kind("faker")
@dataclass(frozen=True)
class FakerPool(Source):
    """Values from a Faker provider, drawn into a pool once per run and sampled per row."""

    provider: str
    kwargs: Mapping[str, object] = field(default_factory=dict)
    size: int = 1000
    case: Literal["upper", "lower"] | None = None

    def problems(self, ctx: Context) -> Iterator[str]:
        if not 1 <= self.size <= POOL_MOST:
            yield (
                f"size must be from 1 to {POOL_MOST:,} (a pool is drawn with Faker at "
                f"start), not {self.size}"
            )

    def prepare(self, run: Prepare) -> pa.Array:
        return self._pool(run, self.size)

    def _pool(self, run: Prepare, n: int) -> pa.Array:
        import pyarrow as pa

        fake = run.faker()
        method = getattr(fake, self.provider, None)
        if method is None or not callable(method):
            raise UsageError(f"{run.where}: unknown Faker provider method: {self.provider!r}")
        try:
            values = [str(method(**self.kwargs)) for _ in range(n)]
        except (TypeError, ValueError, AttributeError) as exc:
            raise UsageError(f"{run.where}: Faker provider {self.provider!r}: {exc}") from None
        return pa.array(recase(values, self.case), pa.string())

    def draw(self, d: Draw) -> pa.Array:
        pool = d.state
        return take(pool, d.rng.integers(0, len(pool), d.n))

    def catalog_values(self, run: Prepare, n: int) -> pa.Array:
        return self._pool(run, n)  # one value per entity


@kind("choice")
@dataclass(frozen=True)
class Choice(Source):
    """One of `values`, with optional relative `weights` (values may be templates)."""

    values: tuple[object, ...]
    weights: tuple[float, ...] | None = None

    def problems(self, ctx: Context) -> Iterator[str]:
        if weights_bad(self.weights, len(self.values)):
            yield "weights must be as many as the choices, non-negative, not all zero"

    def draw(self, d: Draw) -> pa.Array:
        import pyarrow as pa

        if self.values and all(isinstance(v, Template) for v in self.values):
            return pa.array(templates(self.values, self.weights, d.n, d.rng))  # type: ignore[arg-type]
        return take(pa.array(list(self.values)), choose(self.weights, len(self.values), d.n, d.rng))


@kind("histogram")
@dataclass(frozen=True)
class Histogram(Source):
    """A number drawn from buckets: bucket i is [edges[i], edges[i+1]) with weight weights[i]."""

    edges: tuple[float, ...]
    weights: tuple[float, ...]
    integer: bool = True

    def problems(self, ctx: Context) -> Iterator[str]:
        if len(self.edges) != len(self.weights) + 1:
            yield "a histogram needs one more edge than weights"
        elif weights_bad(self.weights, len(self.weights)):
            yield "weights must be non-negative, not all zero"

    def draw(self, d: Draw) -> pa.Array:
        import numpy as np
        import pyarrow as pa

        edges = np.asarray(self.edges, dtype=np.float64)
        bucket = choose(self.weights, len(self.weights), d.n, d.rng)
        low, high = edges[bucket], edges[bucket + 1]
        x = low + d.rng.random(d.n) * (high - low)
        return pa.array(np.floor(x).astype(np.int64) if self.integer else x)

    def upper(self) -> float | None:
        return float(self.edges[-1])


@kind("lognormal")
@dataclass(frozen=True)
class LogNormal(Source):
    """A skewed positive number: half the values fall below `median`; clipped to [low, high]."""

    median: float
    sigma: float
    low: float
    high: float
    decimals: int | None = None  # None: whole numbers

    def problems(self, ctx: Context) -> Iterator[str]:
        if not self.median > 0:
            yield f"median must be more than 0, not {self.median}"
        yield from spread_problems("sigma", self.sigma, self.low, self.high)
        if self.sigma > 20:
            yield f"sigma must be at most 20 (a spread of e**20), not {self.sigma}"

    def draw(self, d: Draw) -> pa.Array:
        import numpy as np
        import pyarrow as pa

        x = np.clip(np.exp(d.rng.normal(math.log(self.median), self.sigma, d.n)),
                    self.low, self.high)  # fmt: skip
        if self.decimals is None:
            return pa.array(np.rint(x).astype(np.int64))
        return pa.array(np.round(x, self.decimals))

    def upper(self) -> float | None:
        return self.high


@kind("normal")
@dataclass(frozen=True)
class Normal(Source):
    """A bell-curve number around `mean`, clipped to [low, high], rounded to `decimals`."""

    mean: float
    stddev: float
    low: float
    high: float
    decimals: int = 1

    def problems(self, ctx: Context) -> Iterator[str]:
        yield from spread_problems("stddev", self.stddev, self.low, self.high)

    def draw(self, d: Draw) -> pa.Array:
        import numpy as np
        import pyarrow as pa

        x = np.clip(d.rng.normal(self.mean, self.stddev, d.n), self.low, self.high)
        return pa.array(np.round(x, self.decimals))

    def upper(self) -> float | None:
        return self.high


@kind("pattern")
@dataclass(frozen=True)
class Pattern(Source):
    """A string from a pattern: '#' is a digit, '@' an upper-case letter, anything else literal.

    With several patterns, each row picks one by `weights`.
    """

    patterns: tuple[str, ...]
    weights: tuple[float, ...] | None = None

    def problems(self, ctx: Context) -> Iterator[str]:
        if weights_bad(self.weights, len(self.patterns)):
            yield "weights must be as many as the patterns, non-negative, not all zero"
        elif not all(p.isascii() for p in self.patterns):
            yield "patterns are ASCII"

    def draw(self, d: Draw) -> pa.Array:
        import numpy as np
        import pyarrow as pa

        if len(self.patterns) == 1:
            return fixed_width(self.patterns[0], d.n, d.rng)
        which = choose(self.weights, len(self.patterns), d.n, d.rng)
        parts, order = [], []
        for k, pattern in enumerate(self.patterns):
            rows = np.flatnonzero(which == k)
            parts.append(fixed_width(pattern, len(rows), d.rng))
            order.append(rows)
        combined = pa.concat_arrays(parts)
        return combined.take(pa.array(np.argsort(np.concatenate(order), kind="stable")))


@kind("sequence")
@dataclass(frozen=True)
class Sequence(Source):
    """Consecutive integers by position in the whole sequence (of rows, or of groups)."""

    start: int = 1
    step: int = 1

    def problems(self, ctx: Context) -> Iterator[str]:
        for name, value in (("start", self.start), ("step", self.step)):
            if abs(value) >= 2**53:
                yield f"{name} must be within ±2**53 (BIGINT room for a long run), not {value}"

    def draw(self, d: Draw) -> pa.Array:
        import numpy as np
        import pyarrow as pa

        return pa.array(self.start + self.step * (d.offset + np.arange(d.n, dtype=np.int64)))


@kind("time_of_day")
@dataclass(frozen=True)
class TimeOfDay(Source):
    """A timestamp on the row's day, hour drawn by `hour_weights` (24 of them), in time order
    within the day. For data sets named by day."""

    hour_weights: tuple[float, ...]
    types: ClassVar[tuple[str, ...] | None] = ("TIMESTAMP",)

    def problems(self, ctx: Context) -> Iterator[str]:
        yield from super().problems(ctx)
        if len(self.hour_weights) != 24:
            yield "hour_weights needs 24 weights"
        elif weights_bad(self.hour_weights, 24):
            yield "hour_weights must be non-negative, not all zero"
        if not ctx.daily:
            yield "a time_of_day source needs days: give the data set [naming] kind = 'daily'"

    def draw(self, d: Draw) -> pa.Array:
        import numpy as np
        import pyarrow as pa

        assert d.day is not None
        hours = choose(self.hour_weights, 24, d.n, d.rng)
        seconds = np.sort(hours * 3600 + d.rng.integers(0, 60, d.n) * 60)
        midnight = int(dt.datetime(d.day.year, d.day.month, d.day.day, tzinfo=dt.UTC).timestamp())
        return pa.array(midnight + seconds, pa.timestamp("s"))


@kind("clock")
@dataclass(frozen=True)
class SimClock(Source):
    """Event time from the simulated clock of the run (`--start`, `--speed`), with the run's
    disorder and late events applied. The clock ticks per row, so the same seed and options
    give the same event times whatever the machine's speed."""

    types: ClassVar[tuple[str, ...] | None] = ("TIMESTAMP",)

    def draw(self, d: Draw) -> pa.Array:
        import pyarrow as pa

        assert d.clock is not None
        return pa.array(d.clock.event_times(d.offset, d.n, d.rng), pa.timestamp("s"))


@kind("template")
@dataclass(frozen=True)
class Template(Source):
    """A string built from `text` with `{part}` fields, each filled from its own source.

    Used for catalog fields (drawn once per run), not per row.
    """

    text: str
    parts: Mapping[str, Source]
    case: Literal["upper", "lower"] | None = None

    def problems(self, ctx: Context) -> Iterator[str]:
        try:
            names = {f for _, f, _, _ in string.Formatter().parse(self.text) if f is not None}
        except ValueError as exc:
            yield f"text {self.text!r}: {exc}"
            return
        for name in sorted(names - set(self.parts)):
            yield f"text {self.text!r} names {{{name}}}, which is not one of its parts"

    def draw(self, d: Draw) -> pa.Array:
        import pyarrow as pa

        return pa.array(templates((self,), None, d.n, d.rng))


WORDS_MOST = 1000  # words a line holds at most


@kind("text")
@dataclass(frozen=True)
class Text(Source):
    """Lines of lower-case words separated by single spaces, as a word count reads them.

    The words are Faker's English word list (its first `vocabulary` words); their frequencies
    follow Zipf's law, as in real text: the word of rank r is drawn with weight 1 / r**zipf,
    the ranks dealt by the column's own random stream once per run. A line holds from
    `min_words` to `max_words` words (uniform).
    """

    types: ClassVar[tuple[str, ...] | None] = ("STRING",)

    vocabulary: int = 500
    zipf: float = 1.1
    min_words: int = 3
    max_words: int = 12

    def problems(self, ctx: Context) -> Iterator[str]:
        yield from super().problems(ctx)
        if not 1 <= self.vocabulary <= 971:  # Faker's English word list
            yield f"vocabulary must be from 1 to 971 (Faker's English words), not {self.vocabulary}"
        if not 0 <= self.zipf <= 10:
            yield f"zipf must be from 0 (every word as likely) to 10, not {self.zipf}"
        if not 1 <= self.min_words <= self.max_words <= WORDS_MOST:
            yield (
                f"min_words and max_words must hold 1 <= min_words <= max_words <= {WORDS_MOST}, "
                f"not {self.min_words} and {self.max_words}"
            )

    def prepare(self, run: Prepare) -> tuple[pa.Array, tuple[float, ...]]:
        import numpy as np
        import pyarrow as pa

        words = sorted(run.faker().get_words_list())[: self.vocabulary]
        ranks = run.rng.permutation(len(words)) + 1  # word i has rank ranks[i]
        weights = tuple((1.0 / ranks.astype(np.float64) ** self.zipf).tolist())
        return pa.array(words, pa.string()), weights

    def draw(self, d: Draw) -> pa.Array:
        import numpy as np
        import pyarrow as pa
        import pyarrow.compute as pc

        words, weights = d.state
        counts = d.rng.integers(self.min_words, self.max_words + 1, d.n)
        picks = choose(weights, len(words), int(counts.sum()), d.rng)
        offsets = np.concatenate(([0], np.cumsum(counts))).astype(np.int32)
        lines = pa.ListArray.from_arrays(pa.array(offsets), words.take(pa.array(picks)))
        return pc.binary_join(lines, " ")


@kind("entity")
@dataclass(frozen=True)
class Entity(Source):
    """A field of an entity drawn from a catalog: columns naming the same catalog at the same
    level share one draw, so their values belong together (a product's code, name and price)."""

    catalog: str
    field: str

    def problems(self, ctx: Context) -> Iterator[str]:
        if self.catalog not in ctx.catalogs:
            yield f"unknown catalog {self.catalog!r}"
        elif self.field not in ctx.catalogs[self.catalog]:
            yield f"catalog {self.catalog!r} has no field {self.field!r}"

    def prepare(self, run: Prepare) -> pa.Array:
        return run.catalogs[self.catalog][self.field]

    def draw(self, d: Draw) -> pa.Array:
        assert d.picks is not None
        return take(d.state, d.picks(self.catalog))


@kind("reference")
@dataclass(frozen=True)
class Reference(Source):
    """A foreign key: a value of `column` of data set `dataset` in the same bundle. In a data
    set that follows another (clicks), the value of the row followed; otherwise a row of a
    static table picked at random (an order's customer). A fraction `dangling` names a key the
    other data set never had, on purpose."""

    dataset: str
    column: str
    dangling: float = 0.0

    def problems(self, ctx: Context) -> Iterator[str]:
        if not 0.0 <= self.dangling <= 1.0:
            yield f"dangling must be a fraction between 0 and 1, not {self.dangling}"

    def prepare(self, run: Prepare) -> tuple[pa.Array, pa.Array] | None:
        if run.peer is None:
            return None  # a follower's keys are set row by row by the bundle
        return run.peer(self.dataset, self.column)

    def draw(self, d: Draw) -> pa.Array:
        if d.state is None:
            raise UsageError(
                f"a reference to {self.dataset!r} needs its bundle: land the bundle that holds "
                "both data sets"
            )
        values, unknown = d.state
        picks = take(values, d.rng.integers(0, len(values), d.n))
        return with_dangling(picks, unknown, self.dangling, d.rng)


@kind("visitor")
@dataclass(frozen=True)
class Visitor(Source):
    """A user for the row's moment: in each `slot` seconds of the clock a fraction `active` of
    `users` users is about, and each row is one of them, so a user's events come in bursts with
    gaps between them: sessions."""

    users: int = 100
    active: float = 0.1
    slot: int = 120
    prefix: str = "user-"
    types: ClassVar[tuple[str, ...] | None] = ("STRING",)

    def problems(self, ctx: Context) -> Iterator[str]:
        yield from super().problems(ctx)
        if self.users < 1 or self.slot < 1:
            yield "users and slot must be at least 1"
        if not 0.0 < self.active <= 1.0:
            yield f"active must be a fraction above 0, not {self.active}"

    def prepare(self, run: Prepare) -> tuple[int, pa.Array]:
        import pyarrow as pa

        width = len(str(self.users))
        names = pa.array([f"{self.prefix}{k:0{width}d}" for k in range(1, self.users + 1)])
        return int(run.rng.integers(2**62)), names

    def draw(self, d: Draw) -> pa.Array:
        import numpy as np

        assert d.clock is not None
        base, names = d.state
        ideal = d.clock.start + (d.offset + np.arange(d.n)) * d.clock.seconds_per_row
        slots = np.floor(ideal / self.slot).astype(np.int64)
        k = max(1, round(self.users * self.active))
        out = np.empty(d.n, dtype=np.int64)
        pick = d.rng.integers(0, k, d.n)
        for slot in np.unique(slots):  # who is about depends on the slot alone
            about = np.random.default_rng([base, int(slot)]).permutation(self.users)[:k]
            rows = slots == slot
            out[rows] = about[pick[rows]]
        return take(names, out)


# --- shared helpers -------------------------------------------------------------------------


def weights_bad(weights: tuple[float, ...] | None, count: int) -> bool:
    if count == 0:
        return True
    if weights is None:
        return False
    return len(weights) != count or any(w < 0 for w in weights) or sum(weights) <= 0


def recase(values: list[str], case: str | None) -> list[str]:
    if case == "upper":
        return [v.upper() for v in values]
    if case == "lower":
        return [v.lower() for v in values]
    return values


def choose(
    weights: tuple[float, ...] | None, count: int, n: int, rng: np.random.Generator
) -> np.ndarray:
    """n indices below `count`, by relative `weights` (uniform if None).

    A search in the cumulative weights: as rng.choice(p=...) does, several times faster.
    """
    import numpy as np

    if weights is None:
        return rng.integers(0, count, n)
    cdf = np.cumsum(np.asarray(weights, dtype=np.float64))
    picks: np.ndarray = np.searchsorted(cdf, rng.random(n) * cdf[-1], side="right")
    return picks.clip(0, count - 1)


def templates(
    items: tuple[Template, ...], weights: tuple[float, ...] | None, n: int, rng: np.random.Generator
) -> list[str]:
    """n strings, each from one of `items` (chosen by weight); runs once per catalog."""
    import numpy as np

    which = choose(weights, len(items), n, rng)
    out: list[str] = [""] * n
    for k, template in enumerate(items):
        rows = np.flatnonzero(which == k)
        parts = {
            name: _decode(src.draw(Draw(len(rows), rng))).to_pylist()
            for name, src in template.parts.items()
        }
        for j, row in enumerate(rows):
            try:
                out[row] = template.text.format(**{name: v[j] for name, v in parts.items()})
            except (KeyError, IndexError, ValueError, AttributeError, TypeError) as exc:
                raise UsageError(f"template {template.text!r}: {exc!r}") from None
        if template.case:
            for row in rows:
                out[row] = recase([out[row]], template.case)[0]
    return out


def fixed_width(pattern: str, n: int, rng: np.random.Generator) -> pa.Array:
    """n strings of one pattern, built as one byte buffer: a column of bytes per character."""
    import numpy as np
    import pyarrow as pa

    raw = np.frombuffer(pattern.encode("ascii"), dtype=np.uint8)
    width = len(raw)
    buf = np.empty((n, width), dtype=np.uint8)
    buf[:] = raw
    # one draw for all digit places and one for all letter places
    for mark, low, high in ((ord("#"), ord("0"), ord("9")), (ord("@"), ord("A"), ord("Z"))):
        places = np.flatnonzero(raw == mark)
        if len(places):
            buf[:, places] = rng.integers(low, high + 1, (n, len(places)), dtype=np.uint8)
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(buf))


def take(values: pa.Array, indices: np.ndarray) -> pa.DictionaryArray:
    """Values at `indices`, dictionary-encoded: the pool is the dictionary, so writers render
    each distinct value once."""
    import numpy as np
    import pyarrow as pa

    return pa.DictionaryArray.from_arrays(pa.array(indices.astype(np.int32, copy=False)), values)


def with_dangling(
    values: pa.Array, unknown: pa.Array, fraction: float, rng: np.random.Generator
) -> pa.Array:
    """`values` with a fraction replaced by keys from `unknown` (never in the other data set)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if fraction <= 0 or len(unknown) == 0 or len(values) == 0:
        return values
    n = len(values)
    off = rng.random(n) < fraction
    swap = pa.array(_decode(unknown).take(pa.array(rng.integers(0, len(unknown), n))))
    return pc.if_else(pa.array(off), swap.cast(_decode(values).type), _decode(values))


def _decode(values: pa.Array) -> pa.Array:
    import pyarrow as pa

    if isinstance(values, pa.DictionaryArray):
        return values.dictionary_decode()
    return values
