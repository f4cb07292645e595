"""The plan of a configuration (asp.planning): which jobs, which paths, which parameters."""

import pytest
from conftest import validated

from asp.planning import Plan, PlanError


@pytest.fixture(scope="module")
def plan() -> Plan:
    return Plan(validated("config.yaml"))


def rule(plan: Plan, name: str):
    (found,) = [r for r in plan.training_rules if r.name == name]
    return found


def test_main_run_rules_take_their_methods_from_the_tables(plan):
    assert [r.name for r in plan.training_rules] == [
        "train_stage0",
        "train_rounds",
        "train_rounds_focus",
        "train_budget",
        "train_relatedness",
    ]
    # stage 0: the paper's independent and soft fits, and the case studies' baselines
    assert rule(plan, "train_stage0").methods == ("ffn", "soft", "hard", "cross_stitch", "cll")
    rounds = rule(plan, "train_rounds")
    assert rounds.methods == ("adaptive", "soft_extended") and rounds.starts == ("soft",)
    focus = rule(plan, "train_rounds_focus")
    assert focus.methods == ("l2_only", "mean_only")
    assert focus.constraints == {"dataset": "case1|case2|case3", "n": "2000"}
    assert rounds.start_files == [
        "results/fits/{dataset}/N{n}/mse/soft/block{block}.pt",
        "results/fits/{dataset}/N{n}/mae/soft/block{block}.pt",
    ]
    stage0 = rule(plan, "train_stage0")
    assert set(stage0.outputs) == {"fits", "curves", "state"} and "state" not in rounds.outputs
    assert stage0.outputs["fits"][1] == "results/fits/{dataset}/N{n}/mse/soft/block{block}.parquet"
    assert len(stage0.outputs["fits"]) == 2 * 5  # metrics x methods, metric-major


def test_a_training_job_carries_its_slice_of_the_config(plan):
    w = {"dataset": "case2", "n": "500", "block": "0"}
    job = plan.training_job(rule(plan, "train_stage0"), w)
    assert job["name"] == "stage0 case2 N500 block0" and job["n"] == 500
    assert job["replicates"] == list(range(100)) and job["output"] == "linear"
    assert job["training"] == {
        "batch_size": 32,
        "max_epochs": 600,
        "patience": 100,
        "compile": True,
    }
    soft = job["cells"][1]
    lam = plan.config["hyperparameters"]["paper"]["case2"]["mse"]["lambda"]
    assert soft == {"metric": "mse", "method": "soft", "hyperparameters": "paper", "lambda": lam}
    rounds = plan.training_job(rule(plan, "train_rounds"), {**w, "dataset": "air", "n": "all"})
    assert rounds["output"] == "sigmoid" and rounds["n"] == "all"
    assert rounds["schedule"] == "constant" and rounds["training"]["max_epochs"] == 100
    assert {c["method"] for c in rounds["cells"]} == {"adaptive", "soft_extended"}


def test_a_study_job_trains_both_stages_at_its_value(plan):
    w = {"dataset": "case1", "n": "2000", "block": "0", "value": "600"}
    job = plan.training_job(rule(plan, "train_budget"), w)
    assert job["name"] == "budget case1 N2000 E600 block0"
    assert job["budget"] == 600 and job["variable"] == "budget"
    assert job["training"]["max_epochs"] == 600 and job["round_training"]["max_epochs"] == 100
    assert job["replicates"] == list(range(20))  # budget_study.replicates
    assert [c["method"] for c in job["cells"][:4]] == ["ffn", "soft", "adaptive", "soft_extended"]
    rel = rule(plan, "train_relatedness")
    assert rel.data == "results/relatedness/rho{value}/data/{dataset}/N{n}.parquet"
    assert rel.constraints["value"] == r"0|0\.5|0\.9|1"
    job = plan.training_job(rel, {**w, "value": "0.5"})
    assert job["rho"] == 0.5 and job["training"]["max_epochs"] == 600
    assert {c["metric"] for c in job["cells"]} == {"mse"}  # relatedness.metric


def test_study_data_and_fits_paths(plan):
    sim = plan.simulate_params("case3", "0.9", "relatedness")
    assert sim["case"]["rho"] == 0.9 and sim["replicates"] == 100
    assert plan.simulate_params("case3")["case"]["rho"] == 0  # the paper's independent tasks
    (relatedness,) = plan.own_data_studies
    assert relatedness.study.id == "relatedness"
    fits = plan.fits("case1", 2000, "mse", "soft", "budget")
    assert fits == [
        f"results/budget/E{e}/fits/case1/N2000/mse/soft/block0.parquet" for e in (600, 2000, 5000)
    ]


