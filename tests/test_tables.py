import numpy as np
import pandas as pd
import pytest
from conftest import ROOT

from asp.analysis import tables
from asp.analysis.catalog import TABLES
from asp.analysis.findings import findings
from asp.analysis.layout import paper_layout
from asp.analysis.stats import holm, holm_verdicts, mean_ci, ordering_verdict, paired_comparison
from asp.studies.registry import all_findings, build_table, get_table

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


def test_the_verdict_points_where_the_signed_ranks_point_not_the_mean():
    """a is lower in 45 of 50 replicates, by 1 each; in 5 it is higher by 20: the mean says
    a > b, the signed-rank test (p < 1e-4) says a < b, and so does the verdict."""
    b = np.linspace(10, 11, 50)
    a = b - 1.0
    a[::10] += 21.0
    t = paired_comparison(a, b)
    assert t["mean_diff"] == pytest.approx(1.1) and t["share_a_lower"] == 0.9
    assert t["hl_diff"] == -1.0 and t["wilcoxon_p"] < 1e-4
    assert ordering_verdict(t) == "supported"
    assert ordering_verdict(paired_comparison(b, a)) == "contradicted"
    # Hodges-Lehmann: the median of the pairwise means of the differences, i <= j
    d = np.array([-3.0, 1.0, 2.0])
    assert paired_comparison(d, np.zeros(3))["hl_diff"] == np.median([-3, -1, -0.5, 1, 1.5, 2])


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
    from asp.analysis.plots import after_soft_minimum, soft_vs_adaptive

    soft_val = np.array([[3.0, 5.0], [2.0, 4.0], [2.5, 4.5], [np.nan, 4.2]])  # (epochs, fits)
    best = np.array([2, 2])
    ad_val = np.array([[1.5, 3.9], [1.0, np.nan]])
    soft, ad = after_soft_minimum(soft_val, best, ad_val)
    np.testing.assert_array_equal(soft[0], [2.0, 2.5, np.nan])
    np.testing.assert_array_equal(soft[1], [4.0, 4.5, 4.2])
    np.testing.assert_array_equal(ad[0], [2.0, 1.5, 1.0])
    np.testing.assert_array_equal(ad[1], [4.0, 3.9, np.nan])
    assert soft_vs_adaptive(soft, ad, "t").axes[0].get_yscale() == "log"


def test_holm_adjusts_within_a_claim_family():
    p = np.array([0.01, 0.04, np.nan, 0.03, 0.005])
    # sorted 0.005, 0.01, 0.03, 0.04 times 4, 3, 2, 1, then made monotone
    np.testing.assert_allclose(holm(p), [0.03, 0.06, np.nan, 0.06, 0.02])
    tests = [{"wilcoxon_p": v, "hl_diff": -1.0} for v in p]
    assert holm_verdicts(tests) == [
        "supported",
        "not significant",
        "untestable",
        "not significant",
        "supported",
    ]


def test_ordering_claims_carry_holm_verdicts():
    f = pd.concat([fits_frame(n=n) for n in (500, 1000, 2000)], ignore_index=True)
    claims = tables.ordering_claims(f, ["mse"], ["ffn", "soft", "adaptive"])
    assert list(claims["claim"].unique()) == ["adaptive < soft", "soft < ffn"]
    # 4 pairs, all one way: Wilcoxon p = 0.125 per cell; Holm across 3 cells only raises it
    assert (claims["p_holm"] >= claims["wilcoxon_p"]).all()
    assert set(claims["holm_verdict"]) == {"not significant"}


def four_methods(n_reps=12, n=2000):
    """adaptive < soft_extended < soft > ffn in every replicate (soft_extended makes 55 % of
    adaptive's gain over soft)."""
    rows = []
    for r in range(n_reps):
        for method, base in (
            ("ffn", 1e-4),
            ("soft", 3e-4),
            ("adaptive", 2e-4),
            ("soft_extended", 2.45e-4),
        ):
            v = base + r * 1e-6
            rows.append(
                {
                    "dataset": "case1",
                    "n": n,
                    "metric": "mse",
                    "method": method,
                    "replicate": r,
                    "test_mse": v,
                    "test_literal_mse": 1e3 * v,
                    "seconds": 1.0,
                    "diverged": False,
                }
            )
    return pd.DataFrame(rows)


