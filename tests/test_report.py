"""The report escapes whatever comes from data or results files: a data-set name, a method label
or a cell that carries HTML shows as text and never runs."""

from html.parser import HTMLParser

import pandas as pd
import yaml
from conftest import ROOT

from asp.analysis.catalog import TABLES
from asp.analysis.layout import paper_layout
from asp.pipeline.report import grid_html, html_table, render

NAME = "<script>alert('dataset')</script>"
LABEL = '<img src=x onerror="alert(1)">'
CELL = "<script>document.title = 'cell'</script>"


class Elements(HTMLParser):
    """Start tags with their attributes, the text of every <script>, and all text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.scripts: list[str] = []
        self.text: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"
        if self._in_script:
            self.scripts.append("")

    def handle_endtag(self, tag):
        self._in_script = False if tag == "script" else self._in_script

    def handle_data(self, data):
        if self._in_script:
            self.scripts[-1] += data
        self.text.append(data)


def hostile_report() -> str:
    long = pd.DataFrame(
        {
            "dataset": [NAME, NAME],
            "n": [2000, 2000],
            "metric": ["mse", "mse"],
            "method": ["ffn", LABEL],
            "ours": [1e-4, 2e-4],
            "ci_low": [0.9e-4, 1.9e-4],
            "ci_high": [1.1e-4, 2.1e-4],
            "paper": [float("nan"), float("nan")],
            "note": [CELL, CELL],
        }
    )
    claims = pd.DataFrame(
        {
            "dataset": [NAME],
            "n": [2000],
            "metric": ["mse"],
            "claim": [f"{LABEL} < ffn"],
            "verdict": ["supported"],
            "holm_verdict": ["supported"],
        }
    )
    grid = paper_layout(TABLES["table3"], long, claims, ["ffn", LABEL])
    table = {
        "id": "table3",
        "title": TABLES["table3"].title,
        "html": grid_html(grid),
        "long": html_table(long),
        "case_study_results": None,
    }
    return render(
        (ROOT / "workflow" / "templates" / "report.html.j2").read_text(),
        generated="now",
        tables=[table],
        findings=[{"claim": f"{LABEL} < ffn", "tables": "3", "verdict": CELL, "evidence": NAME}],
        verdicts=html_table(claims),
        claims=html_table(claims),
        figures=[],
        config=yaml.safe_dump({"case_studies": {"sets": {NAME: {"file": LABEL}}}}),
        commit=CELL,
        versions={},
        devices=["cpu"],
        n_fits=2,
        n_diverged=0,
        wall=html_table(long[["method", "note"]]),
        total_seconds=1.0,
        checksums=[f"{NAME}  0123"],
        case_studies=[
            {
                "dataset": NAME,
                "file": LABEL,
                "sha256": CELL,
                "checksum_warning": None,
                "rows_read": 3,
                "rows_dropped": 0,
                "rows_used": 3,
                "inputs": [LABEL],
                "outputs": [NAME],
                "notes": [CELL],
            }
        ],
        tuning=None,
        missing=[
            {
                "dataset": NAME,
                "file": LABEL,
                "sha256": CELL,
                "obtain": CELL,
                "searched": [NAME],
            }
        ],
        config_hashes=1,
        versions_json="{}",
    )


def test_the_report_shows_hostile_names_and_cells_as_text_only():
    html = hostile_report()
    parsed = Elements()
    parsed.feed(html)
    # the template's own script (the broken-image check) is the only one
    assert len(parsed.scripts) == 1 and "brokenImages" in parsed.scripts[0]
    assert not [t for t, attrs in parsed.tags if any(a.startswith("on") for a in attrs)]
    assert not [attrs for t, attrs in parsed.tags if t == "img" and attrs.get("src") == "x"]
    text = "".join(parsed.text)
    # every payload is there, as text: in the grid (the data set, the method's header, its
    # claim mark), the long table, the findings, the config and the case-study provenance
    for payload in (NAME, LABEL, CELL):
        assert text.count(payload) >= 3, payload
    assert f"{LABEL} (beyond the paper)" not in text  # not a registered method: not marked


def test_grid_cells_keep_their_line_breaks_as_markup():
    grid = pd.DataFrame({"dataset": ["a<b"], "soft": ["1\n[2]"]})
    parsed = Elements()
    parsed.feed(str(grid_html(grid)))
    assert [t for t, _ in parsed.tags].count("br") == 1
    assert "a<b" in "".join(parsed.text)


def test_the_report_links_each_reading_to_its_section_of_the_method_doc():
    import re

    from asp.pipeline.readings import READINGS

    html = hostile_report()
    links = set(
        re.findall(r'<a href="\.\./docs/method\.md#([\w-]+)">docs/method\.md §(\d+)</a>', html)
    )
    anchors = {anchor for _, anchor in READINGS.values()}
    assert {a for a, _ in links} <= anchors
    for anchor, number in links:
        assert anchor.startswith(f"{number}-")
    # every reading the report relies on, among them the penalty, rounds, theta*, lambda*,
    # metrics, data model, splits, Table 7's forms and the statistics
    assert {a.split("-", 1)[0] for a, _ in links} >= {"1", "2", "3", "4", "5", "6", "7", "9", "12"}
