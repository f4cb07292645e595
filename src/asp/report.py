"""The HTML report's rendering: a Jinja2 environment that escapes every value, and the tables
we build as HTML ourselves. Names and values from data files (column names, category values,
data-set names) reach the report, so only markup built here is marked safe, and the text
inside it is escaped first."""

from __future__ import annotations

from html import escape

import jinja2
import pandas as pd
from markupsafe import Markup

LINE = "\n"  # the line break inside a cell of asp.layout.paper_layout's grid


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


def _cell(value: object) -> str:
    return escape(str(value)).replace(LINE, "<br>")


def grid_html(grid: pd.DataFrame) -> Markup:
    """A paper-layout grid of text cells as HTML: each cell and header escaped, then its line
    breaks as <br>."""
    cells = grid.apply(lambda column: column.map(_cell))
    cells.columns = [_cell(c) for c in grid.columns]
    return Markup(cells.to_html(index=False, escape=False, border=0, classes="t paper"))


def render(template: str, **context: object) -> str:
    """The report from its template text: every value escaped unless it is Markup."""
    env = jinja2.Environment(autoescape=True)
    return env.from_string(template).render(**context)
