"""asp.analysis.cll_images_results: the CLL paper's Table 1 beside ours, and its claims tested over
runs."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from asp.analysis.cll_images_results import (
    PAPER_MODELS,
    claims,
    findings,
    ordering,
    run_rows,
    table1,
    table1_layout,
)
from asp.experiments.lenet_training import ImageRuns

PAPER = pd.read_csv(Path(__file__).resolve().parents[1] / "data/paper/cll_paper_tables.csv")


def rows(dataset: str = "multi_fashion", gain: float = 0.02, seed: int = 0) -> pd.DataFrame:
    """Ten runs on one data set: every multi-task model ``gain`` above single in every run
    (with noise), the correlation layer adding nothing."""
    rng = np.random.default_rng(seed)
    base = 0.80 + 0.01 * rng.standard_normal((10, 2))
    shift = {"single_lenet": 0.0, "multi_lenet": gain, "multi_lenet_cll": gain}
    shift |= {"multi_lenet_cs": gain, "multi_lenet_cs_cll": gain}
    out = []
    for m, s in shift.items():
        acc = base + s + (0.002 * rng.standard_normal((10, 2)) if s else 0)
        for r in range(10):
            for t in (1, 2):
                out.append(
                    {
                        "dataset": dataset,
                        "model": m,
                        "run": r,
                        "task": t,
                        "accuracy": acc[r, t - 1],
                    }
                )
    return pd.DataFrame(out)


def test_table1_sets_ours_beside_the_papers_numbers():
    t = table1(rows(), PAPER, PAPER_MODELS)
    assert len(t) == 10 and (t["runs"] == 10).all()
    single = t[(t["model"] == "single_lenet") & (t["task"] == 1)].iloc[0]
    acc = rows().query("model == 'single_lenet' and task == 1")["accuracy"]
    assert single["mean"] == pytest.approx(acc.mean()) and single["max"] == acc.max()
    assert (single["paper_mean"], single["paper_max"]) == (0.8154, 0.8181)
    grid = table1_layout(t, PAPER_MODELS)
    assert list(grid.columns[:3]) == ["dataset", "task", "SingleLeNet"]
    assert grid.loc[0, "paper: SingleLeNet"] == "0.8154 (0.8181)"
    assert grid.loc[1, "paper: MultiLeNetCS+"] == "0.8346 (0.8397)"


def test_claims_are_tested_in_pairs_of_runs_with_holm():
    c = claims(rows())
    multi = c[c["claim"] == "multi_lenet > single_lenet"]
    assert len(multi) == 2 and (multi["verdict"] == "supported").all()
    assert (multi["mean_diff"] < 0).all()  # error rates: the multi-task model's is lower
    cll = c[c["claim"] == "multi_lenet_cll > multi_lenet"]
    assert (cll["verdict"] == "not significant").all()
    assert set(c["claim"]) == {
        "multi_lenet > single_lenet",
        "multi_lenet_cll > single_lenet",
        "multi_lenet_cs > single_lenet",
        "multi_lenet_cs_cll > single_lenet",
        "multi_lenet_cll > multi_lenet",
        "multi_lenet_cs_cll > multi_lenet_cs",
    }  # ours (soft, adaptive) only where they ran


def test_rows_without_accuracy_are_refused():
    with pytest.raises(ValueError, match=r"LeNet rows lack the columns \['accuracy'\]"):
        table1(rows().drop(columns="accuracy"), PAPER, PAPER_MODELS)


def test_the_ordering_by_relatedness_compares_gains_over_single_in_pairs_of_runs():
    three = pd.concat(
        [
            rows("multi_mnist", 0.04, 1),
            rows("multi_fashion", 0.02, 2),
            rows("multi_fashion_mnist", 0.02, 3),
        ]
    )
    o = ordering(three)
    assert set(o["claim"]) == {
        "gain over single_lenet: multi_mnist > multi_fashion",
        "gain over single_lenet: multi_fashion > multi_fashion_mnist",
    }
    assert len(o) == 2 * 4 * 2  # pairs x multi-task models x tasks
    first = o[o["claim"].str.endswith("multi_mnist > multi_fashion")]
    assert (first["verdict"] == "supported").all()
    # the loss is minus the gain: a mean difference of about -0.02
    np.testing.assert_allclose(first["mean_diff"], -0.02, atol=0.005)
    second = o[o["claim"].str.endswith("multi_fashion > multi_fashion_mnist")]
    assert (second["verdict"] != "supported").all()
    # one data set: nothing to order, and the per-data-set claims stand alone
    assert ordering(rows()).empty
    assert not claims(rows())["claim"].str.startswith("gain").any()
    # MNIST's two sets missing: only the sets that ran are ordered
    assert ordering(three[three["dataset"] != "multi_fashion"])["claim"].unique().tolist() == [
        "gain over single_lenet: multi_mnist > multi_fashion_mnist"
    ]


def test_run_rows_give_one_row_per_run_and_task_and_the_curves():
    runs = ImageRuns(
        "single_lenet",
        test_accuracy=np.array([[0.8, 0.7], [0.9, 0.6]]),
        best_epoch=np.array([3, 1]),
        val_accuracy=np.arange(12, dtype=float).reshape(3, 2, 2),
        seconds=5.0,
        theta_star=np.array([0.0, 0.5]),
        params={},
    )
    r, c = run_rows("multi_fashion", runs, first_run=4, model="lenet_adaptive")
    assert r[["run", "task", "accuracy", "best_epoch", "theta_star", "epochs"]].values.tolist() == [
        [4, 1, 0.8, 3, 0.0, 3],
        [4, 2, 0.7, 3, 0.0, 3],
        [5, 1, 0.9, 1, 0.5, 3],
        [5, 2, 0.6, 1, 0.5, 3],
    ]
    assert table1(r, PAPER, ["lenet_adaptive"])["epochs"].tolist() == [3, 3]
    assert (r["model"] == "lenet_adaptive").all() and (r["dataset"] == "multi_fashion").all()
    assert len(c) == 12
    # epoch 2, run 5, task 1 is val_accuracy[1, 1, 0]
    hit = c[(c["epoch"] == 2) & (c["run"] == 5) & (c["task"] == 1)]
    assert hit["val_accuracy"].tolist() == [6.0]


def test_findings_count_the_cells_and_set_the_papers_orderings_beside_ours():
    r = rows()
    found = {f["claim"]: f for f in findings(table1(r, PAPER, PAPER_MODELS), claims(r), "3,000")}
    multi = found["multi_lenet > single_lenet in test accuracy (the CLL paper, Table 1)"]
    assert multi["verdict"] == "reproduced"
    assert multi["evidence"].startswith("2 of 2 cells supported, 0 contradicted")
    assert "3,000" in multi["evidence"]
    # Multi-FashionMNIST: MultiLeNet above SingleLeNet in both tasks, ours and the paper's
    assert multi["explanation"] == (
        "Our mean accuracy is higher for multi_lenet in 2 of 2 data sets and tasks. "
        "The paper's: 2 of 2."
    )
    cll = found[
        "multi_lenet_cll > multi_lenet in test accuracy (the CLL paper: the correlation layer "
        "helps, Table 1)"
    ]
    assert cll["verdict"] == "inconclusive"
    assert findings(table1(r, PAPER, PAPER_MODELS), pd.DataFrame(), "") == []


def test_the_curves_figure_has_a_panel_per_data_set_and_task_and_the_legend_in_label_order():
    from asp.analysis.cll_images_results import LABELS, curves
    from asp.analysis.plots import lenet_curves

    per_run = pd.DataFrame(
        [
            {"dataset": d, "model": m, "epoch": e, "run": r, "task": t, "val_accuracy": 0.1 * e}
            for d in ("multi_fashion", "multi_mnist")
            for m in ("multi_lenet", "single_lenet")
            for e in (1, 2)
            for r in (0, 1)
            for t in (1, 2)
        ]
    )
    c = curves(per_run)
    assert len(c) == 2 * 2 * 2 * 2 and np.allclose(c.loc[c["epoch"] == 2, "mean"], 0.2)
    fig = lenet_curves(c, LABELS, "title")
    assert [a.get_title() for a in fig.axes] == [
        "multi_fashion, task 1",
        "multi_mnist, task 1",
        "multi_fashion, task 2",
        "multi_mnist, task 2",
    ]
    assert [t.get_text() for t in fig.axes[1].get_legend().get_texts()] == [
        "SingleLeNet",
        "MultiLeNet",
    ]
    with pytest.raises(ValueError, match="title: no curves to plot"):
        lenet_curves(c.iloc[:0], LABELS, "title")
