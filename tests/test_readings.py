"""docs/method.md and asp.pipeline.readings stay in step: every reading links to a real section,
every numbered section is a reading, and every "docs/method.md §N" citation names a section."""

import re
from pathlib import Path

import pytest

from asp.pipeline.readings import METHOD_DOC, READINGS, method_link

ROOT = Path(__file__).resolve().parents[1]
HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
NUMBERED = re.compile(r"^(\d+)\.\s+(.+)$")


def github_anchor(title: str) -> str:
    """GitHub's heading anchor: lowercase, punctuation other than hyphens and spaces removed,
    spaces turned into hyphens."""
    kept = re.sub(r"[^\w\- ]", "", title.strip().lower())
    return kept.replace(" ", "-")


def headings() -> list[tuple[int, str]]:
    """(level, text) of every heading outside fenced code blocks."""
    out, fenced = [], False
    for line in (ROOT / METHOD_DOC).read_text(encoding="utf-8").splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        m = None if fenced else HEADING.match(line)
        if m:
            out.append((len(m.group(1)), m.group(2)))
    return out


def numbered_sections() -> dict[int, str]:
    """Section number -> heading text ("1. Penalty") of the numbered level-2 headings."""
    found = {}
    for level, text in headings():
        m = NUMBERED.match(text)
        if level == 2 and m:
            assert int(m.group(1)) not in found, f"section {m.group(1)} appears twice"
            found[int(m.group(1))] = text
    return found


def test_anchor_rule():
    assert github_anchor("1. Penalty") == "1-penalty"
    assert github_anchor("7. Splits, scaling and seeds") == "7-splits-scaling-and-seeds"
    assert github_anchor("11. Matched-budget control") == "11-matched-budget-control"


def test_every_reading_has_its_section():
    anchors = {github_anchor(text) for _, text in headings()}
    missing = {k: a for k, (_, a) in READINGS.items() if a not in anchors}
    assert not missing, f"READINGS anchors without a heading in {METHOD_DOC}: {missing}"


def test_titles_match_headings():
    by_anchor = {github_anchor(t): NUMBERED.match(t).group(2) for t in numbered_sections().values()}
    for key, (title, anchor) in READINGS.items():
        assert by_anchor.get(anchor) == title, f"{key}: title {title!r} vs heading of #{anchor}"


def test_every_numbered_section_is_a_reading():
    sections = numbered_sections()
    assert sorted(sections) == list(range(1, len(sections) + 1)), "sections numbered 1..n"
    anchors = {a for _, a in READINGS.values()}
    unlisted = [t for t in sections.values() if github_anchor(t) not in anchors]
    assert not unlisted, f"numbered sections of {METHOD_DOC} missing from READINGS: {unlisted}"


def test_method_link():
    assert method_link("penalty") == "docs/method.md#1-penalty"
    with pytest.raises(ValueError, match="unknown reading"):
        method_link("no_such_reading")


def test_citations_name_existing_sections():
    """Every "docs/method.md §N" (or "§N–M", "§N, §M") in the project names a section."""
    sections = numbered_sections()
    cite = re.compile(r"docs/method\.md ((?:§\d+(?:[–-]\d+)?(?:,\s*)?)+)")
    bad = []
    files = [ROOT / "README.md"] + [
        f
        for folder in ("src", "tests", "docs", "workflow", "scripts", "benchmarks")
        for f in (ROOT / folder).rglob("*")
        if f.is_file() and f.suffix in (".py", ".md", ".smk", ".j2", ".yaml")
    ]
    for path in files:
        for m in cite.finditer(path.read_text(encoding="utf-8", errors="replace")):
            for n in re.findall(r"\d+", m.group(1)):
                if int(n) not in sections:
                    bad.append(f"{path.relative_to(ROOT)}: {m.group(0)}")
    assert not bad, f"citations of sections {METHOD_DOC} does not have: {bad}"
