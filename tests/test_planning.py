"""The plan of a configuration (asp.pipeline.planning): which jobs, which paths, which
parameters."""

import pytest
from conftest import validated

from asp.pipeline.planning import Plan, PlanError
from asp.pipeline.planning.paths import block_replicates


@pytest.fixture(scope="module")
def plan() -> Plan:
    return Plan(validated("config.yaml"))


def rule(plan: Plan, name: str):
    (found,) = [r for r in plan.training.rules if r.name == name]
    return found


def test_main_run_rules_train_what_the_tables_read(plan):
    assert [r.name for r in plan.training.rules] == [
        "train",
        "train_focus",
        "train_case_study",
        "train_budget",
        "train_relatedness",
        "train_relatedness_rho0",
        "train_cll_rbf",
    ]
    paper = ("ffn", "soft", "adaptive", "soft_extended")
    sims = rule(plan, "train")
    # the simulation cases: the paper's methods and the matched-budget control, no baselines
    assert sims.methods == paper
    # one job per case and block trains every size in turn, in one process
    assert sims.constraints == {"dataset": "case1|case2|case3"}
    assert sims.fold == "n" and sims.values == ("500", "1000", "3000", "4000")
    focus = rule(plan, "train_focus")
    assert focus.methods == (*paper, "l2_only", "mean_only")  # Table 7's penalty forms
    assert focus.constraints == {"dataset": "case1|case2|case3"} and focus.values == ("2000",)
    real = rule(plan, "train_case_study")  # Tables 9 and 11 show the baselines
    assert real.methods == (
        "ffn",
        "soft",
        "hard",
        "cross_stitch",
        "cll",
        "adaptive",
        "soft_extended",
    )
    assert real.constraints == {"dataset": "air|student"} and real.values == ("all",)
    assert focus.priority > real.priority > sims.priority > rule(plan, "train_budget").priority
    assert set(sims.outputs) == {"fits", "curves"}
    fits = sims.outputs["fits"]
    assert fits[1] == "results/fits/{dataset}/N500/mse/soft/block{block}.parquet"
    assert fits[8] == "results/fits/{dataset}/N1000/mse/ffn/block{block}.parquet"
    assert len(fits) == 4 * 2 * 4  # sizes x metrics x methods, size- then metric-major
    assert sims.inputs == [f"results/data/{{dataset}}/N{n}.parquet" for n in sims.values]
    assert sims.tag == "main/{dataset}_N500-1000-3000-4000_block{block}"
    jobs = plan.training.jobs(sims, {"dataset": "case2", "block": "0"})
    assert [j["name"] for j in jobs] == [f"main case2 N{n} block0" for n in sims.values]
    assert jobs[1] == plan.training.job(sims, {"dataset": "case2", "n": "1000", "block": "0"})


def test_a_training_job_carries_its_slice_of_the_config(plan):
    w = {"dataset": "case2", "n": "500", "block": "0"}
    job = plan.training.job(rule(plan, "train"), w)
    assert job["name"] == "main case2 N500 block0" and job["n"] == 500
    assert job["replicates"] == list(range(100)) and job["output"] == "linear"
    assert job["training"] == {
        "batch_size": 32,
        "max_epochs": 600,
        "patience": 100,
        "compile": True,
    }
    assert job["round_training"]["max_epochs"] == 100 and job["schedule"] == "constant"
    soft = job["cells"][1]
    lam = plan.config["hyperparameters"]["paper"]["case2"]["mse"]["lambda"]
    assert soft == {"metric": "mse", "method": "soft", "hyperparameters": "paper", "lambda": lam}
    air = plan.training.job(rule(plan, "train_case_study"), {**w, "dataset": "air", "n": "all"})
    assert air["output"] == "sigmoid" and air["n"] == "all"
    assert {c["method"] for c in air["cells"]} >= {"adaptive", "soft_extended", "cll"}


