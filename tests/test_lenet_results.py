"""asp.lenet_results: the CLL paper's Table 1 beside ours, and its claims tested over runs."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from asp.lenet_results import PAPER_MODELS, claims, table1, table1_layout

PAPER = pd.read_csv(Path(__file__).resolve().parents[1] / "data/paper/cll_paper_tables.csv")


def rows() -> pd.DataFrame:
    """Ten runs on Multi-FashionMNIST: every multi-task model 0.02 above single in every run
    (with noise), the correlation layer adding nothing."""
    rng = np.random.default_rng(0)
    base = 0.80 + 0.01 * rng.standard_normal((10, 2))
    shift = {"single_lenet": 0.0, "multi_lenet": 0.02, "multi_lenet_cll": 0.02}
    shift |= {"multi_lenet_cs": 0.02, "multi_lenet_cs_cll": 0.02}
    out = []
    for m, s in shift.items():
        acc = base + s + (0.002 * rng.standard_normal((10, 2)) if s else 0)
        for r in range(10):
            for t in (1, 2):
                out.append(
                    {
                        "dataset": "multi_fashion",
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
