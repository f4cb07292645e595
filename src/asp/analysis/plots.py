"""Figures 3-7 (validation MSE after the soft minimum, soft continued vs the adaptive rounds),
the optimisation history of the tuning studies, the studies' lines and the claims' forest
plots."""

from __future__ import annotations

import textwrap

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402


def pad_rows(rows: list[np.ndarray]) -> np.ndarray:
    """Stack 1-D arrays of different lengths into rows, NaN padded."""
    out = np.full((len(rows), max((r.size for r in rows), default=0)), np.nan)
    for i, r in enumerate(rows):
        out[i, : r.size] = r
    return out


def after_soft_minimum(
    soft_val: np.ndarray, soft_best_epoch: np.ndarray, adaptive_val: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per replicate, curves starting at the soft minimum (x = 0): soft as it continued until
    early stopping, and the adaptive rounds that started from the soft minimum's weights.

    ``soft_val`` and ``adaptive_val`` are (epochs, replicates), NaN where a fit was idle."""
    soft_rows, ad_rows = [], []
    for b, best in enumerate(soft_best_epoch.astype(int)):
        if best < 1:  # never trained (diverged at once)
            continue
        s = soft_val[:, b]
        s = s[~np.isnan(s)]
        a = adaptive_val[:, b]
        soft_rows.append(s[best - 1 :])
        ad_rows.append(np.concatenate([[s[best - 1]], a[~np.isnan(a)]]))
    return pad_rows(soft_rows), pad_rows(ad_rows)


def _summary(curves: np.ndarray, min_share: float = 0.5):
    """Mean and 25-75 % band per epoch, over epochs where at least min_share of fits are left."""
    alive = np.mean(~np.isnan(curves), axis=0) >= min_share
    keep = curves[:, alive] if alive.any() else curves[:, :1]
    with np.errstate(all="ignore"):
        return (
            np.nanmean(keep, axis=0),
            np.nanquantile(keep, 0.25, axis=0),
            np.nanquantile(keep, 0.75, axis=0),
        )


def soft_vs_adaptive(soft: np.ndarray, adaptive: np.ndarray, title: str) -> plt.Figure:
    """Mean validation MSE over replicates (line) with the 25-75 % band; soft's minimum in black,
    adaptive's minimum in red (as in the paper's Figures 3-7)."""
    sns.set_theme(style="whitegrid", context="notebook")
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for curves, color, label in (
        (soft, "0.35", "soft, continued"),
        (adaptive, "tab:red", "adaptive rounds"),
    ):
        mean, lo, hi = _summary(curves)
        x = np.arange(mean.size)
        ax.plot(x, mean, color=color, label=label, lw=1.6)
        ax.fill_between(x, lo, hi, color=color, alpha=0.18, lw=0)
    s_mean, _, _ = _summary(soft)
    if s_mean.size < 2:  # soft's minimum was its last epoch: it stopped at the epoch limit
        ax.annotate(
            "soft was still improving at its epoch limit:\nno epochs after its minimum",
            xy=(0.02, 0.04),
            xycoords="axes fraction",
            fontsize=8,
            color="0.3",
        )
    a_mean, _, _ = _summary(adaptive)
    ax.scatter([0], [s_mean[0]], color="black", zorder=5, s=40, label="soft minimum")
    i = int(np.nanargmin(a_mean))
    ax.scatter([i], [a_mean[i]], color="red", zorder=5, s=40, label="adaptive minimum")
    ax.set_yscale("log")
    ax.set_xlabel("epochs after the soft minimum")
    ax.set_ylabel("validation MSE (scaled targets)")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def tuning_history(trials: pd.DataFrame) -> plt.Figure:
    """One panel per study (dataset, metric, phase): each completed trial's objective and the
    best so far, in trial order. ``trials`` has columns dataset, metric, phase, number, value
    and state (Optuna's trials_dataframe plus the study keys)."""
    done = trials[(trials["state"] == "COMPLETE") & np.isfinite(trials["value"])]
    done = done.sort_values("number").copy()  # a diverged trial (value inf) has no point
    if done.empty:
        raise ValueError("no completed trials with a finite objective to plot")
    done["study"] = done["dataset"] + " " + done["metric"]
    done["best so far"] = done.groupby(["study", "phase"])["value"].cummin()
    grid = sns.FacetGrid(
        done,
        row="study",
        row_order=sorted(done["study"].unique()),
        col="phase",
        col_order=[p for p in ("soft", "adaptive") if p in set(done["phase"])],
        sharex=False,
        sharey=False,
        height=1.9,
        aspect=2.0,
    )
    grid.map_dataframe(sns.scatterplot, x="number", y="value", s=14, color="0.45")
    grid.map_dataframe(
        sns.lineplot, x="number", y="best so far", color="tab:red", drawstyle="steps-post"
    )
    grid.set_axis_labels("trial", "validation objective")
    grid.set_titles("{row_name}, {col_name}")
    for ax in grid.axes.flat:
        ax.yaxis.set_major_locator(plt.MaxNLocator(4))
        ax.ticklabel_format(axis="y", style="sci", scilimits=(-2, 3), useOffset=False)
    grid.figure.suptitle("Tuning: trial objective (grey) and best so far (red)", y=1.0)
    grid.figure.tight_layout()
    return grid.figure


def _panel_grid(n_rows: int, n_cols: int) -> tuple[plt.Figure, np.ndarray]:
    """A grid of small panels, 3.6 x 2.9 inches each, in the figures' theme."""
    sns.set_theme(style="whitegrid", context="notebook")
    return plt.subplots(n_rows, n_cols, figsize=(3.6 * n_cols, 2.9 * n_rows), squeeze=False)


def study_lines(table: pd.DataFrame, x: str, xlabel: str, scale: str, title: str) -> plt.Figure:
    """A study's mean test loss (95 % CI as error bars) against its variable, the column
    ``x`` (the budget study's stage-0 epochs, the relatedness study's rho), one line per
    method; a row per metric, a column per case."""
    if table.empty:
        raise ValueError(f"{title}: the table is empty, nothing to plot")
    cases, metrics = sorted(table["dataset"].unique()), sorted(table["metric"].unique())
    ticks = sorted(table[x].unique())
    fig, axes = _panel_grid(len(metrics), len(cases))
    for i, metric in enumerate(metrics):
        for j, case in enumerate(cases):
            ax = axes[i][j]
            panel = table[(table["metric"] == metric) & (table["dataset"] == case)]
            for method, g in panel.groupby("method", sort=False):
                g = g.sort_values(x)
                err = np.vstack([g["ours"] - g["ci_low"], g["ci_high"] - g["ours"]])
                ax.errorbar(
                    g[x],
                    g["ours"],
                    yerr=np.nan_to_num(err),
                    marker="o",
                    ms=4,
                    capsize=2,
                    label=method,
                )
            ax.set_xscale(scale)
            ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
            ax.minorticks_off()
            ax.set_title(f"{case}, {metric.upper()}")
            ax.ticklabel_format(axis="y", style="sci", scilimits=(-2, 3), useOffset=False)
            if i == len(metrics) - 1:
                ax.set_xlabel(xlabel)
        axes[i][0].set_ylabel(f"mean test {metric.upper()}")
    axes[0][-1].legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def study_curves(
    curves: dict[tuple[float, str], np.ndarray],
    steps_per_epoch: int,
    variable: str,
    metric: str,
    title: str,
) -> plt.Figure:
    """Validation curves of a study's methods (the CLL paper's Figure 8): one panel per value
    of its ``variable``, per method the mean over replicates (line) and the 25-75 % band,
    against the iterations (epochs x ``steps_per_epoch``). ``curves`` maps (value, method) to
    (epochs, fits) arrays, NaN where a fit was idle."""
    if not curves:
        raise ValueError(f"{title}: no curves to plot")
    values = sorted({v for v, _ in curves}, reverse=True)
    sns.set_theme(style="whitegrid", context="notebook")
    fig, axes = plt.subplots(1, len(values), figsize=(4.2 * len(values), 3.8), squeeze=False)
    for ax, value in zip(axes[0], values, strict=True):
        for (v, method), c in curves.items():
            if v != value:
                continue
            mean, lo, hi = _summary(c.T)
            x = (np.arange(mean.size) + 1) * steps_per_epoch
            (line,) = ax.plot(x, mean, lw=1.2, label=method)
            ax.fill_between(x, lo, hi, color=line.get_color(), alpha=0.15, lw=0)
        ax.set_yscale("log")
        ax.set_title(f"{variable} = {value:g}")
        ax.set_xlabel("iterations")
    axes[0][0].set_ylabel(f"validation {metric.upper()} (scaled targets)")
    axes[0][-1].legend(fontsize=8)
    fig.suptitle(textwrap.fill(title, 30 * len(values)), fontsize=11)
    fig.tight_layout()
    return fig


def forest(effects: pd.DataFrame, claim: str) -> plt.Figure:
    """One claim's effect in every cell (asp.analysis.effects): the relative difference 100 (a - b)
    / b of the mean test errors with its 95 % CI, one row per cell, the paper's value as a cross;
    left of 0 the claim's direction."""
    g = effects[effects["claim"] == claim].reset_index(drop=True)
    if g.empty:
        raise ValueError(f"no cells of the claim {claim!r}: nothing to plot")
    labels = [f"{r.dataset} N={r.n} {r.metric.upper()}" for r in g.itertuples(index=False)]
    y = np.arange(len(g))[::-1]
    fig, ax = plt.subplots(figsize=(6.4, 0.9 + 0.22 * len(g)))
    colors = g["verdict"].map({"supported": "tab:green", "contradicted": "tab:red"}).fillna("0.5")
    ax.hlines(y, g["ci_low"], g["ci_high"], colors=colors, lw=2)
    ax.scatter(g["effect"], y, c=colors, s=18, zorder=3, label="ours (95 % CI)")
    paper = g["paper_effect"].notna()
    if paper.any():
        ax.scatter(
            g.loc[paper, "paper_effect"], y[paper.to_numpy()], marker="x", c="k", s=22,
            zorder=4, label="paper",
        )  # fmt: skip
    ax.axvline(0, color="0.3", lw=0.8)
    ax.set_yticks(y, labels, fontsize=7)
    ax.set_xlabel(f"{claim}: 100 (a - b) / b of the mean test error, %")
    ax.legend(fontsize=7, loc="lower right")
    ax.set_title(f"{claim}: green supported, red contradicted, grey not significant (Holm)",
                 fontsize=8)  # fmt: skip
    fig.tight_layout()
    return fig


def band_panels(
    data: pd.DataFrame,
    rows: str,
    cols: str,
    x: str,
    labels: dict[str, str],
    title: str,
    axis_labels: tuple[str, str],
    panel: str = "{col}, {row}",
) -> plt.Figure:
    """Curves with their 25-75 % band: a panel per value of ``rows`` and ``cols`` (in their
    order in ``data``), in each a line (``mean``) and a band (``q25``-``q75``) against ``x``
    per group of the column ``group``, labelled by ``labels``; ``panel`` titles a panel."""
    if data.empty:
        raise ValueError(f"{title}: no curves to plot")
    row_values, col_values = list(dict.fromkeys(data[rows])), list(dict.fromkeys(data[cols]))
    fig, axes = _panel_grid(len(row_values), len(col_values))
    for i, r in enumerate(row_values):
        for j, c in enumerate(col_values):
            ax = axes[i][j]
            for name, g in data[(data[rows] == r) & (data[cols] == c)].groupby("group", sort=False):
                (line,) = ax.plot(g[x], g["mean"], lw=1.2, label=labels.get(name, name))
                ax.fill_between(g[x], g["q25"], g["q75"], color=line.get_color(), alpha=0.12, lw=0)
            ax.set_title(panel.format(row=r, col=c), fontsize=9)
            if i == len(row_values) - 1:
                ax.set_xlabel(axis_labels[0])
            if j == 0:
                ax.set_ylabel(axis_labels[1])
    axes[0][-1].legend(fontsize=7)
    fig.suptitle(textwrap.fill(title, 42 * len(col_values)), fontsize=11)
    fig.tight_layout()
    return fig


def bayesopt_curves(curves: pd.DataFrame, labels: dict[str, str], title: str) -> plt.Figure:
    """Best value found so far against evaluations (asp.analysis.bayesopt_results.curves): one panel
    per test-function pair (columns) and p (rows), per surrogate the mean over runs and over
    the two tasks (line) and the mean of the tasks' 25-75 % bands."""
    if curves.empty:
        raise ValueError(f"{title}: no curves to plot")
    both = curves.groupby(["pair", "p", "surrogate", "evaluation"])[["mean", "q25", "q75"]].mean()
    both = both.reset_index().rename(columns={"surrogate": "group"})
    both = both.sort_values(["p", "pair"], ascending=[False, True], kind="stable")
    return band_panels(
        both,
        "p",
        "pair",
        "evaluation",
        labels,
        title,
        ("evaluations per task", "best so far"),
        "{col}, p = {row:g}",
    )


def lenet_curves(curves: pd.DataFrame, labels: dict[str, str], title: str) -> plt.Figure:
    """Validation accuracy against epochs (asp.analysis.cll_images_results.curves): one panel
    per data set (columns) and task (rows), per model the mean over runs (line) and its 25-75 %
    band."""
    order = {m: i for i, m in enumerate(labels)}  # the legend in the labels' order
    data = curves.assign(order=curves["model"].map(order)).sort_values(["task", "order"])
    return band_panels(
        data.rename(columns={"model": "group"}),
        "task",
        "dataset",
        "epoch",
        labels,
        title,
        ("epoch", "validation accuracy"),
        "{col}, task {row}",
    )