def test_tables_read_only_their_own_fits(plan):
    ids = [t.id for t in plan.tables]
    assert ids[:7] == [f"table{k}" for k in range(1, 8)] and ids[-2:] == ["budget", "relatedness"]
    by_id = {t.id: t for t in plan.tables}
    t3 = plan.table_inputs(by_id["table3"])
    assert len(t3) == 3 * 5 * 4 and all("/mse/" in f for f in t3)  # cases x N x methods
    t7 = plan.table_inputs(by_id["table7"])
    assert {f.split("/")[5] for f in t7} == {"l2_only", "mean_only", "adaptive"}
    assert len(plan.table_inputs(by_id["relatedness"])) == 4 * 3 * 6  # rho x cases x methods
    assert plan.table_methods(by_id["budget"]) == ["ffn", "soft", "adaptive", "soft_extended"]


def test_report_inputs(plan):
    inputs = plan.report_inputs()
    assert len(inputs["checksums"]) == 15 + 12  # main data, relatedness data
    assert inputs["study_figures"] == [
        "results/figures/fig_budget.png",
        "results/figures/fig_relatedness.png",
    ]
    assert inputs["tuned"] == [] and inputs["case_studies"][0] == "results/data/air/Nall.json"
    assert [s["id"] for s in plan.report_studies()] == ["budget", "relatedness"]


def test_a_config_without_studies_plans_none():
    def off(cfg):
        cfg["budget_study"]["epochs"] = []
        cfg["relatedness"]["rhos"] = []
        cfg["case_studies"]["sets"] = {}

    plan = Plan(validated("config.yaml", off))
    assert [r.name for r in plan.training_rules] == [
        "train_stage0",
        "train_rounds",
        "train_rounds_focus",
    ]
    assert rule(plan, "train_stage0").methods == ("ffn", "soft")
    assert [t.id for t in plan.tables] == [f"table{k}" for k in range(1, 8)]
    assert plan.report_inputs()["study_figures"] == []


def test_tuned_values_tie_jobs_and_tables_to_their_files():
    plan = Plan(validated("config/tiny.yaml"))
    assert plan.tuned_inputs("case1") == [
        "results/tuned/case1_mse.yaml",
        "results/tuned/case1_mae.yaml",
    ]
    job = plan.training_job(
        rule(plan, "train_stage0"), {"dataset": "case1", "n": "300", "block": "0"}
    )
    assert job["cells"][1]["from_tuned_file"] == ["lambda"]
    tune = plan.tune_job("case2", "mae")
    first = plan.config["tuning"]["first_replicate"]
    assert tune["n"] == 300 and tune["replicates"] == [first, first + 1]
    assert tune["simulation"]["case"]["x"]["dist"] == "normal"
    assert tune["storage"] == "results/tuned/studies/case2_mae.sqlite3"


def test_the_raw_file_comes_from_the_first_folder_that_has_it(plan):
    assert plan.raw_file("air", lambda p: True) == "data/raw/nanjing_air_daily.csv"
    found = plan.raw_file("air", lambda p: p.startswith("../shared"))
    assert found == "../shared/data/nanjing_air_daily.csv"
    with pytest.raises(PlanError, match="needs student_performance_exams.csv, found in none"):
        plan.raw_file("student", lambda p: False)


def test_a_case_study_without_its_file_is_left_out_of_the_report_only():
    cfg = validated("config.yaml")
    plan = Plan(cfg, exists=lambda path: path.endswith("student_performance_exams.csv"))
    assert list(plan.missing) == ["air"] and plan.present[-1] == "student"
    air = plan.missing["air"]
    assert air["file"] == "nanjing_air_daily.csv" and len(air["sha256"]) == 64
    assert air["searched"] == ["data/raw", "../shared/data"] and "aqistudy" in air["obtain"]
    # its rules stay (their targets refuse, naming the file); the report goes without them
    ids = [t.id for t in plan.tables]
    assert "table8" in ids and "table9" in ids
    report = [t.id for t in plan.report_tables]
    assert "table8" not in report and "table9" not in report and "table11" in report
    assert [f.id for f in plan.report_figures] == ["fig3", "fig4", "fig5", "fig7"]
    inputs = plan.report_inputs()
    assert inputs["case_studies"] == ["results/data/student/Nall.json"]
    assert not [f for f in inputs["fits"] if "/air/" in f]
    with pytest.raises(PlanError, match="needs nanjing_air_daily.csv, found in none"):
        plan.raw_file("air", lambda p: False)
    assert Plan(cfg).missing == {}  # without a look at the files, every case study is there