def test_a_study_job_trains_both_stages_at_its_value(plan):
    w = {"dataset": "case1", "n": "2000", "block": "0", "value": "2000"}
    job = plan.training.job(rule(plan, "train_budget"), w)
    assert job["name"] == "budget case1 N2000 E2000 block0"
    assert job["budget"] == 2000 and job["variable"] == "budget"
    assert job["training"]["max_epochs"] == 2000 and job["round_training"]["max_epochs"] == 100
    assert job["replicates"] == list(range(20))  # budget_study.replicates
    assert [c["method"] for c in job["cells"][:4]] == ["ffn", "soft", "adaptive", "soft_extended"]
    rel = rule(plan, "train_relatedness")
    assert rel.data == "results/relatedness/rho{value}/data/{dataset}/N{n}.parquet"
    assert rel.values == ("0.5", "0.9", "1") and rel.fold == "value"
    assert rel.constraints == {"dataset": "case1|case2|case3", "n": "2000"}
    assert rel.inputs[1] == "results/relatedness/rho0.9/data/{dataset}/N{n}.parquet"
    assert (
        rel.outputs["fits"][0]
        == "results/relatedness/rho0.5/fits/{dataset}/N{n}/mse/ffn/block{block}.parquet"
    )
    assert rel.tag == "relatedness/{dataset}_N{n}_rho0.5-0.9-1_block{block}"
    job = plan.training.job(rel, {**w, "value": "0.5"})
    assert job["rho"] == 0.5 and job["training"]["max_epochs"] == 600
    assert {c["metric"] for c in job["cells"]} == {"mse"}  # relatedness.metric


def test_a_study_reuses_the_main_runs_fits_at_its_neutral_value(plan):
    # budget: 600 epochs is the main run's stage 0, whose fits have every method it shows
    assert plan.results.reused["budget"] == {"600": ("ffn", "soft", "adaptive", "soft_extended")}
    assert rule(plan, "train_budget").values == ("2000", "5000")
    # relatedness: rho = 0 is the main run's data; only the baselines train there
    assert plan.results.reused["relatedness"] == {"0": ("ffn", "soft", "adaptive")}
    rho0 = rule(plan, "train_relatedness_rho0")
    assert rho0.methods == ("hard", "cross_stitch", "cll") and rho0.values == ("0",)
    by_id = {t.id: t for t in plan.results.tables}
    fits = plan.results.table_inputs(by_id["relatedness"])
    assert "results/fits/case2/N2000/mse/adaptive/block0.parquet" in fits
    assert "results/relatedness/rho0/fits/case2/N2000/mse/cll/block0.parquet" in fits
    assert "results/relatedness/rho0/fits/case2/N2000/mse/soft/block0.parquet" not in fits
    labels = plan.results.reuse_labels(by_id["relatedness"])
    assert len(labels) == 3 * 3  # cases x reused methods, one block
    assert labels["results/fits/case2/N2000/mse/adaptive/block0.parquet"] == {
        "variable": "rho",
        "value": 0.0,
        "replicates": 100,
    }
    budget = plan.results.reuse_labels(by_id["budget"])
    assert budget["results/fits/case1/N2000/mae/soft/block0.parquet"]["replicates"] == 20
    assert plan.results.reuse_labels(by_id["table3"]) == {}


def test_no_reuse_where_the_study_differs_from_the_main_run():
    def more(cfg):
        cfg["relatedness"]["rhos"] = [0.5, 0.9, 1.0]  # no rho is the main run's (0)
        cfg["training"]["max_epochs"] = 700  # no budget value is the main run's

    plan = Plan(validated("config.yaml", more))
    assert plan.results.reused["relatedness"] == {} and plan.results.reused["budget"] == {}
    names = [r.name for r in plan.training.rules]
    assert "train_relatedness_rho0" not in names
    assert rule(plan, "train_relatedness").values == ("0.5", "0.9", "1")


def test_study_data_and_fits_paths(plan):
    sim = plan.simulate_params("case3", "0.9", "relatedness")
    assert sim["case"]["rho"] == 0.9 and sim["replicates"] == 100
    assert plan.simulate_params("case3")["case"]["rho"] == 0  # the paper's independent tasks
    assert [a.study.id for a in plan.own_data_sweeps] == ["relatedness", "cll_rbf"]
    fits = plan.results.fits("case1", 2000, "mse", "soft", "budget")
    assert fits == ["results/fits/case1/N2000/mse/soft/block0.parquet"] + [
        f"results/budget/E{e}/fits/case1/N2000/mse/soft/block0.parquet" for e in (2000, 5000)
    ]


def test_tables_read_only_their_own_fits(plan):
    ids = [t.id for t in plan.results.tables]
    assert ids[:7] == [f"table{k}" for k in range(1, 8)] and ids[-3:] == [
        "budget",
        "relatedness",
        "cll_rbf",
    ]
    by_id = {t.id: t for t in plan.results.tables}
    t3 = plan.results.table_inputs(by_id["table3"])
    assert len(t3) == 3 * 5 * 4 and all("/mse/" in f for f in t3)  # cases x N x methods
    t7 = plan.results.table_inputs(by_id["table7"])
    assert {f.split("/")[5] for f in t7} == {"l2_only", "mean_only", "adaptive"}
    assert (
        len(plan.results.table_inputs(by_id["relatedness"])) == 4 * 3 * 6
    )  # rho x cases x methods
    assert plan.results.table_methods(by_id["budget"]) == [
        "ffn",
        "soft",
        "adaptive",
        "soft_extended",
    ]


