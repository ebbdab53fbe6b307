"""The word count's answer key: how many times each word was sent, one JSON line per word,
`{"word": ..., "count": ...}` (the most frequent first). Spark's word count in complete mode ends
with exactly these counts once it has read every line sent."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from generator.answers.store import Line
from generator.landing import land


class WordsKey:
    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def add_lines(self, lines: pa.Array) -> None:
        """Lines as sent: words split on single spaces, as `split(value, " ")` splits them."""
        if len(lines) == 0:
            return
        words = pc.list_flatten(pc.split_pattern(lines, " "))
        for pair in pc.value_counts(words).to_pylist():
            word = pair["values"]
            self.counts[word] = self.counts.get(word, 0) + pair["counts"]

    def lines(self) -> list[Line]:
        ranked = sorted(self.counts.items(), key=lambda wc: (-wc[1], wc[0]))
        return [{"word": word, "count": count} for word, count in ranked]

    def save(self, folder: Path, name: str) -> None:
        """Written whole (a word's count changes as lines are sent; the words are few)."""
        text = "".join(json.dumps(line) + "\n" for line in self.lines())
        land(folder, name, [text.encode()], replace=True)


def load_words(path: Path) -> dict[str, int]:
    """A words key as {word: count}."""
    out: dict[str, int] = {}
    for raw in path.read_text().splitlines():
        if raw.strip():
            line = json.loads(raw)
            out[line["word"]] = line["count"]
    return out
