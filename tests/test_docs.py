"""The README is a front page and the docs hold the reference: every relative link resolves.

No Spark, no processes: the Markdown files are read as text.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import REPO

README = REPO / "README.md"
DOCS = sorted((REPO / "docs").rglob("*.md"))
PAGES = sorted((REPO / "docs").glob("*.md"))

FENCE = re.compile(r"^(```|~~~).*?^\1[ \t]*$", flags=re.MULTILINE | re.DOTALL)
INLINE_CODE = re.compile(r"`[^`\n]*`")
LINK = re.compile(r"!?\[(?:[^\]\n]|\[[^\]\n]*\])*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
HEADING = re.compile(r"^#{1,6}[ \t]+(.+?)[ \t]*#*[ \t]*$", flags=re.MULTILINE)


def prose(text: str) -> str:
    """The text without code blocks: a `#` or `[x](y)` in code is neither a heading nor a link."""
    return FENCE.sub("", text)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped (but hyphens, underscores
    and spaces), spaces to hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link in a heading: its text
    text = text.lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    """Every heading's anchor; a repeated heading gets -1, -2, ... as on GitHub."""
    seen: dict[str, int] = {}
    out = set()
    for heading in HEADING.findall(prose(page.read_text())):
        base = slug(heading)
        count = seen.get(base, 0)
        seen[base] = count + 1
        out.add(base if count == 0 else f"{base}-{count}")
    return out


def links(page: Path) -> list[str]:
    text = INLINE_CODE.sub("", prose(page.read_text()))
    return LINK.findall(text)


def relative(target: str) -> bool:
    return not re.match(r"^[a-z][a-z0-9+.-]*:", target, flags=re.IGNORECASE)


def test_the_readme_is_a_front_page() -> None:
    lines = README.read_text().count("\n")
    assert lines <= 300, f"README.md has {lines} lines: the reference goes in docs/"


def test_the_readme_links_every_docs_page() -> None:
    linked = {target.split("#", 1)[0] for target in links(README)}
    for page in PAGES:
        assert f"docs/{page.name}" in linked, f"README.md does not link docs/{page.name}"


def test_the_readme_speaks_from_the_readers_side() -> None:
    assert "../shared" not in README.read_text()


@pytest.mark.parametrize("page", [README, *DOCS], ids=lambda p: str(p.relative_to(REPO)))
def test_every_relative_link_resolves(page: Path) -> None:
    found = links(page)
    if page in (README, REPO / "docs" / "lessons" / "README.md"):
        assert found, f"{page.name}: no links found (the pattern is wrong?)"
    broken = []
    for target in found:
        if not relative(target):
            continue
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        if not file.exists():
            broken.append(f"{target}: no {path}")
        elif anchor and file.suffix == ".md" and anchor not in anchors(file):
            broken.append(f"{target}: no heading #{anchor} in {file.relative_to(REPO)}")
    assert not broken, f"{page.relative_to(REPO)}: " + "; ".join(broken)


def test_slug_follows_github() -> None:
    assert slug("Long runs: `--clean-source`") == "long-runs---clean-source"
    assert slug("`generator socket PORT`") == "generator-socket-port"
    assert slug("Spark Connect: `--remote sc://HOST:PORT`") == "spark-connect---remote-schostport"
    assert slug("Event time, late data and watermarks") == "event-time-late-data-and-watermarks"


def test_the_readme_quick_start_is_lesson_5_whose_output_is_checked() -> None:
    """The quick start's commands are lesson 5's (its folder aside), and the last line the
    README promises is one lesson 5 says you will see: tests/test_lessons.py runs the lesson
    and asserts it, so the README's sample is what the command prints."""
    from tests.test_lessons import blocks

    text = README.read_text()
    start = text[text.index("## Quick start") :]
    block = re.search(r"^```\n(.*?)^```", start, re.S | re.M)
    assert block is not None
    readme = [line for line in re.sub(r"\\\n\s*", "", block.group(1)).splitlines()
              if line.startswith("python -m ")]  # fmt: skip
    lesson = REPO / "docs" / "lessons" / "05-event-time.md"
    steps = [(command, seen) for _, commands, seen in blocks(lesson) for command in commands]
    lesson_commands = [c.replace("/tmp/lessons/05/", "/tmp/") for c, _ in steps[:2]]
    assert readme == [c.replace("/tmp/report.html", "/tmp/run.html") for c in lesson_commands]
    promised = re.search(r"its last line: `([^`]+)`", " ".join(start.split()))
    assert promised is not None and promised.group(1) in steps[1][1]