def test_report_inputs(plan):
    inputs = plan.report.inputs()
    assert len(inputs["checksums"]) == 15 + 12 + 3  # main data, relatedness, CLL paper's
    assert inputs["study_figures"] == [
        "results/figures/fig_budget.png",
        "results/figures/fig_relatedness.png",
        "results/figures/fig_cll_rbf.png",
        "results/figures/fig_bayesopt.png",
        "results/figures/fig_cll_images.png",
    ]
    assert inputs["tuned"] == [] and inputs["case_studies"][0] == "results/data/air/Nall.json"
    ids = ["budget", "relatedness", "cll_rbf", "bayesopt", "cll_images"]
    assert [s["id"] for s in plan.report.sections()] == ids
    # the studies with steps of their own: their tables, and the paper file their findings read
    assert inputs["tables"][-2:] == ["results/tables/bayesopt.csv", "results/tables/cll_images.csv"]
    assert inputs["papers"] == ["data/paper/cll_paper_tables.csv"]


def test_a_config_without_studies_plans_none():
    def off(cfg):
        cfg["budget_study"]["epochs"] = []
        cfg["relatedness"]["rhos"] = []
        cfg["cll_rbf"]["ps"] = []
        cfg["case_studies"]["sets"] = {}
        cfg["bayesopt"]["pairs"] = []
        cfg["cll_images"]["datasets"] = []

    plan = Plan(validated("config.yaml", off))
    assert plan.steps == [] and plan.not_run == []
    assert [r.name for r in plan.training.rules] == ["train", "train_focus"]
    assert rule(plan, "train").methods == ("ffn", "soft", "adaptive", "soft_extended")
    assert [t.id for t in plan.results.tables] == [f"table{k}" for k in range(1, 8)]
    assert plan.report.inputs()["study_figures"] == []


def test_tuned_values_tie_jobs_and_tables_to_their_files():
    plan = Plan(validated("config/tiny.yaml"))
    assert plan.tuning.tuned_inputs("case1") == [
        "results/tuned/case1_mse.yaml",
        "results/tuned/case1_mae.yaml",
    ]
    job = plan.training.job(rule(plan, "train"), {"dataset": "case1", "n": "300", "block": "0"})
    assert job["cells"][1]["from_tuned_file"] == ["lambda"]
    tune = plan.tuning.tune_job("case2", "mae")
    first = plan.config["tuning"]["first_replicate"]
    assert tune["n"] == 300 and tune["replicates"] == [first, first + 1]
    assert tune["simulation"]["case"]["x"]["dist"] == "normal"
    assert tune["storage"] == "results/tuned/studies/case2_mae.sqlite3"


def test_the_raw_file_comes_from_the_first_folder_that_has_it(plan):
    assert plan.data.raw_file("air", lambda p: True) == "data/raw/nanjing_air_daily.csv"
    found = plan.data.raw_file("air", lambda p: p.startswith("../shared"))
    assert found == "../shared/data/nanjing_air_daily.csv"
    with pytest.raises(PlanError, match="needs student_performance_exams.csv, found in none"):
        plan.data.raw_file("student", lambda p: False)


def test_a_case_study_without_its_file_is_left_out_of_the_report_only():
    cfg = validated("config.yaml")
    plan = Plan(cfg, exists=lambda path: path.endswith("student_performance_exams.csv"))
    assert list(plan.data.missing) == ["air"] and plan.data.present[-1] == "student"
    air = plan.data.missing["air"]
    assert air.files == ("nanjing_air_daily.csv",) and len(air.sha256[0]) == 64
    assert air.searched == ("data/raw", "../shared/data") and "aqistudy" in air.obtain
    assert plan.not_run[0] == air
    # its rules stay (their targets refuse, naming the file); the report goes without them
    ids = [t.id for t in plan.results.tables]
    assert "table8" in ids and "table9" in ids
    report = [t.id for t in plan.report.tables]
    assert "table8" not in report and "table9" not in report and "table11" in report
    assert [f.id for f in plan.report.figures] == ["fig3", "fig4", "fig5", "fig7"]
    inputs = plan.report.inputs()
    assert inputs["case_studies"] == ["results/data/student/Nall.json"]
    assert not [f for f in inputs["fits"] if "/air/" in f]
    with pytest.raises(PlanError, match="needs nanjing_air_daily.csv, found in none"):
        plan.data.raw_file("air", lambda p: False)
    assert Plan(cfg).data.missing == {}  # without a look at the files, every case study is there


