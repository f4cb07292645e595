"""Effect sizes of the paper's claims (asp.analysis.effects): the report's "At a glance" and forest
plots."""

import numpy as np
import pandas as pd
import pytest
from test_tables import PAPER, four_methods

from asp.analysis import tables
from asp.analysis.effects import at_a_glance, claim_effects, cll_glance, is_papers
from asp.analysis.plots import forest
from asp.studies.registry import STUDIES


def table3():
    fits = four_methods()
    methods = ["ffn", "soft", "adaptive", "soft_extended"]
    t3 = tables.loss_table(fits, PAPER, 3, "mse")
    return t3, tables.ordering_claims(fits, ["mse"], methods)


def test_a_claims_effect_is_its_relative_difference_with_the_papers_beside_it():
    t3, c3 = table3()
    effects = claim_effects({"table3": t3}, {"table3": c3})
    # only the paper's claims: adaptive < soft_extended is our control's
    assert set(effects["claim"]) == {"adaptive < soft", "soft < ffn"}
    assert is_papers("adaptive < soft") and not is_papers("adaptive < soft_extended")
    row = effects[effects["claim"] == "adaptive < soft"].iloc[0]
    means = t3.set_index("method")["ours"]
    assert row["effect"] == pytest.approx(100 * (means["adaptive"] - means["soft"]) / means["soft"])
    assert row["ci_low"] <= row["effect"] <= row["ci_high"] < 0
    paper = t3.set_index("method")["paper"]
    expected = 100 * (paper["adaptive"] - paper["soft"]) / paper["soft"]
    assert row["paper_effect"] == pytest.approx(expected)
    assert row["verdict"] == "supported"
    soft = effects[effects["claim"] == "soft < ffn"].iloc[0]
    assert soft["effect"] > 0 and soft["verdict"] == "contradicted"


def test_at_a_glance_says_each_claim_in_one_sentence():
    t3, c3 = table3()
    glance = {
        g["claim"]: g for g in at_a_glance(claim_effects({"table3": t3}, {"table3": c3}), 2000)
    }
    adaptive = glance["adaptive < soft"]
    assert adaptive["sentence"].startswith("adaptive's test MSE against soft's (N = 2000): case1 ")
    assert "% lower (CI " in adaptive["sentence"] and adaptive["verdict"] == "reproduced"
    assert adaptive["tables"] == ["table3"] and "1 of 1 cells supported" in adaptive["evidence"]
    assert "% higher" in glance["soft < ffn"]["sentence"]
    assert glance["soft < ffn"]["verdict"] == "not reproduced"


def test_a_forest_plot_has_a_row_per_cell_and_the_papers_value():
    t3, c3 = table3()
    effects = claim_effects({"table3": t3}, {"table3": c3})
    fig = forest(effects, "adaptive < soft")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["case1 N=2000 MSE"]
    crosses = [c for c in ax.collections if c.get_label() == "paper"]
    assert len(crosses) == 1 and np.isfinite(crosses[0].get_offsets()[0][0])
    with pytest.raises(ValueError, match="no cells of the claim"):
        forest(effects, "hard < ffn")


def _claims(rows: list[dict]) -> pd.DataFrame:
    cols = {"pairs": 20, "verdict": "supported"}
    return pd.DataFrame([cols | r for r in rows])