def test_each_figure_sits_beside_the_table_it_illustrates(plan):
    beside = {f.id: plan.figure_table(f) for f in plan.report_figures}
    assert beside == {
        "fig3": "table3",
        "fig4": "table3",
        "fig5": "table3",
        "fig6": "table9",
        "fig7": "table11",
    }


OWN = {
    "file": "farm.csv",
    "inputs": ["size", "rain"],
    "outputs": ["yield", "protein"],
    "categorical": {"size": "first_seen"},
    "output": "linear",
    "expected_sha256": "ab" * 32,
    "obtain": "the farm's records",
}


def test_a_data_set_of_ones_own_gets_the_case_study_layout_and_tuned_values():
    cfg = validated("config.yaml", lambda c: c["case_studies"]["sets"].update(farm=OWN))
    plan = Plan(cfg)
    ids = [t.id for t in plan.tables]
    # the paper's tables unchanged, then the data set's two, then the studies'
    assert ids[:11] == [f"table{k}" for k in range(1, 12)]
    assert ids[11:] == ["farm_hyperparameters", "farm", "budget", "relatedness"]
    by_id = {t.id: t for t in plan.tables}
    hyper, results = by_id["farm_hyperparameters"], by_id["farm"]
    assert (hyper.builder, hyper.paper, hyper.tuned) == ("hyper", None, True)
    assert (results.builder, results.claims, results.sizes) == ("case_study", "orderings", "all")
    assert plan.table_methods(results) == cfg["case_studies"]["methods"]
    assert {f.id: plan.figure_table(f) for f in plan.figures}["fig_farm"] == "farm"
    # no values in the config: the farm trains with tuned ones, the others with the paper's
    assert plan.is_tuned("farm") and not plan.is_tuned("air") and not plan.is_tuned("case1")
    assert plan.tuned_inputs("farm") == [
        "results/tuned/farm_mse.yaml",
        "results/tuned/farm_mae.yaml",
    ]
    assert plan.tuned_inputs("air") == []
    assert plan.tuned_table_inputs(hyper) == plan.tuned_inputs("farm")
    assert plan.tuned_table_inputs(by_id["table8"]) == []
    w = {"dataset": "farm", "n": "all", "block": "0"}
    job = plan.training_job(rule(plan, "train_stage0"), w)
    assert job["output"] == "linear"
    soft = job["cells"][1]
    assert soft["method"] == "soft" and soft["from_tuned_file"] == ["lambda"]
    air = plan.training_job(rule(plan, "train_stage0"), w | {"dataset": "air"})
    assert air["cells"][1]["hyperparameters"] == "paper" and air["output"] == "sigmoid"
    # its tune job searches the absolute ranges, with no paper trial; the paper's are as before
    tune = plan.tune_job("farm", "mse")
    assert tune["paper"] is None and "factors" not in tune["search"]
    assert tune["search"]["ranges"] == {
        "lambda": [0.0001, 0.1],
        "lambda_star": [0.0001, 0.1],
        "theta": [0.01, 0.5],
    }
    assert "ranges" not in plan.tune_job("air", "mse")["search"]
    inputs = plan.report_inputs()
    assert inputs["tuned"] == plan.tuned_inputs("farm")
    assert inputs["tuning_figure"] == ["results/figures/tuning_history.png"]
    assert plan.tuning_figure_datasets == ["farm"]
    assert "results/data/farm/Nall.json" in inputs["case_studies"]
    missing = plan.missing_data("farm")
    assert missing["sha256"] == "ab" * 32 and missing["obtain"] == "the farm's records"


def test_the_tune_job_of_a_paper_data_set_is_unchanged_by_the_ranges():
    """The tune stage names a study by a hash of its job: a data set with the paper's values
    keeps its job, so its stored studies continue."""
    plan = Plan(validated("config/tiny.yaml"))
    tune = plan.tune_job("air", "mse")
    assert tune["paper"] == plan.config["hyperparameters"]["paper"]["air"]["mse"]
    assert set(tune["search"]) == {
        "seed",
        "trials",
        "trials_per_batch",
        "startup_trials",
        "factors",
    }