def test_each_figure_sits_beside_the_table_it_illustrates(plan):
    beside = {f.id: plan.report.figure_table(f) for f in plan.report.figures}
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
    ids = [t.id for t in plan.results.tables]
    # the paper's tables unchanged, then the data set's two, then the studies'
    assert ids[:11] == [f"table{k}" for k in range(1, 12)]
    assert ids[11:] == ["farm_hyperparameters", "farm", "budget", "relatedness", "cll_rbf"]
    by_id = {t.id: t for t in plan.results.tables}
    hyper, results = by_id["farm_hyperparameters"], by_id["farm"]
    assert (hyper.builder, hyper.paper, hyper.tuned) == ("hyper", None, True)
    assert (results.builder, results.claims, results.sizes) == ("case_study", "orderings", "all")
    assert plan.results.table_methods(results) == cfg["case_studies"]["methods"]
    assert {f.id: plan.report.figure_table(f) for f in plan.results.figures}["fig_farm"] == "farm"
    # no values in the config: the farm trains with tuned ones, the others with the paper's
    assert (
        plan.tuning.is_tuned("farm")
        and not plan.tuning.is_tuned("air")
        and not plan.tuning.is_tuned("case1")
    )
    assert plan.tuning.tuned_inputs("farm") == [
        "results/tuned/farm_mse.yaml",
        "results/tuned/farm_mae.yaml",
    ]
    assert plan.tuning.tuned_inputs("air") == []
    assert plan.results.tuned_table_inputs(hyper) == plan.tuning.tuned_inputs("farm")
    assert plan.results.tuned_table_inputs(by_id["table8"]) == []
    w = {"dataset": "farm", "n": "all", "block": "0"}
    job = plan.training.job(rule(plan, "train_case_study"), w)
    assert job["output"] == "linear"
    soft = job["cells"][1]
    assert soft["method"] == "soft" and soft["from_tuned_file"] == ["lambda"]
    air = plan.training.job(rule(plan, "train_case_study"), w | {"dataset": "air"})
    assert air["cells"][1]["hyperparameters"] == "paper" and air["output"] == "sigmoid"
    # its tune job searches the absolute ranges, with no paper trial; the paper's are as before
    tune = plan.tuning.tune_job("farm", "mse")
    assert tune["paper"] is None and "factors" not in tune["search"]
    assert tune["search"]["ranges"] == {
        "lambda": [0.0001, 0.1],
        "lambda_star": [0.0001, 0.1],
        "theta": [0.01, 0.5],
    }
    assert "ranges" not in plan.tuning.tune_job("air", "mse")["search"]
    inputs = plan.report.inputs()
    assert inputs["tuned"] == plan.tuning.tuned_inputs("farm")
    assert inputs["tuning_figure"] == ["results/figures/tuning_history.png"]
    assert plan.tuning.figure_datasets == ["farm"]
    assert "results/data/farm/Nall.json" in inputs["case_studies"]
    missing = plan.data.missing_data("farm")
    assert missing.sha256 == ("ab" * 32,) and missing.obtain.endswith("from the farm's records")


def test_the_tune_job_of_a_paper_data_set_is_unchanged_by_the_ranges():
    """The tune stage names a study by a hash of its job: a data set with the paper's values
    keeps its job, so its stored studies continue."""
    plan = Plan(validated("config/tiny.yaml"))
    tune = plan.tuning.tune_job("air", "mse")
    assert tune["paper"] == plan.config["hyperparameters"]["paper"]["air"]["mse"]
    assert set(tune["search"]) == {
        "seed",
        "trials",
        "trials_per_batch",
        "startup_trials",
        "factors",
    }