def test_findings_weigh_the_matched_budget_control():
    methods = ["ffn", "soft", "adaptive", "soft_extended"]
    f = pd.concat([four_methods(n=n) for n in (500, 2000)], ignore_index=True)
    t3 = tables.loss_table(f, PAPER, 3, "mse")
    c3 = tables.ordering_claims(f, ["mse"], methods)
    assert list(dict.fromkeys(c3["claim"])) == [
        "adaptive < soft",
        "adaptive < soft_extended",
        "soft < ffn",
    ]
    found = {x["claim"]: x for x in findings({"table3": t3}, {"table3": c3})}
    assert found["adaptive < soft"]["verdict"] == "reproduced"
    assert found["adaptive < soft"]["evidence"].startswith("2 of 2 cells supported")
    assert "median 55 % of adaptive's gain" in found["adaptive < soft"]["explanation"]
    assert "Most of the gain is extra training" in found["adaptive < soft"]["explanation"]
    assert found["soft < ffn"]["verdict"] == "not reproduced"
    assert found["adaptive < soft_extended"]["verdict"] == "reproduced"
    reading = found["which reading of eq. 2.7/2.8 matches the paper's magnitudes"]
    assert reading["verdict"] == "the standard reading is closer"


def test_paper_layout_puts_methods_in_columns_with_claims_marked():
    methods = ["ffn", "soft", "adaptive", "soft_extended"]
    f = four_methods()
    t3 = tables.loss_table(f, PAPER, 3, "mse")
    c3 = tables.ordering_claims(f, ["mse"], methods)
    grid = paper_layout(TABLES["table3"], t3, c3, methods, br=" | ")
    # our control is marked as beyond the paper
    columns = ["dataset", "n", "ffn", "soft", "adaptive", "soft_extended (beyond the paper)"]
    assert list(grid.columns) == columns and len(grid) == 1
    soft = grid.loc[0, "soft"]
    # our mean, its CI, the paper's value, the change against FFN, the claims' verdicts
    assert soft == "0.0003055 | (0.0003032–0.0003078) | [0.0002588] | +190 % vs ffn | ✗ < ffn"
    adaptive = grid.loc[0, "adaptive"]
    assert adaptive.endswith("✓ < soft | ✓ < soft_extended")
    means = {m: t3.set_index("method").loc[m, "ours"] for m in methods}
    best = min(means, key=means.get)
    assert grid.loc[0, best].startswith("**") and not soft.startswith("**")


def test_budget_table_and_its_claims_per_budget():
    parts = []
    for budget, stop in ((10, 10), (40, 25)):
        f = four_methods(n=500).assign(budget=budget, epochs=stop)
        f.loc[f["method"] == "adaptive", "epochs"] = stop + 7
        parts.append(f)
    fits = pd.concat(parts, ignore_index=True)
    table, claims = build_table(
        get_table("budget"), fits, PAPER, ["ffn", "soft", "adaptive", "soft_extended"]
    )
    soft = table[table["method"] == "soft"].set_index("budget")
    assert list(soft.index) == [10, 40] and (soft["fits"] == 12).all()
    assert soft.loc[10, "stopped_early"] == 0.0 and soft.loc[40, "stopped_early"] == 1.0
    ad = table[table["method"] == "adaptive"].set_index("budget")
    assert ad["stopped_early"].isna().all() and ad.loc[40, "epochs_median"] == 32
    assert sorted(claims["budget"].unique()) == [10, 40]
    assert set(claims.loc[claims["claim"] == "adaptive < soft", "holm_verdict"]) == {"supported"}
    grid = paper_layout(get_table("budget"), table, claims, ["ffn", "soft", "adaptive"], br=" | ")
    assert list(grid["budget"]) == [10, 40] and "✓ < soft" in grid.loc[0, "adaptive"]
    found = {x["claim"]: x for x in all_findings({"budget": table}, {"budget": claims}, {})}
    budget = found["adaptive < soft once soft has converged (our budget study)"]
    assert budget["verdict"] == "reproduced"
    assert budget["evidence"] == (
        "budget 10: 1 of 1 cells supported; budget 40: 1 of 1 cells supported; "
        "at 40 epochs 100 % of soft fits stopped early (flat)"
    )


