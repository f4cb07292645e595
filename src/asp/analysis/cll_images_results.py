"""The CLL paper's Table 1 from our LeNet runs (asp.experiments.lenet_training): test accuracy per
data set, task and model, the mean and the max over runs beside the paper's, and the paired claims.

The rows hold one test accuracy per data set, model, run and task. Run r of every model of a
data set draws from the same seed stream and trains on the same images, so the claims compare
runs in pairs (Wilcoxon over runs, Holm across a claim's cells), as the other studies do.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from asp.analysis.stats import claim_verdict, paired_claims, sample_sd

if TYPE_CHECKING:  # the table's job reads rows, without torch
    from asp.experiments.lenet_training import ImageRuns

# the paper's data set names -> ours (asp.data.overlay_images.OVERLAY_SETS)
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
# Xu 2023 §3.1: the tasks' similarity "from high to low: Multi-MNIST > Multi-FashionMNIST >
# Multi-(Fashion+MNIST)"; read as a claim that a multi-task model's gain over SingleLeNet
# follows that order (ours: the paper states the order, and its Table 1 is what would show it)
RELATEDNESS = ["multi_mnist", "multi_fashion", "multi_fashion_mnist"]


def run_rows(dataset: str, runs: ImageRuns, first_run: int = 0, model: str | None = None) -> tuple:
    """Long frames of B runs (numbered from ``first_run``) of ``model`` (default: the runs'):
    one row per run and task (test accuracy, best epoch, theta*), and the validation accuracy
    per epoch, run and task (the figure's curves)."""
    model = model or runs.model
    n_runs = len(runs.test_accuracy)
    run = np.arange(first_run, first_run + n_runs)
    rows = pd.DataFrame(
        {
            "dataset": dataset,
            "model": model,
            "run": np.repeat(run, 2),
            "task": np.tile([1, 2], n_runs),
            "accuracy": runs.test_accuracy.reshape(-1),
            "best_epoch": np.repeat(runs.best_epoch, 2),
            "theta_star": np.repeat(runs.theta_star, 2),
            "epochs": len(runs.val_accuracy),  # trained, the adaptive rounds' included
            "seconds": runs.seconds,
        }
    )
    epochs = len(runs.val_accuracy)
    curves = pd.DataFrame(
        {
            "dataset": dataset,
            "model": model,
            "epoch": np.repeat(np.arange(1, epochs + 1), n_runs * 2),
            "run": np.tile(np.repeat(run, 2), epochs),
            "task": np.tile([1, 2], epochs * n_runs),
            "val_accuracy": runs.val_accuracy.reshape(-1),
        }
    )
    return rows, curves


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
    the runs, the epochs trained, and the paper's mean and max where it has the model."""
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
            **({"epochs": ("epochs", "max")} if "epochs" in rows else {}),
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
    verdict after Holm across the claim's cells (asp.analysis.stats.paired_claims); then the
    ordering by relatedness (``ordering``)."""
    wide = rows.pivot_table(index=[*KEYS, "run"], columns="model", values="accuracy")
    models = paired_claims(wide, KEYS, CLAIMS, ">", loss=lambda acc: 1 - acc)
    return pd.concat([models, ordering(rows)], ignore_index=True)


def ordering(rows: pd.DataFrame) -> pd.DataFrame:
    """The claim that the more related data set gives a multi-task model the larger gain over
    SingleLeNet, for each pair of data sets next to each other in ``RELATEDNESS`` that both
    ran: per model and task, the gains (accuracy minus SingleLeNet's, run by run) of the two
    data sets compared in pairs of runs (run r draws from the same seed stream in each).
    Empty with fewer than two of the data sets."""
    ran = [d for d in RELATEDNESS if d in set(rows["dataset"])]
    pairs = [(a, b, "the CLL paper: relatedness") for a, b in zip(ran, ran[1:], strict=False)]
    if not pairs or "single_lenet" not in set(rows["model"]):
        return pd.DataFrame()
    acc = rows.pivot_table(index=["model", "task", "run"], columns="dataset", values="accuracy")
    single = acc.xs("single_lenet", level="model")
    gain = (acc.drop(index="single_lenet", level="model") - single).dropna(how="all")
    out = paired_claims(gain, ["model", "task"], pairs, ">", loss=lambda g: -g)
    out["claim"] = "gain over single_lenet: " + out["claim"]
    return out


def curves(per_run: pd.DataFrame) -> pd.DataFrame:
    """The figure's curves: per data set, model, task and epoch, the mean and the 25 % and
    75 % quantiles over runs of the validation accuracy (``run_rows``' curves)."""
    g = per_run.groupby(["dataset", "model", "task", "epoch"])["val_accuracy"]
    out = pd.concat({"mean": g.mean(), "q25": g.quantile(0.25), "q75": g.quantile(0.75)}, axis=1)
    return out.reset_index()


def findings(table: pd.DataFrame, claim_rows: pd.DataFrame, protocol: str) -> list[dict]:
    """The report's findings on the paper's Table 1 claims and ours; ``protocol`` says under
    which images, runs and epochs (the reduced protocol is not the paper's)."""
    if not len(claim_rows):
        return []
    ours = table.pivot_table(index=KEYS, columns="model", values="mean")
    paper = table.pivot_table(index=KEYS, columns="model", values="paper_mean")
    out = []
    for claim, sel in claim_rows.groupby("claim", sort=False):
        v = sel["holm_verdict"]
        sup, con = int((v == "supported").sum()), int((v == "contradicted").sum())
        n = int((v != "untestable").sum())
        a, b = claim.removeprefix("gain over single_lenet: ").split(" > ")
        note = ""
        if {a, b} <= set(ours.columns):
            note = f"Our mean accuracy is higher for {a} in {int((ours[a] > ours[b]).sum())} of "
            note += f"{len(ours)} data sets and tasks."
            if {a, b} <= set(paper.columns):
                p = paper[[a, b]].dropna()
                note += f" The paper's: {int((p[a] > p[b]).sum())} of {len(p)}."
        out.append(
            {
                "claim": f"{claim} in test accuracy ({sel['source'].iloc[0]}, Table 1)",
                "verdict": claim_verdict(sup, n, con),
                "evidence": f"{sup} of {n} cells supported, {con} contradicted (Wilcoxon over "
                f"paired runs, Holm; {protocol})",
                "explanation": note,
            }
        )
    return out
