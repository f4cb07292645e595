"""The HTML report's rendering: a Jinja2 environment that escapes every value, and the tables
we build as HTML ourselves. Names and values from data files (column names, category values,
data-set names) reach the report, so only markup built here is marked safe, and the text
inside it is escaped first."""

from __future__ import annotations

from html import escape

import jinja2
import pandas as pd
from markupsafe import Markup

from asp.analysis.layout import BEST
from asp.pipeline.readings import READINGS, method_link

LINE = "\n"  # the line break inside a cell of asp.analysis.layout.paper_layout's grid


def html_table(df: pd.DataFrame) -> Markup:
    """A long table as HTML; pandas escapes its header and cells."""
    return Markup(
        df.to_html(
            index=False,
            na_rep="–",
            float_format=lambda v: f"{v:.4g}",
            border=0,
            classes="t",
            escape=True,
        )
    )


def _header(value: object) -> str:
    return escape(str(value)).replace(LINE, "<br>")


def _cell(value: object) -> str:
    """A grid cell's lines, escaped: the first (our mean) as it is, in bold where the layout
    marked it the row's lowest, the others (CI, the paper's value, the change against FFN,
    the verdicts) smaller below it."""
    first, *rest = escape(str(value)).split(LINE)
    if len(first) > 2 * len(BEST) and first.startswith(BEST) and first.endswith(BEST):
        first = f"<b>{first[len(BEST) : -len(BEST)]}</b>"
    return first + "".join(f'<br><span class="sub">{line}</span>' for line in rest)


def grid_html(grid: pd.DataFrame) -> Markup:
    """A paper-layout grid of text cells as HTML: each cell and header escaped, then its line
    breaks as <br>."""
    cells = grid.apply(lambda column: column.map(_cell))
    cells.columns = [_header(c) for c in grid.columns]
    return Markup(cells.to_html(index=False, escape=False, border=0, classes="t paper"))


def reading(key: str) -> Markup:
    """A link from the report (reports/report.html) to the section of docs/method.md that
    states one reading of the paper, e.g. "docs/method.md §1"."""
    number = READINGS[key][1].split("-", 1)[0]
    return Markup('<a href="../{}">docs/method.md §{}</a>').format(method_link(key), number)


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(autoescape=True)
    env.globals["reading"] = reading
    return env


def render(template: str, **context: object) -> str:
    """The report from its template text: every value escaped unless it is Markup; the
    template may call ``reading(key)``."""
    return _environment().from_string(template).render(**context)


def section(study: dict, figure: str, block: dict, facts: dict) -> dict:
    """A study's report section (asp.pipeline.planning.report.ReportPlan.sections): its text, legend
    and notes are ours, from its declaration, rendered as Jinja templates given its config block and
    its facts (asp.studies.declaration.Study.facts) and marked safe; the figure is a data URI."""
    out = {**study, "figure": figure}
    for part in ("text", "legend", "notes"):
        if study.get(part):
            out[part] = Markup(render(study[part], block=block, facts=facts))
    return out