def test_a_claim_no_cell_can_decide_is_inconclusive():
    f = fits_frame()  # four replicates: no Wilcoxon p below 0.125
    c3 = tables.ordering_claims(f, ["mse"], ["ffn", "soft", "adaptive"])
    found = {
        x["claim"]: x
        for x in findings({"table3": tables.loss_table(f, PAPER, 3, "mse")}, {"table3": c3})
    }
    assert found["adaptive < soft"]["verdict"] == "inconclusive"


def relatedness_fits(n_reps=12):
    """At rho 0 ffn is best and soft worst; at rho 1 soft < hard < ffn and adaptive best.
    Test MAE is twice the MSE."""
    base = {
        0.0: {"ffn": 1.0, "hard": 1.5, "soft": 2.0, "adaptive": 1.2},
        1.0: {"ffn": 1.0, "hard": 0.8, "soft": 0.6, "adaptive": 0.5},
    }
    rows = []
    for rho, by in base.items():
        for method, v in by.items():
            for r in range(n_reps):
                mse = 1e-3 * v + r * 1e-6
                rows.append(
                    {
                        "dataset": "case1",
                        "n": 2000,
                        "rho": rho,
                        "metric": "mse",
                        "method": method,
                        "replicate": r,
                        "test_mse": mse,
                        "test_mae": 2 * mse,
                        "epochs": 100 + r,
                        "diverged": False,
                    }
                )
    return pd.DataFrame(rows)


def test_relatedness_table_tests_each_method_against_ffn_and_adaptive():
    methods = ["ffn", "hard", "soft", "adaptive"]
    table, claims = build_table(get_table("relatedness"), relatedness_fits(), PAPER, methods)
    assert len(table) == 2 * 4 * 2  # rho x methods x (MSE, MAE)
    soft = table[(table["method"] == "soft") & (table["metric"] == "mae")].set_index("rho")
    assert soft.loc[1.0, "ours"] == pytest.approx(2 * (0.6e-3 + 5.5e-6))
    assert (table["trained_on"] == "mse").all() and (table["fits"] == 12).all()
    expected = {f"{m} < ffn" for m in ("hard", "soft", "adaptive")}
    expected |= {f"adaptive < {m}" for m in ("ffn", "hard", "soft")}
    assert set(claims["claim"]) == expected
    assert len(claims) == len(expected) * 2 * 2  # once per claim, rho and error
    v = claims.set_index(["claim", "rho", "metric"])["holm_verdict"]
    assert v[("soft < ffn", 0.0, "mse")] == "contradicted"
    assert v[("soft < ffn", 1.0, "mae")] == "supported"
    assert v[("adaptive < hard", 1.0, "mse")] == "supported"
    grid = paper_layout(get_table("relatedness"), table, claims, methods, br=" | ")
    assert list(grid.columns[:4]) == ["dataset", "n", "rho", "metric"]
    row = grid[(grid["rho"] == 1.0) & (grid["metric"] == "mse")].iloc[0]
    assert "✓ < ffn" in row["soft"] and "✓ < hard" in row["adaptive"]
    found = {
        x["claim"]: x for x in all_findings({"relatedness": table}, {"relatedness": claims}, {})
    }
    pays = found[
        "sharing pays once the tasks are related: soft < ffn at rho = 1 (our relatedness study)"
    ]
    assert pays["verdict"] == "reproduced"
    assert pays["evidence"].startswith(
        "rho 0: 0 of 1 cells supported, 1 contradicted; rho 1: 1 of 1 cells supported"
    )
    assert pays["evidence"].endswith("rho 0: ffn; rho 1: adaptive")
    beats = found["adaptive beats the standard multi-task baselines (our relatedness study)"]
    assert beats["evidence"].startswith("against hard: 2 of 2 cells lower, 0 higher")


def test_case_study_tables_mark_the_baselines_beyond_the_paper():
    rows = []
    for method, v in (("ffn", 1.0), ("soft", 0.9), ("adaptive", 0.8), ("hard", 0.85)):
        for r in range(6):
            rows.append(
                {
                    "dataset": "air",
                    "n": 1500,
                    "metric": "mse",
                    "method": method,
                    "replicate": r,
                    "test_mse": v + r * 0.01,
                    "seconds": 1.0,
                    "diverged": False,
                }
            )
    table = tables.case_study_table(pd.DataFrame(rows), PAPER, 9)
    grid = paper_layout(TABLES["table9"], table, None, ["ffn", "soft", "adaptive", "hard"])
    assert "hard (beyond the paper)" in grid.columns and "adaptive" in grid.columns
    hard = table[table["method"] == "hard"].iloc[0]
    assert np.isnan(hard["paper"]) and hard["ours"] == pytest.approx(0.875)


