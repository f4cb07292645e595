"""How large each claim's effect is, cell by cell, beside the paper's: for the report's "At a
glance" sentences and its forest plots.

A claim "a < b" of one cell (data set, N, metric) is summarised by the relative difference of
the mean test errors, 100 (a - b) / b: negative where a is lower. Its 95 % CI is the paired
difference's t-interval over the replicates divided by b's mean. The paper's effect comes
from its own table values, 100 (paper_a - paper_b) / paper_b. A claim is the paper's when both
of its methods are (asp.engine.methods: ``in_paper``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from asp.analysis.stats import claim_verdict
from asp.engine.methods import METHODS

COLUMNS = [
    "table",
    "claim",
    "dataset",
    "n",
    "metric",
    "effect",
    "ci_low",
    "ci_high",
    "paper_effect",
    "verdict",
]


def is_papers(claim: str) -> bool:
    """Whether both methods of "a < b" are the paper's."""
    names = [m.strip() for m in claim.split(" < ")]
    return len(names) == 2 and all(n in METHODS and METHODS[n].in_paper for n in names)


def _paper_values(table: pd.DataFrame) -> pd.DataFrame:
    """The paper's value per (dataset, n, metric, method) of a loss or case-study table."""
    t = table
    if "quantity" in t:
        t = t[t["quantity"] == "test_loss_mean"].assign(n="all")
    return t[["dataset", "n", "metric", "method", "paper"]].assign(n=lambda d: d["n"].astype(str))


