"""Tables laid out as the paper prints them: one row per data set and N, one column per method
(or quantity), each cell ours (95 % CI) above the paper's value, with the verdicts of the
paired claims of that method marked. The CSVs keep the long form; this is for reading."""

from __future__ import annotations

import numpy as np
import pandas as pd

from asp.catalog import TableSpec
from asp.methods import METHODS

BEYOND = " (beyond the paper)"


def _beyond(column: str) -> str:
    """A method column of a method the paper does not have, marked as such."""
    method = column.split(": ")[0]
    m = METHODS.get(method)
    return column.replace(method, method + BEYOND, 1) if m and not m.in_paper else column


FLOOR = "floor (error of the true function)"
MARK = {"supported": "✓", "contradicted": "✗", "not significant": "~", "untestable": "?"}


def fmt(v: float) -> str:
    return "–" if pd.isna(v) else f"{v:.4g}"


def _cell(row: pd.Series, br: str) -> str:
    text = fmt(row["ours"])
    if "ci_low" in row and np.isfinite(row.get("ci_low", np.nan)):
        text += f" ({fmt(row['ci_low'])}–{fmt(row['ci_high'])})"
    if np.isfinite(row.get("paper", np.nan)):
        text += f"{br}[{fmt(row['paper'])}]"
    return text


def _marks(claims: pd.DataFrame, row: pd.Series, br: str, variable: str | None) -> str:
    """The verdicts (after Holm where present) of the claims "method < other" of one cell (in
    a study, at its value of the study's ``variable``)."""
    if claims is None or not len(claims):
        return ""
    col = "holm_verdict" if "holm_verdict" in claims else "verdict"
    sel = claims[
        (claims["dataset"] == row["dataset"])
        & (claims["n"].astype(str) == str(row["n"]))
        & (claims["metric"] == row["metric"])
        & claims["claim"].str.startswith(f"{row['method']} < ")
    ]
    if variable is not None and variable in claims and variable in row:
        sel = sel[sel[variable] == row[variable]]
    return "".join(
        f"{br}{MARK.get(r[col], '?')} < {r['claim'].split(' < ', 1)[1]}" for _, r in sel.iterrows()
    )


def paper_layout(
    spec: TableSpec,
    table: pd.DataFrame,
    claims: pd.DataFrame | None = None,
    methods: list[str] | None = None,
    br: str = "\n",
) -> pd.DataFrame:
    """The long table of ``spec`` as a grid of plain-text cells (``br`` between the lines of a
    cell: a newline, which asp.report.grid_html escapes and breaks, or " " for Markdown);
    method columns in the order of ``methods``."""
    if not len(table):
        return pd.DataFrame()
    t = table.copy()
    multi_metric = t["metric"].nunique() > 1
    variable = None
    if spec.study is not None:
        from asp.studies import get_study  # studies build on the tables

        variable = get_study(spec.study).variable
    if spec.builder in ("loss", "study"):
        t["column"] = t["method"]
        rows = ["dataset", "n"] + ([variable] if variable else [])
        rows += ["metric"] if multi_metric else []
    elif spec.builder == "case_study":
        t["column"] = np.where(
            t["quantity"] == "test_loss_mean", t["method"], t["method"] + ": " + t["quantity"]
        )
        t["n"] = "all"
        rows = ["dataset", "metric"]
    elif spec.builder == "timing":
        t["column"] = t["method"] + ": " + t["quantity"]
        rows = ["dataset", "n"]
    else:  # hyper-parameters
        t["column"] = t["quantity"]
        rows = ["dataset", "metric", "n"]
    t["text"] = [
        _cell(r, br)
        + (
            _marks(claims, r, br, variable)
            if "method" in r
            and (spec.builder in ("loss", "study") or r.get("quantity") == "test_loss_mean")
            else ""
        )
        for _, r in t.iterrows()
    ]
    order = {m: i for i, m in enumerate(methods or [])}
    columns = sorted(dict.fromkeys(t["column"]), key=lambda c: order.get(c, len(order)))
    grid = t.pivot_table(index=rows, columns="column", values="text", aggfunc="first", sort=False)
    grid = grid.reindex(columns=columns).fillna("–").rename_axis(columns=None).reset_index()
    if spec.study is None:  # in the paper's tables, mark the methods the paper does not have
        grid.columns = [_beyond(c) if c not in rows else c for c in grid.columns]
    if "floor" in t and t["floor"].notna().any():  # simulated data: the floor of each row
        floor = t.groupby(rows, sort=False)["floor"].first().map(fmt).rename(FLOOR)
        grid = grid.merge(floor.reset_index(), on=rows, how="left")
    return grid