def test_findings_say_where_the_mean_points_against_the_test():
    from asp.analysis.findings import _mean_against_ranks

    claims = pd.DataFrame(
        {
            "claim": ["adaptive < cll"] * 3 + ["adaptive < hard"],
            "mean_diff": [-1.0, -1.0, 1.0, -1.0],
            "holm_verdict": ["supported", "contradicted", "not significant", "contradicted"],
        }
    )
    assert _mean_against_ranks(claims, ["adaptive < cll"]).startswith(" In 1 of the decided")
    assert "In 2 of" in _mean_against_ranks(claims, ["adaptive < cll", "adaptive < hard"])
    assert _mean_against_ranks(claims.iloc[:1], ["adaptive < cll"]) == ""


def test_loss_tables_carry_the_floor_and_ours_and_the_papers_against_it():
    f = fits_frame(n=500)
    floor = pd.DataFrame(
        {"dataset": "case1", "n": 500, "replicate": range(5), "floor_mse": 1e-4, "floor_mae": 8e-3}
    )
    t3 = tables.loss_table(tables.with_floor(f, floor), PAPER, 3, "mse")
    soft = t3[t3["method"] == "soft"].iloc[0]
    assert soft["floor"] == pytest.approx(1e-4)
    assert soft["ours_over_floor"] == pytest.approx(soft["ours"] / 1e-4)
    assert soft["paper_over_floor"] == pytest.approx(soft["paper"] / 1e-4)
    grid = paper_layout(TABLES["table3"], t3, None, ["ffn", "soft", "adaptive"], br=" | ")
    assert grid.iloc[0]["floor (error of the true function)"] == "0.0001"
    # a diverged fit's replicate counts in the floor too: the floor is the data's
    floor.loc[4, "floor_mse"] = 6e-4
    t3_div = tables.loss_table(tables.with_floor(f, floor), PAPER, 3, "mse")
    adaptive = t3_div[t3_div["method"] == "adaptive"].iloc[0]
    assert adaptive["floor"] == pytest.approx((4 * 1e-4 + 6e-4) / 5)
    with pytest.raises(ValueError, match="no floor for the fits of"):
        tables.with_floor(f, floor[floor["replicate"] != 2])
    found = {x["claim"]: x for x in findings({"table3": t3}, {"table3": pd.DataFrame()})}
    below = found["the paper's values can come from the data model as printed (case1)"]
    assert below["verdict"].startswith(("no", "yes", "partly"))
    assert "paper / floor" in below["evidence"]


def test_rms_over_mae_of_the_papers_tables():
    t3 = tables.loss_table(fits_frame(n=500), PAPER, 3, "mse")
    t4 = tables.loss_table(fits_frame(n=500, metric="mae"), PAPER, 4, "mae")
    ratio = tables.rms_over_mae(t3, t4).set_index("method")
    soft3 = t3.set_index("method").loc["soft"]
    soft4 = t4.set_index("method").loc["soft"]
    assert ratio.loc["soft", "paper"] == pytest.approx(np.sqrt(soft3["paper"]) / soft4["paper"])
    assert ratio.loc["soft", "ours"] == pytest.approx(np.sqrt(soft3["ours"]) / soft4["ours"])
    # the paper's case-1 cells at N = 500: far from Gaussian errors' 1.25
    assert ratio["paper"].min() > 3


