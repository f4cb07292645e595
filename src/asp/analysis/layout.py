"""Tables laid out as the paper prints them: one row per data set and N, one column per method
(or quantity), each cell ours (95 % CI) above the paper's value, with the verdicts of the
paired claims of that method marked. The CSVs keep the long form; this is for reading."""

from __future__ import annotations

import numpy as np
import pandas as pd

from asp.analysis.catalog import TableSpec
from asp.engine.methods import METHODS

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


BEST = "**"  # around the lowest mean of a row (Markdown bold; asp.pipeline.report makes it <b>)


def _cell(row: pd.Series, br: str, best: bool = False, baseline: float = np.nan) -> str:
    """Our mean (marked when the row's lowest), then its 95 % CI, the paper's value in
    brackets and the change against the independent baseline's mean, one line each."""
    text = fmt(row["ours"])
    if best:
        text = f"{BEST}{text}{BEST}"
    if "ci_low" in row and np.isfinite(row.get("ci_low", np.nan)):
        text += f"{br}({fmt(row['ci_low'])}–{fmt(row['ci_high'])})"
    if np.isfinite(row.get("paper", np.nan)):
        text += f"{br}[{fmt(row['paper'])}]"
    if np.isfinite(baseline) and baseline and np.isfinite(row["ours"]):
        text += f"{br}{100 * (row['ours'] - baseline) / baseline:+.3g} % vs {BASELINE}"
    return text


def _baseline() -> str:
    """The independent networks every sharing method is measured against (asp.engine.methods: the
    paper's method without hyper-parameters, FFN)."""
    return next(m.name for m in METHODS.values() if m.in_paper and not m.hyperparameters)


BASELINE = _baseline()


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
    cell: a newline, which asp.pipeline.report.grid_html escapes and breaks, or " " for Markdown);
    method columns in the order of ``methods``."""
    if not len(table):
        return pd.DataFrame()
    t = table.copy()
    multi_metric = t["metric"].nunique() > 1
    variable = spec.variable
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
    # per row of the grid: the lowest mean among the methods, and the baseline's mean
    loss = t["method"].notna() if "method" in t else pd.Series(False, index=t.index)
    if "quantity" in t:
        loss &= t["quantity"] == "test_loss_mean"
    if spec.builder in ("hyper", "timing"):
        loss &= False
    groups = t[loss].groupby(rows, sort=False)["ours"]
    lowest = groups.transform("min").reindex(t.index)
    base = t[loss & (t.get("method") == BASELINE)].set_index(rows)["ours"]
    baseline = [
        base.get(tuple(r[k] for k in rows) if len(rows) > 1 else r[rows[0]], np.nan)
        if loss[i] and r["method"] != BASELINE
        else np.nan
        for i, r in t.iterrows()
    ]
    t["text"] = [
        _cell(r, br, bool(loss[i]) and r["ours"] == lowest[i], b)
        + (
            _marks(claims, r, br, variable)
            if "method" in r
            and (spec.builder in ("loss", "study") or r.get("quantity") == "test_loss_mean")
            else ""
        )
        for (i, r), b in zip(t.iterrows(), baseline, strict=True)
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