def claim_effects(tables: dict[str, pd.DataFrame], claims: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """One row per cell of every claim of the paper in ``claims`` (table id -> its claims CSV)
    whose table (``tables``) holds the paper's values."""
    rows = []
    for table_id, c in claims.items():
        table = tables.get(table_id)
        if table is None or not len(c) or "mean_b" not in c or "paper" not in table:
            continue
        c = c[c["claim"].map(is_papers)]
        if not len(c):
            continue
        paper = _paper_values(table).set_index(["dataset", "n", "metric", "method"])["paper"]
        for r in c.itertuples(index=False):
            a, b = (m.strip() for m in r.claim.split(" < "))
            key = (r.dataset, str(r.n), r.metric)
            pa, pb = paper.get((*key, a), np.nan), paper.get((*key, b), np.nan)
            scale = 100.0 / r.mean_b
            rows.append(
                {
                    "table": table_id,
                    "claim": r.claim,
                    "dataset": r.dataset,
                    "n": str(r.n),
                    "metric": r.metric,
                    "effect": r.mean_diff * scale,
                    "ci_low": r.diff_ci_low * scale,
                    "ci_high": r.diff_ci_high * scale,
                    "paper_effect": 100.0 * (pa - pb) / pb if np.isfinite(pb) and pb else np.nan,
                    "verdict": getattr(r, "holm_verdict", r.verdict),
                }
            )
    return pd.DataFrame(rows, columns=COLUMNS)


def _percent(v: float) -> str:
    return f"{abs(v):.3g} %"


def _effect(effect: float, ci_low: float, ci_high: float) -> str:
    """ "75 % lower (CI 73–77 %)": the size, its direction and its interval, in words."""
    way = "lower" if effect < 0 else "higher"
    if np.sign(ci_low) == np.sign(ci_high):
        lo, hi = sorted((abs(ci_low), abs(ci_high)))
        ci = f"CI {lo:.3g}–{hi:.3g} %"
    else:  # the interval holds 0: from lower to higher
        ci = f"CI from {_percent(ci_low)} lower to {_percent(ci_high)} higher"
    return f"{_percent(effect)} {way} ({ci})"


def at_a_glance(effects: pd.DataFrame, focus: int) -> list[dict]:
    """One plain sentence per claim of the paper: its effect on the MSE runs in each
    simulation case at N = ``focus`` and in each case study, and the verdict over all its
    cells (after Holm). Each names the tables it comes from."""
    out = []
    for claim, g in effects.groupby("claim", sort=False):
        a, b = (m.strip() for m in claim.split(" < "))
        metric = "mse" if (g["metric"] == "mse").any() else g["metric"].iloc[0]
        shown = g[(g["metric"] == metric) & g["n"].isin([str(focus), "all"])]
        parts = [
            f"{r.dataset} {_effect(r.effect, r.ci_low, r.ci_high)}"
            for r in shown.itertuples(index=False)
        ]
        supported = int((g["verdict"] == "supported").sum())
        contradicted = int((g["verdict"] == "contradicted").sum())
        testable = int((g["verdict"] != "untestable").sum())
        where = [f"N = {focus}"] if (shown["n"] != "all").any() else []
        where += ["in the case studies"] if (shown["n"] == "all").any() else []
        out.append(
            {
                "claim": claim,
                "sentence": f"{a}'s test {metric.upper()} against {b}'s"
                + (f" ({' and '.join(where)})" if where else "")
                + ": "
                + "; ".join(parts)
                + ".",
                "verdict": claim_verdict(supported, testable, contradicted),
                "evidence": f"{supported} of {testable} cells supported, {contradicted} "
                "contradicted (paired Wilcoxon, Holm)",
                "tables": sorted(g["table"].unique(), key=lambda t: (len(t), t)),
            }
        )
    return out


@dataclass(frozen=True)
class Glance:
    """How a study's claims read in "At a glance" (asp.studies.declaration.Study.glance): its label
    in its paper, what its claims compare, how a difference of means reads (``percent`` of the
    second model's mean, the ``value`` itself, or accuracy in ``points``) and each cell's name from
    its claims' columns."""

    label: str
    quantity: str
    unit: str
    cells: Callable[[pd.DataFrame], pd.Series]


# Cells listed one by one up to this many; a claim with more is summarised.
CLL_CELLS_LISTED = 6


def _cll_effect(r, unit: str) -> str:
    """One cell's difference and its 95 % CI in the table's unit, in words."""
    scale = {"percent": 100.0 / abs(r.mean_b), "points": 100.0, "value": 1.0}[unit]
    effect, lo, hi = r.mean_diff * scale, r.diff_ci_low * scale, r.diff_ci_high * scale
    if unit == "percent":
        return _effect(effect, lo, hi)
    suffix = " points" if unit == "points" else ""
    way = "lower" if effect < 0 else "higher"
    return f"{abs(effect):.3g}{suffix} {way} (CI {lo:.3g} to {hi:.3g}{suffix})"


def cll_glance(claims: dict[str, pd.DataFrame], glances: dict[str, Glance]) -> list[dict]:
    """One sentence per claim of the CLL paper (Xu et al. 2023) in ``claims`` (its tables' id
    -> their claims files, read as ``glances`` says, in its order): the difference of the first
    model's mean from the second's in each cell with its 95 % CI (paired over replicates or
    runs), or, past ``CLL_CELLS_LISTED`` cells, the median difference and in how many cells
    the interval lies below or above 0;
    then the verdict over all its cells (after Holm)."""
    out = []
    for table_id, glance in glances.items():
        label, quantity, unit = glance.label, glance.quantity, glance.unit
        c = claims.get(table_id)
        if c is None or not len(c) or "mean_diff" not in c:
            continue
        if "source" in c:
            c = c[c["source"].str.startswith("the CLL paper")]
        else:  # Figure 8: both models the CLL paper's (asp.engine.methods: source)
            c = c[c["claim"].map(_cll_papers)]
        c = c.assign(cell=glance.cells(c))
        # Figure 8's "the loss grows as p falls": one sentence per model, a cell per step of p
        steps = c["claim"].str.contains(": loss at p = ", regex=False)
        c.loc[steps, "cell"] = c.loc[steps, "claim"].str.replace(
            r".*: loss at p = (\S+) < at p = (\S+)", r"p \1 against p \2", regex=True
        )
        c.loc[steps, "claim"] = (
            c.loc[steps, "claim"].str.split(":").str[0] + ": the loss grows as p falls"
        )
        for claim, g in c.groupby("claim", sort=False):
            verdicts = g["holm_verdict"] if "holm_verdict" in g else g["verdict"]
            supported = int((verdicts == "supported").sum())
            contradicted = int((verdicts == "contradicted").sum())
            testable = int((verdicts != "untestable").sum())
            if len(g) <= CLL_CELLS_LISTED:
                parts = [f"{r.cell} {_cll_effect(r, unit)}" for r in g.itertuples(index=False)]
                body = "; ".join(parts)
            else:
                scale = 100.0 if unit == "points" else 1.0
                below, above = int((g["diff_ci_high"] < 0).sum()), int((g["diff_ci_low"] > 0).sum())
                body = (
                    f"in {len(g)} settings the median difference is "
                    f"{g['mean_diff'].median() * scale:.3g}; its 95 % CI lies below 0 in "
                    f"{below}, above 0 in {above}, and holds 0 in {len(g) - below - above}"
                )
            out.append(
                {
                    "claim": claim,
                    "sentence": f"{claim} in {quantity} (the CLL paper, {label}): {body}.",
                    "verdict": claim_verdict(supported, testable, contradicted),
                    "evidence": f"{supported} of {testable} cells supported, {contradicted} "
                    "contradicted (paired Wilcoxon, Holm)",
                    "tables": [table_id],
                }
            )
    return out


def _cll_papers(claim: str) -> bool:
    """Whether a Figure 8 claim compares two of the CLL paper's models ("a < b", or "a: loss at
    p = ..." of one)."""
    names = [n.strip() for n in claim.split(":")[0].split(" < ")]
    return all(n in METHODS and "(the CLL paper)" in METHODS[n].source for n in names)