def test_a_case_study_of_ones_own_has_no_paper_values_and_its_own_findings():
    from asp.analysis.catalog import case_study_tables

    hyper_spec, spec = case_study_tables("farm")
    f = fits_frame("farm", "all")
    for k in ("lambda", "lambda_star", "theta", "theta_star", "effective_lambda"):
        f[k] = 0.1
    f["hyperparameters"] = "tuned"
    table, claims = build_table(spec, f, PAPER, ["ffn", "soft", "adaptive"])
    assert table["paper"].isna().all() and table["ratio"].isna().all()
    assert (table["dataset"] == "farm").all() and {"adaptive < soft"} <= set(claims["claim"])
    hyper, _ = build_table(hyper_spec, f, PAPER, ["adaptive"])
    used = hyper[hyper["n"] == "every N"]
    assert (used["source"] == "tuned").all() and used["paper"].isna().all()
    # its claims join the findings, under its table's name, beside the paper's case studies
    air = fits_frame("air", "all")
    t9, c9 = build_table(TABLES["table9"], air, PAPER, ["ffn", "soft", "adaptive"])
    tables_by_id = {"table9": t9, "farm": table}
    claims_by_id = {"table9": c9, "farm": claims}
    found = findings(tables_by_id, claims_by_id, ["table9", "farm"])
    where = [(x["claim"], x["tables"]) for x in found]
    assert where == [
        ("adaptive < soft", "9 (air)"),
        ("soft < ffn", "9 (air)"),
        ("adaptive < soft", "farm"),
        ("soft < ffn", "farm"),
    ]
    # without the list, the paper's case-study tables only (as before)
    assert [x["tables"] for x in findings(tables_by_id, claims_by_id)] == ["9 (air)"] * 2


def test_the_cll_papers_claims_are_tested_replicate_by_replicate():
    """correlation_claims and correlation_findings on fits with known orderings: MultiRBF+ 0.01
    below MultiRBF in every replicate, MultiRBF's loss 0.005 higher at p = 0.5 than at 1 (the
    others' the same at both), MultiRBF+ReLU equal to MultiRBF+ but for noise of either
    sign."""
    import numpy as np

    from asp.analysis.findings import correlation_findings
    from asp.analysis.tables import correlation_claims, correlation_table

    rng = np.random.default_rng(0)
    base = {"single_rbf": 0.05, "multi_rbf": 0.04, "multi_rbf_cll": 0.03}
    rows = []
    noises = rng.normal(0, 1e-4, 12)  # a replicate draws the same at every p
    for p in (1.0, 0.5):
        for r, noise in enumerate(noises):
            for m, b in base.items():
                loss = b + noise + (0.005 if m == "multi_rbf" and p == 0.5 else 0.0)
                rows.append({"method": m, "test_mse": loss, "p": p, "replicate": r})
            jitter = 1e-6 * (1 if r % 2 else -1) * (1 + r)
            rows.append(
                {
                    "method": "multi_rbf_cll_leaky",
                    "test_mse": base["multi_rbf_cll"] + noise + jitter,
                    "p": p,
                    "replicate": r,
                }
            )
    fits = pd.DataFrame(rows).assign(
        dataset="cll_tasks",
        n=1000,
        metric="mse",
        diverged=False,
        epochs=625,
        label_correlation=lambda d: d["p"] ** 2,
    )
    methods = list(base) + ["multi_rbf_cll_leaky"]
    claims = correlation_claims(fits, methods).set_index(["p", "claim"])["holm_verdict"]
    assert claims[(1.0, "multi_rbf_cll < multi_rbf")] == "supported"
    assert claims[(0.5, "multi_rbf_cll < multi_rbf")] == "supported"
    assert claims[(0.5, "multi_rbf < single_rbf")] == "supported"
    assert claims[(0.5, "multi_rbf_cll_leaky < multi_rbf_cll")] == "not significant"
    assert claims[(1.0, "multi_rbf: loss at p = 1 < at p = 0.5")] == "supported"
    assert claims[(1.0, "single_rbf: loss at p = 1 < at p = 0.5")] == "untestable"  # equal
    table = correlation_table(fits)
    assert set(table["from"]) == {"Xu 2023"}
    assert table.groupby("p")["label_correlation"].first().to_dict() == {0.5: 0.25, 1.0: 1.0}
    found = {
        f["claim"].split(" (")[0]: f["verdict"]
        for f in correlation_findings(table, correlation_claims(fits, methods))
    }
    assert found["MultiRBF+ < MultiRBF at every p"] == "reproduced"
    assert found["MultiRBF+ReLU < MultiRBF+ at p = 0.5"] == "inconclusive"
    assert found["every multi-task RBF model < SingleRBF"] == "reproduced"
    # the loss grows: MultiRBF's cell supported, MultiRBF+'s and +ReLU's equal (untestable)
    assert found["the loss grows as p falls"] == "reproduced"