def test_the_cll_papers_claims_at_a_glance():
    """One sentence per claim of the CLL paper: each cell's difference with its interval in the
    table's unit (Figure 8: per cent of the second's mean; Table 1: accuracy points), a claim of
    many cells summarised; our own claims (rbf_soft, source "ours") left out."""
    rbf = _claims(
        [
            {
                "p": 1.0,
                "claim": "multi_rbf_cll < multi_rbf",
                "mean_diff": -0.01,
                "diff_ci_low": -0.012,
                "diff_ci_high": -0.008,
                "mean_b": 0.04,
                "holm_verdict": "supported",
            },
            {
                "p": 0.5,
                "claim": "multi_rbf_cll < multi_rbf",
                "mean_diff": 0.001,
                "diff_ci_low": -0.001,
                "diff_ci_high": 0.003,
                "mean_b": 0.05,
                "holm_verdict": "not significant",
            },
            {
                "p": 1.0,
                "claim": "rbf_soft < single_rbf",
                "mean_diff": -0.01,
                "diff_ci_low": -0.02,
                "diff_ci_high": 0.0,
                "mean_b": 0.04,
                "holm_verdict": "supported",
            },
            {
                "p": 1.0,
                "claim": "multi_rbf: loss at p = 1 < at p = 0.5",
                "mean_diff": -0.002,
                "diff_ci_low": -0.003,
                "diff_ci_high": -0.001,
                "mean_b": 0.04,
                "holm_verdict": "supported",
            },
        ]
    )
    images = _claims(
        [
            {
                "dataset": "multi_fashion",
                "task": t,
                "claim": "multi_lenet_cll > multi_lenet",
                "source": "the CLL paper: the correlation layer helps",
                "mean_diff": 0.005 * t,
                "diff_ci_low": -0.002,
                "diff_ci_high": 0.012,
                "mean_b": 0.8,
                "holm_verdict": "not significant",
            }
            for t in (1, 2)
        ]
        + [
            {
                "dataset": "multi_fashion",
                "task": 1,
                "claim": "lenet_soft > single_lenet",
                "source": "ours",
                "mean_diff": 0.01,
                "diff_ci_low": 0.0,
                "diff_ci_high": 0.02,
                "mean_b": 0.8,
                "holm_verdict": "supported",
            }
        ]
    )
    bo = _claims(
        [
            {
                "pair": "ackley+rastrigin",
                "p": 1.0,
                "task": k % 2 + 1,
                "claim": "bay_mrbfcor < rbf_soft",
                "source": "the CLL paper",
                "mean_diff": d,
                "diff_ci_low": d - 0.1,
                "diff_ci_high": d + 0.1,
                "mean_b": -0.5,
                "holm_verdict": "supported" if d < -0.1 else "not significant",
            }
            for k, d in enumerate([-0.3, -0.2, 0.0, 0.05, 0.2, -0.15, 0.01])
        ]
    )
    glances = {k: STUDIES[k].glance for k in ("cll_rbf", "bayesopt", "cll_images")}
    glance = cll_glance({"cll_rbf": rbf, "cll_images": images, "bayesopt": bo}, glances)
    sentences = {g["claim"]: g for g in glance}
    assert list(sentences) == [
        "multi_rbf_cll < multi_rbf",
        "multi_rbf: the loss grows as p falls",
        "bay_mrbfcor < rbf_soft",
        "multi_lenet_cll > multi_lenet",
    ]
    g = sentences["multi_rbf_cll < multi_rbf"]
    assert g["sentence"] == (
        "multi_rbf_cll < multi_rbf in test MSE (the CLL paper, Figure 8): p 1 25 % lower "
        "(CI 20–30 %); p 0.5 2 % higher (CI from 2 % lower to 6 % higher)."
    )
    assert g["verdict"] == "partly" and g["tables"] == ["cll_rbf"]
    assert g["evidence"].startswith("1 of 2 cells supported, 0 contradicted")
    assert (
        "p 1 against p 0.5 5 % lower (CI 2.5–7.5 %)"
        in sentences["multi_rbf: the loss grows as p falls"]["sentence"]
    )
    assert sentences["multi_lenet_cll > multi_lenet"]["sentence"].endswith(
        "multi_fashion task 1 0.5 points higher (CI -0.2 to 1.2 points); multi_fashion task 2 1 "
        "points higher (CI -0.2 to 1.2 points)."
    )
    assert sentences["multi_lenet_cll > multi_lenet"]["verdict"] == "inconclusive"
    # 7 settings, more than are listed: the median and where the intervals lie
    assert sentences["bay_mrbfcor < rbf_soft"]["sentence"].endswith(
        "in 7 settings the median difference is 0; its 95 % CI lies below 0 in 3, above 0 in 1, "
        "and holds 0 in 3."
    )
