"""Effect sizes of the paper's claims (asp.effects): the report's "At a glance" and forest plots."""

import numpy as np
import pytest
from test_tables import PAPER, four_methods

from asp import tables
from asp.effects import at_a_glance, claim_effects, is_papers
from asp.plots import forest


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
