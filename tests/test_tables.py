import numpy as np
import pandas as pd
import pytest
from conftest import ROOT

from asp import tables
from asp.stats import mean_ci, ordering_verdict, paired_comparison

PAPER = pd.read_csv(ROOT / "data" / "paper" / "paper_tables.csv")


def fits_frame(dataset="case1", n=2000, metric="mse"):
    """Four replicates; adaptive is lower than soft in every replicate, soft lower than ffn."""
    rows = []
    for r in range(4):
        for method, base, sec in (("ffn", 4e-4, 1.0), ("soft", 3e-4, 2.0), ("adaptive", 2e-4, 3.0)):
            v = base + r * 1e-5
            rows.append(
                {
                    "dataset": dataset,
                    "n": n,
                    "metric": metric,
                    "method": method,
                    "replicate": r,
                    f"test_{metric}": v,
                    f"test_literal_{metric}": 2 * v,
                    "seconds": sec,
                    "diverged": False,
                }
            )
    rows.append({**rows[-1], "replicate": 4, f"test_{metric}": np.nan, "diverged": True})
    return pd.DataFrame(rows)


def test_mean_ci_and_paired_test():
    m, lo, hi = mean_ci(np.array([1.0, 2.0, 3.0, np.nan]))
    assert m == 2.0 and lo == pytest.approx(2 - 4.302653 / np.sqrt(3), rel=1e-6)
    t = paired_comparison(np.arange(10.0), np.arange(10.0) + 1 + 0.1 * np.arange(10))
    assert t["pairs"] == 10 and t["share_a_lower"] == 1.0 and t["wilcoxon_p"] < 0.01
    assert ordering_verdict(t) == "supported"
    assert ordering_verdict(paired_comparison(np.ones(3), np.ones(3))) == "untestable"


def test_loss_table_sets_ours_beside_the_paper():
    t = tables.loss_table(fits_frame(), PAPER, 3, "mse").set_index("method")
    assert t.loc["soft", "ours"] == pytest.approx(3.15e-4)
    assert t.loc["soft", "paper"] == pytest.approx(2.588e-4)
    assert t.loc["soft", "ratio"] == pytest.approx(3.15e-4 / 2.588e-4)
    assert t.loc["adaptive", "fits"] == 4 and t.loc["adaptive", "diverged"] == 1  # NaN left out
    assert t.loc["adaptive", "ours_literal"] == pytest.approx(2 * 2.15e-4)


def test_paired_claims_and_improvement():
    f = fits_frame()
    claims = tables.paired(f, "mse", "adaptive", "soft")
    assert claims["pairs"].iloc[0] == 4 and claims["share_a_lower"].iloc[0] == 1.0
    timing = tables.timing_table(f, PAPER, 5, "mse").set_index(["method", "quantity"])
    imp = timing.loc[("adaptive", "improvement_pct_over_soft")]
    assert imp["ours"] == pytest.approx(100 * (3.15e-4 - 2.15e-4) / 3.15e-4)
    assert imp["paper"] == pytest.approx(6.6)
    verdicts = tables.improvement_claims(timing.reset_index()).set_index("claim")["verdict"]
    assert verdicts.iloc[0] == "supported"  # 31.7 % >= 4.2 %
    assert verdicts.iloc[1] == "contradicted"  # 3 s / 2 s = 1.5 > 1.20


def test_table7_maps_adaptive_to_the_combined_column():
    f = fits_frame().replace({"method": {"ffn": "l2_only", "soft": "mean_only"}})
    t = tables.loss_table(f, PAPER, 7, "mse").set_index("method")
    assert t.loc["adaptive", "paper"] == pytest.approx(2.417e-4)
    assert t.loc["l2_only", "paper"] == pytest.approx(2.48e-4)


def test_case_study_table():
    f = fits_frame("student", "all")
    t = tables.case_study_table(f, PAPER, 11).set_index(["method", "quantity"])
    assert t.loc[("soft", "test_loss_mean"), "paper"] == pytest.approx(0.0715)
    assert t.loc[("adaptive", "extra_seconds_over_soft"), "ours"] == pytest.approx(1.0)
    assert t.loc[("adaptive", "extra_seconds_over_soft"), "paper"] == 17


def test_figure_data_start_at_the_soft_minimum():
    from asp.plots import after_soft_minimum, soft_vs_adaptive

    soft_val = np.array([[3.0, 5.0], [2.0, 4.0], [2.5, 4.5], [np.nan, 4.2]])  # (epochs, fits)
    best = np.array([2, 2])
    ad_val = np.array([[1.5, 3.9], [1.0, np.nan]])
    soft, ad = after_soft_minimum(soft_val, best, ad_val)
    np.testing.assert_array_equal(soft[0], [2.0, 2.5, np.nan])
    np.testing.assert_array_equal(soft[1], [4.0, 4.5, 4.2])
    np.testing.assert_array_equal(ad[0], [2.0, 1.5, 1.0])
    np.testing.assert_array_equal(ad[1], [4.0, 3.9, np.nan])
    assert soft_vs_adaptive(soft, ad, "t").axes[0].get_yscale() == "log"
