"""The CLL paper's Table 1 from our LeNet runs (asp.lenet_training): test accuracy per data
set, task and model, the mean and the max over runs beside the paper's, and the paired claims.

The rows hold one test accuracy per data set, model, run and task. Run r of every model of a
data set draws from the same seed stream and trains on the same images, so the claims compare
runs in pairs (Wilcoxon over runs, Holm across a claim's cells), as the other studies do.
"""

from __future__ import annotations

import pandas as pd

from asp.stats import paired_claims, sample_sd

# the paper's data set names -> ours (asp.overlay_images.OVERLAY_SETS)
PAPER_DATASETS = {
    "Multi-MNIST": "multi_mnist",
    "Multi-FashionMNIST": "multi_fashion",
    "Multi-(Fashion + MNIST)": "multi_fashion_mnist",
}
LABELS = {
    "single_lenet": "SingleLeNet",
    "multi_lenet": "MultiLeNet",
    "multi_lenet_cll": "MultiLeNet+",
    "multi_lenet_cs": "MultiLeNetCS",
    "multi_lenet_cs_cll": "MultiLeNetCS+",
    "lenet_soft": "soft (ours)",
    "lenet_adaptive": "adaptive (ours)",
}
PAPER_MODELS = [
    "single_lenet",
    "multi_lenet",
    "multi_lenet_cll",
    "multi_lenet_cs",
    "multi_lenet_cs_cll",
]
# "a > b": a is more accurate than b. The paper's (its §3.1 text), then ours.
CLAIMS = [
    *[(m, "single_lenet", "the CLL paper") for m in PAPER_MODELS[1:]],
    ("multi_lenet_cll", "multi_lenet", "the CLL paper: the correlation layer helps"),
    ("multi_lenet_cs_cll", "multi_lenet_cs", "the CLL paper: with cross-stitch units too"),
    ("lenet_adaptive", "lenet_soft", "ours"),
    ("lenet_soft", "single_lenet", "ours"),
]
KEYS = ["dataset", "task"]


def paper_table1(paper: pd.DataFrame) -> pd.DataFrame:
    """The paper's Table 1 (cll_paper_tables.csv, table 1) as dataset (ours), task, model,
    paper_mean, paper_max."""
    t = paper[paper["table"].astype(str) == "1"].copy()
    if t.empty:
        raise ValueError("the CLL paper's tables file has no rows of table 1")
    unknown = sorted(set(t["dataset"]) - set(PAPER_DATASETS))
    if unknown:
        raise ValueError(f"the CLL paper's table 1 names data sets we do not know: {unknown}")
    t["dataset"] = t["dataset"].map(PAPER_DATASETS)
    t["task"] = t["task"].str.removeprefix("task").astype(int)
    wide = t.pivot_table(index=[*KEYS, "method"], columns="quantity", values="value")
    wide = wide.rename(columns={"accuracy_mean": "paper_mean", "accuracy_max": "paper_max"})
    return wide.reset_index().rename(columns={"method": "model"})


def table1(rows: pd.DataFrame, paper: pd.DataFrame, models: list[str]) -> pd.DataFrame:
    """Long rows dataset, task, model: our mean, sd and max over runs of the test accuracy,
    the runs, and the paper's mean and max where it has the model."""
    missing = {"dataset", "model", "run", "task", "accuracy"} - set(rows.columns)
    if missing:
        raise ValueError(f"LeNet rows lack the columns {sorted(missing)}")
    ours = (
        rows.groupby([*KEYS, "model"])
        .agg(
            mean=("accuracy", "mean"),
            sd=("accuracy", sample_sd),
            max=("accuracy", "max"),
            runs=("run", "nunique"),
        )
        .reset_index()
    )
    out = ours.merge(paper_table1(paper), on=[*KEYS, "model"], how="left")
    order = {m: i for i, m in enumerate(models)}
    out = out.assign(order=out["model"].map(order)).sort_values([*KEYS, "order"])
    return out.drop(columns="order").reset_index(drop=True)


def table1_layout(table: pd.DataFrame, models: list[str]) -> pd.DataFrame:
    """The paper's layout: a row per data set and task, a column per model with
    "mean (max)", then the paper's "mean (max)" per model it has."""

    def cell(mean: float, top: float) -> str:
        return "" if pd.isna(mean) else f"{mean:.4f} ({top:.4f})"

    t = table.assign(ours=[cell(m, x) for m, x in zip(table["mean"], table["max"], strict=True)])
    t["paper"] = [cell(m, x) for m, x in zip(t["paper_mean"], t["paper_max"], strict=True)]
    grid = t.pivot(index=KEYS, columns="model", values="ours")
    grid = grid[[m for m in models if m in grid]].rename(columns=LABELS)
    paper = t.pivot(index=KEYS, columns="model", values="paper")
    for m in PAPER_MODELS:
        if m in paper:
            grid[f"paper: {LABELS[m]}"] = paper[m]
    return grid.reset_index()


def claims(rows: pd.DataFrame) -> pd.DataFrame:
    """Each claim "a > b" in every data set and task: the paired comparison of the runs' test
    error (1 - accuracy; a more accurate model has the lower error), Wilcoxon's test and the
    verdict after Holm across the claim's cells (asp.stats.paired_claims)."""
    wide = rows.pivot_table(index=[*KEYS, "run"], columns="model", values="accuracy")
    return paired_claims(wide, KEYS, CLAIMS, ">", loss=lambda acc: 1 - acc)