def test_reused_fits_span_the_main_runs_blocks():
    """A study with more replicates than a main-run block reads every block that holds its
    replicates, each labelled with its count (the rows beyond it are dropped)."""

    def blocks(cfg):
        cfg["replicate_block"] = 25
        cfg["relatedness"]["replicates"] = 30

    plan = Plan(validated("config.yaml", blocks))
    rel = {t.id: t for t in plan.results.tables}["relatedness"]
    labels = plan.results.reuse_labels(rel)
    assert sorted(p for p in labels if "/case1/" in p and "/soft/" in p) == [
        "results/fits/case1/N2000/mse/soft/block0.parquet",
        "results/fits/case1/N2000/mse/soft/block1.parquet",
    ]
    assert {v["replicates"] for v in labels.values()} == {30}
    fits = plan.results.table_inputs(rel)
    assert "results/relatedness/rho0.5/fits/case1/N2000/mse/soft/block1.parquet" in fits
    assert not [f for f in fits if "block2" in f]
    assert block_replicates(plan.config, 1, 30) == list(range(25, 30))


def test_a_case_with_its_own_relatedness_has_no_neutral_value():
    def related(cfg):
        cfg["simulation"]["cases"]["case2"]["rho"] = 0.5

    plan = Plan(validated("config.yaml", related))
    assert plan.results.reused["relatedness"] == {}
    assert plan.results.reused["budget"]  # the budget study still reads the main run's


def test_the_slurm_profile_sizes_every_training_rule(plan):
    """profiles/slurm/config.yaml gives each training rule of config.yaml its runtime and
    memory, and names no rule that does not exist."""
    import yaml
    from conftest import ROOT

    profile = yaml.safe_load((ROOT / "profiles/slurm/config.yaml").read_text())
    sized = {k for k in profile["set-resources"] if k.startswith("train")}
    assert sized == {r.name for r in plan.training.rules}
    for rule in sized:
        assert profile["set-resources"][rule]["runtime"] >= 5


def test_the_cll_paper_study_plans_its_own_data_protocol_and_figure(plan):
    """The CLL paper's Figure 8 (asp.studies.declaration): its own data set and N, one job per p
    with its protocol (10,000 iterations as whole epochs, Adam from 1e-4 halved at 1,000, 3,000 and
    7,000 steps, 50 Gaussian units), our values of lambda, lambda* and theta, and a figure of
    curves."""
    active = plan.sweeps["cll_rbf"]
    assert active.values == ["1", "0.9", "0.5"] and active.datasets == ["cll_tasks"]
    assert active.n == 1000 and active.replicates == 20 and plan.results.reused["cll_rbf"] == {}
    r = rule(plan, "train_cll_rbf")
    assert r.constraints == {"dataset": "cll_tasks", "n": "1000"} and r.values == (
        "1",
        "0.9",
        "0.5",
    )
    assert r.methods[-1] == "rbf_adaptive" and len(r.methods) == 7
    job = plan.training.job(r, {"dataset": "cll_tasks", "n": "1000", "value": "0.9", "block": "0"})
    assert job["p"] == 0.9 and job["rbf_centres"] == [50] and job["hidden"] == [4, 3]
    assert job["training"] == {
        "batch_size": 32,
        "max_epochs": 625,  # 490 training rows: 16 steps an epoch, 10,000 / 16 rounded up
        "patience": 625,
        "compile": True,
        "lr": 1e-4,
        "lr_milestones": [1000, 3000, 7000],
    }
    assert job["round_training"]["max_epochs"] == 100 and job["round_training"]["lr"] == 1e-4
    adaptive = next(c for c in job["cells"] if c["method"] == "rbf_adaptive")
    assert adaptive["hyperparameters"] == "ours"
    assert (adaptive["lambda"], adaptive["lambda_star"], adaptive["theta"]) == (1e-3, 5e-4, 0.25)
    sim = plan.simulate_params("cll_tasks", "0.5", "cll_rbf")
    assert sim["case"]["kind"] == "correlated_tasks" and sim["case"]["p"] == 0.5
    assert (sim["n_inputs"], sim["n_tasks"], sim["replicates"]) == (4, 2, 20)
    spec = next(t for t in plan.results.tables if t.id == "cll_rbf")
    assert plan.results.floor_inputs(spec) == [
        f"results/cll_rbf/p{v}/data/cll_tasks/N1000.floor.csv" for v in ("1", "0.9", "0.5")
    ]
    curves = plan.results.study_curves("cll_rbf")
    params = plan.results.study_curve_params("cll_rbf")
    assert len(curves) == len(params["files"]) == 3 * 6  # the stage-0 models, every p
    assert curves[0] == "results/cll_rbf/p1/fits/cll_tasks/N1000/mse/single_rbf/block0.curves.npz"
    assert params["files"][0] == {"value": "1", "method": "single_rbf"}
    assert params["steps_per_epoch"] == 16
    assert plan.results.study_curves("relatedness") == []
