"""The Snakemake workflow: config schema, DAG, and the tiny config end to end (a few minutes)."""

from __future__ import annotations

import base64
import copy
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from conftest import CASE1, ROOT, SHARED, SHORT_TRAINING
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from asp.pipeline.config_merge import merged

HAVE_DATA = (SHARED / "data" / "nanjing_air_daily.csv").exists()
# Fashion-MNIST from Debian's dataset-fashion-mnist, which test.sh installs; MNIST is the
# user's, never in a test's folder
HAVE_FASHION = Path("/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz").exists()

SCHEMA = ROOT / "workflow" / "schemas" / "config.schema.yaml"
COPY = [
    "Snakefile",
    "config.yaml",
    "config",
    "workflow",
    "data/paper",
    "profiles",
    "src",
    "environment.yml",
]
TINY = ["--configfile", "config/tiny.yaml"]


def load(name: str) -> dict:
    return yaml.safe_load((ROOT / name).read_text())


@pytest.mark.parametrize(
    "name", ["config.yaml", "config/tiny.yaml", "config/tuned.yaml", "config/cll_full.yaml"]
)
def test_shipped_configs_validate(name):
    validate(merged(load("config.yaml"), load(name)), str(SCHEMA))


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (lambda c: c["simulation"].update(sizes=[-5, 500]), "['sizes']"),
        (lambda c: c["hyperparameters"]["paper"]["case1"]["mse"].update(theta=1.5), "theta"),
        (lambda c: c.update(trainig={"patience": 3}), "'trainig' was unexpected"),
        (lambda c: c["training"].update(batch_sise=3), "'batch_sise' was unexpected"),
        (lambda c: c.update(device="tpu"), "device"),
    ],
)
def test_bad_config_names_the_key(change, named):
    cfg = copy.deepcopy(load("config.yaml"))
    change(cfg)
    with pytest.raises(WorkflowError) as err:
        validate(cfg, str(SCHEMA))
    assert named in str(err.value)


def workdir(tmp: Path, raw_data: bool = True) -> Path:
    """A copy of the workflow in ``tmp``; the case-study files are linked into data/raw/ when
    ../shared/data has them, otherwise the tiny config runs without the case studies."""
    for item in COPY:
        src, dst = ROOT / item, tmp / item
        if src.is_dir():
            shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)
    (tmp / "data" / "raw").mkdir(parents=True)
    if raw_data and HAVE_DATA:
        for f in (SHARED / "data").glob("*.csv"):
            (tmp / "data" / "raw" / f.name).symlink_to(f)
    tiny = yaml.safe_load((tmp / "config/tiny.yaml").read_text())
    studies = tiny.setdefault("case_studies", {})
    studies["data_dirs"] = ["data/raw"]  # never the real ../shared beside tmp
    if not (raw_data and HAVE_DATA):
        studies["sets"] = {}  # an empty mapping replaces config.yaml's
    (tmp / "config/tiny.yaml").write_text(yaml.safe_dump(tiny, sort_keys=False))
    return tmp


def whole_config(cwd: Path, config: dict) -> None:
    """``config`` as the whole configuration: the folder's config.yaml, no overlay."""
    (cwd / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))


def tiny_config(cwd: Path) -> dict:
    """The folder's config/tiny.yaml merged over its config.yaml, schema defaults filled in: the
    configuration its tiny run sees."""
    cfg = merged(*(yaml.safe_load((cwd / f).read_text()) for f in ("config.yaml", TINY[1])))
    validate(cfg, str(SCHEMA))
    return cfg


def snakemake(
    cwd: Path, *args: str, check: bool = True, env: dict | None = None
) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [sys.executable, "-m", "snakemake", "--cores", "2", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=1800,
        env=None if env is None else os.environ | env,
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"snakemake {' '.join(args)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"
        )
    return proc


def job_counts(output: str) -> dict[str, int]:
    """The job table of a dry run: rule -> count."""
    table = output[output.index("Job stats:") :]
    return {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.M)}


def test_lint_is_clean(tmp_path):
    out = snakemake(workdir(tmp_path), "--lint")
    assert "Congratulations" in out.stdout + out.stderr


def test_full_config_dry_run_builds_the_whole_dag(tmp_path):
    cwd = workdir(tmp_path)
    if not HAVE_DATA:  # config.yaml names the case studies; without their files, leave them out
        cfg = yaml.safe_load((cwd / "config.yaml").read_text())
        cfg["case_studies"]["sets"] = {}
        (cwd / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    out = snakemake(cwd, "-n")
    jobs = job_counts(out.stdout + out.stderr)
    # One job per (dataset, block of 100 replicates), both stages and both metrics at each of
    # its sizes in turn: the paper's methods at 3 cases (4 sizes each), with Table 7's penalty
    # forms at N=2000, and the case studies (air, student) with the baselines beyond the paper.
    real = 2 if HAVE_DATA else 0
    assert jobs["simulate"] == 15
    assert jobs.get("ingest", 0) == real
    assert jobs["train"] == 3 and jobs["train_focus"] == 3
    assert jobs.get("train_case_study", 0) == real
    # The budget study: 2 budgets x 3 cases at N=2000 (600 epochs is the main run's own), one
    # job per case.
    assert jobs["train_budget"] == 3
    # The relatedness study: 4 rhos x 3 cases at N=2000, data each, one job per case for its
    # rhos (at rho = 0 only the baselines train, in a job of their own; ffn, soft and adaptive
    # are the main run's); table, figure.
    assert jobs["simulate_relatedness"] == 12
    assert jobs["train_relatedness"] == 3 and jobs["train_relatedness_rho0"] == 3
    # The CLL paper's Figure 8: 3 values of p, data and floor each, one job for all three;
    # table, figure.
    assert jobs["simulate_cll_rbf"] == 3 and jobs["floor_cll_rbf"] == 3
    assert jobs["train_cll_rbf"] == 1
    # The CLL paper's Table 2: one job per surrogate (5) for the 5 test-function pairs; table,
    # figure.
    assert jobs["bayesopt_run"] == 5 and jobs["bayesopt"] == 1 and jobs["fig_bayesopt"] == 1
    tables_figures = 7 + 3 + (4 + 2 if HAVE_DATA else 0) + 3 + 3 + 2
    # The floor of every simulated data file a loss table reads (asp.data.floor)
    assert jobs["floor"] == 15 and jobs["floor_relatedness"] == 12
    # The CLL paper's Table 1: Multi-FashionMNIST alone (MNIST's two sets are not run): its
    # data, the five LeNet models and ours (soft and adaptive in one job); table, figure.
    images = 0
    if HAVE_FASHION:
        images = 1 + 6 + 2
        assert jobs["cll_images_data"] == 1 and jobs["cll_images_run"] == 6
        assert jobs["cll_images"] == 1 and jobs["fig_cll_images"] == 1
    assert "Not run: the CLL paper's data set 'multi_mnist' needs mnist/" in out.stderr
    total = 15 + real + 6 + real + 3 + 18 + tables_figures + 2 + 27 + 7 + 5 + images
    assert jobs["total"] == total


def test_an_overlay_of_one_key_plans_the_complete_run(tmp_path):
    """`--configfile overlay.yaml` holding `replicates: 3` merges over config.yaml: the same
    jobs as config.yaml's complete run (one block per data set either way), the studies on the
    evaluation replicates taking those 3, said at start-up. A misspelt key in an overlay stops
    the run naming it: the schema checks the merged config."""
    cwd = workdir(tmp_path)
    no_data = {} if HAVE_DATA else {"case_studies": {"sets": {}}}  # an empty mapping: none
    (cwd / "no_data.yaml").write_text(yaml.safe_dump(no_data))
    (cwd / "overlay.yaml").write_text("replicates: 3\n")
    full = snakemake(cwd, "-n", "--configfile", "no_data.yaml")
    out = snakemake(cwd, "-n", "--configfile", "no_data.yaml", "overlay.yaml")
    assert job_counts(out.stdout + out.stderr) == job_counts(full.stdout + full.stderr)
    for study, configured in (("budget_study", 20), ("relatedness", 100)):
        note = f"Note: {study}: the run's 3 replicates, not the {configured} configured"
        assert note in out.stderr and note not in full.stderr
    (cwd / "overlay.yaml").write_text("training: {patince: 50}\n")
    bad = snakemake(cwd, "-n", "--configfile", "overlay.yaml", check=False)
    text = bad.stdout + bad.stderr
    assert bad.returncode != 0 and "'patince' was unexpected" in text


def test_one_table_builds_only_its_inputs(tmp_path):
    out = snakemake(workdir(tmp_path), "table3", "-n", *TINY)  # --configfile takes 1+ values
    jobs = job_counts(out.stdout + out.stderr)
    # Table 3 = ffn, soft, adaptive at both tiny sizes: the job of each (case, N), which
    # trains both stages and both metrics, nothing for figures or the report. The tiny config
    # trains with tuned values: the tune jobs of every case and metric. The floor of each data
    # file.
    assert jobs == {
        "simulate": 6,
        "floor": 6,
        "tune": 6,
        "train": 3,
        "train_focus": 3,
        "table3": 1,
        "total": 25,
    }


def test_missing_case_study_file_says_what_and_where(tmp_path):
    cwd = workdir(tmp_path, raw_data=False)
    tiny = yaml.safe_load((cwd / "config/tiny.yaml").read_text())
    tiny["case_studies"]["sets"] = {"student": {"file": "student_performance_exams.csv"}}
    (cwd / "config/tiny.yaml").write_text(yaml.safe_dump(tiny))
    out = snakemake(cwd, "table11", "-n", *TINY, check=False)
    text = out.stdout + out.stderr
    assert out.returncode != 0
    assert "student_performance_exams.csv" in text and "kaggle.com" in text
    assert "96cdb83a410626c1535e02edbb9cc2e85e900c5209fb5d47bb0dee70760428c6" in text


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """The tiny config, killed mid-run and resumed; yields (folder, outputs finished before the
    kill with their modification times)."""
    cwd = workdir(tmp_path_factory.mktemp("tiny"))
    # progress lines every second, not 30 (test_long_jobs_print_progress_with_the_time_left)
    every = {"ASP_PROGRESS_EVERY": "1"}
    first = open(cwd / "console_killed.txt", "w")  # noqa: SIM115 - closed after the kill
    proc = subprocess.Popen(
        [sys.executable, "-m", "snakemake", "--cores", "2", *TINY],
        cwd=cwd,
        stdout=first,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        env=os.environ | every,
    )
    fits = cwd / "results" / "fits"
    markers = cwd / ".snakemake" / "incomplete"

    def finished() -> dict[Path, int]:
        """Fit files written and no longer marked incomplete by Snakemake (a job still writing
        its other outputs is rightly redone), with their modification times."""
        marked = markers.iterdir() if markers.exists() else []
        running = {base64.urlsafe_b64decode(m.name).decode() for m in marked if m.is_file()}
        return {
            p: p.stat().st_mtime_ns
            for p in fits.rglob("*.parquet")
            if str(p.relative_to(cwd)) not in running
        }

    deadline = time.time() + 600
    while time.time() < deadline and not finished():  # the first training job has finished
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)  # a crash, not a polite stop, while others run
    proc.wait()
    first.close()
    done = finished()
    assert done, "no training job finished before the kill"
    assert proc.returncode != 0 and not (cwd / "reports" / "report.html").exists()
    snakemake(cwd, "--unlock", *TINY)  # a hard kill leaves Snakemake's lock behind
    out = snakemake(cwd, *TINY, env=every)  # resumes (the profile sets rerun-incomplete)
    (cwd / "console.txt").write_text(out.stdout + out.stderr)
    return cwd, done


PROGRESS = re.compile(
    r"^(?P<job>train\w*|bayesopt \w+|tune \w+ \w+|cll_images_run [\w ]+): "
    r"(?P<part>.+) \(\d+ of \d+\)"
    r"(?P<where>, .+)?; \d+% after [\w ]+, (about [\w ]+ left|time left unknown)$",
    re.M,
)


def test_long_jobs_print_progress_with_the_time_left(tiny_run):
    """Run with ASP_PROGRESS_EVERY=1, the training, Bayesian-optimisation, tune and LeNet jobs
    print where they are and the time left on the console (the run killed, then resumed), and
    the same lines to their logs."""
    cwd, _ = tiny_run
    killed, resumed = ((cwd / f).read_text() for f in ("console_killed.txt", "console.txt"))
    console = list(PROGRESS.finditer(killed + resumed))
    jobs = {m["job"].split()[0] for m in console}
    assert {"train", "train_focus", "bayesopt", "tune"} <= jobs, sorted(jobs)
    # a log line is "<time> INFO <line>": the lines of each job the resumed run ran are in its
    # log too (the log of a job the kill cut short is its rerun's)
    logs = "".join(log.read_text() for log in (cwd / "logs").rglob("*.log"))
    resumed_jobs = {m["job"] for m in PROGRESS.finditer(resumed)}
    assert resumed_jobs
    for job in resumed_jobs:
        assert re.search(rf" INFO {re.escape(job)}: .* left( unknown)?\n", logs), job
    training = [m for m in console if m["job"] == "train"]
    # stage 0's lines name the fits still training (and, in Python epochs, the epoch)
    assert any(", stage 0, " in m["where"] and " fits training" in m["where"] for m in training)
    assert any(m["part"].startswith("main case") and " block0" in m["part"] for m in training)
    pairs = [m for m in console if m["job"].startswith("bayesopt")]
    assert any(m["part"] in ("ackley+rastrigin", "rastrigin+schwefel") for m in pairs)
    assert any("iteration " in (m["where"] or "") for m in pairs)


def test_the_fits_a_study_reuses_are_those_its_own_job_trains(tiny_run):
    """At rho = 0 the relatedness table reads the main run's ffn, soft and adaptive fits of
    its first replicates. The relatedness job at rho = 0 with every one of its methods, as it
    would run without the reuse (on its own data, compiled as configured), trains the same
    fits: every number of their rows is the one in the main run's files."""
    import dataclasses

    import pandas as pd

    from asp.data.simulation import SimulationCase, simulated_arrays
    from asp.engine.methods import split_stages
    from asp.experiments.jobs import job_replicates, run_both, with_tuned_values
    from asp.pipeline.planning import Plan
    from asp.studies.registry import as_study_rows

    cwd, _ = tiny_run
    plan = Plan(tiny_config(cwd))
    active = plan.sweeps["relatedness"]
    assert plan.results.reused["relatedness"] == {"0": ("ffn", "soft", "adaptive")}
    assert active.replicates == 2
    rule = next(r for r in plan.training.rules if r.name == "train_relatedness")
    methods = tuple(sum(split_stages(active.methods), []))
    job = plan.training.job(
        dataclasses.replace(rule, methods=methods),
        {"dataset": "case3", "n": "500", "block": "0", "value": "0"},
    )
    tuned = [
        (str(p), yaml.safe_load((cwd / p).read_text())) for p in plan.tuning.tuned_inputs("case3")
    ]
    job = with_tuned_values(job, tuned)
    assert job["training"]["compile"] is True and job["replicates"] == [0, 1]
    sim = plan.simulate_params("case3", "0", "relatedness")
    case = SimulationCase.from_config("case3", sim["case"])
    arrays = {r: simulated_arrays(case, 500, 4, 2, sim["base_seed"], r) for r in job["replicates"]}
    own = {r.cell["method"]: r.rows for r in run_both(job, job_replicates(job, arrays))}
    labels = plan.results.reuse_labels(
        next(t for t in plan.results.tables if t.id == "relatedness")
    )
    wall = ["seconds", "job_seconds", "job", "config_hash"]  # the job's, not the fit's
    for method in ("ffn", "soft", "adaptive"):
        path = f"results/fits/case3/N500/mse/{method}/block0.parquet"
        reused = as_study_rows(pd.read_parquet(cwd / path), labels[path])
        assert len(reused) == 2 and reused["rho"].tolist() == [0.0, 0.0]
        assert reused["test_mse"].notna().all()
        pd.testing.assert_frame_equal(
            reused.drop(columns=wall), own[method].drop(columns=wall), check_exact=True
        )


def test_killed_run_resumes_without_redoing_finished_jobs(tiny_run):
    _, done = tiny_run
    for path, mtime in done.items():
        assert path.stat().st_mtime_ns == mtime, f"{path} was trained again"


def test_report_has_every_table_and_figure(tiny_run):
    import pandas as pd

    cwd, _ = tiny_run
    html = (cwd / "reports" / "report.html").read_text()
    tables = range(1, 12) if HAVE_DATA else range(1, 8)
    for k in tables:
        assert f'id="table{k}"' in html and (cwd / f"results/tables/table{k}.csv").exists()
    images = re.findall(r'<img alt="Figure (\d)" src="data:image/png;base64,([^"]+)"', html)
    assert [k for k, _ in images] == (["3", "4", "5", "6", "7"] if HAVE_DATA else ["3", "4", "5"])
    for _, data in images:
        assert base64.b64decode(data)[:8] == b"\x89PNG\r\n\x1a\n"
    assert "Provenance" in html and "sha256" in html
    # Findings first, the matched-budget control in Tables 3-6, the budget study
    assert html.index('id="findings"') < html.index('id="table1"')
    for claim in ("adaptive &lt; soft", "soft &lt; ffn", "adaptive &lt; soft_extended"):
        assert f"<td>{claim}</td>" in html
    for k in (3, 4, 5, 6):
        table = (cwd / f"results/tables/table{k}.csv").read_text()
        assert "soft_extended" in table
    assert 'id="budget"' in html and '<img alt="Budget study: ' in html
    # The relatedness study and the baselines beyond the paper in the case studies' tables
    assert 'id="relatedness"' in html and '<img alt="Relatedness study: ' in html
    rel = pd.read_csv(cwd / "results/tables/relatedness.csv")
    assert set(rel["rho"]) == {0.0, 1.0} and set(rel["metric"]) == {"mse", "mae"}
    assert set(rel["method"]) == {"ffn", "hard", "cross_stitch", "cll", "soft", "adaptive"}
    assert (rel["fits"] + rel["diverged"] == 2).all()
    if HAVE_DATA:
        for k in (9, 11):
            t = pd.read_csv(cwd / f"results/tables/table{k}.csv")
            assert {"hard", "cross_stitch", "cll"} <= set(t["method"])
        assert "hard (beyond the paper)" in html
    # The CLL paper's Figure 8, its numbers with the label correlation, and its claims
    assert 'id="cll_rbf"' in html and '<img alt="The CLL paper (Xu et al. 2023), Figure 8' in html
    cll = pd.read_csv(cwd / "results/tables/cll_rbf.csv")
    assert set(cll["p"]) == {1.0, 0.5} and (cll["fits"] + cll["diverged"] == 3).all()
    assert set(cll["method"]) == {
        "single_rbf",
        "multi_rbf",
        "multi_rbf_cll",
        "multi_rbf_cll_leaky",
        "rbf_soft",
        "rbf_adaptive",
        "ffn",
    }
    assert set(cll.loc[cll["method"].str.startswith("multi_"), "from"]) == {"Xu 2023"}
    assert set(cll.loc[cll["method"].isin(["rbf_soft", "ffn"]), "from"]) == {"ours"}
    corr = cll.groupby("p")["label_correlation"].first()
    assert corr[1.0] > 0.95 and corr[0.5] < corr[1.0]
    claims = pd.read_csv(cwd / "results/tables/cll_rbf_claims.csv")
    for claim in (
        "multi_rbf_cll < multi_rbf",
        "multi_rbf < single_rbf",
        "multi_rbf_cll_leaky < multi_rbf_cll",
        "multi_rbf_cll: loss at p = 1 < at p = 0.5",
    ):
        assert claim in set(claims["claim"])
    for claim in ("MultiRBF+ &lt; MultiRBF at every p", "the loss grows as p falls"):
        assert claim in html
    # The CLL paper's Table 2: every pair, p, task and surrogate with the tiny protocol's runs,
    # the paper's numbers beside ours, the curves and the claims with the GP baseline
    assert 'id="bayesopt"' in html and '<img alt="Best value found so far' in html
    bo = pd.read_csv(cwd / "results/tables/bayesopt.csv")
    assert len(bo) == 2 * 2 * 2 * 5 and (bo["runs"] == 4).all()
    assert set(bo["surrogate"]) == {"single_rbf", "rbf_soft", "bay_mrbfcor", "rbf_adaptive", "gp"}
    paper = bo.dropna(subset=["paper_mean"])
    assert set(paper["surrogate"]) == {"single_rbf", "rbf_soft", "bay_mrbfcor"}
    first = paper[(paper["pair"] == "ackley+rastrigin") & (paper["p"] == 1.0)]
    assert first.set_index(["task", "surrogate"]).loc[(1, "single_rbf"), "paper_mean"] == -7.3275
    # the tasks' true minimum is -15.94 (c = 10): no run's best point is truly below it
    assert (bo["true_mean"] >= -15.95).all() and (bo["mean"] < 0).all()
    bo_claims = pd.read_csv(cwd / "results/tables/bayesopt_claims.csv")
    assert {"bay_mrbfcor < single_rbf", "bay_mrbfcor < rbf_soft", "bay_mrbfcor < gp"} <= set(
        bo_claims["claim"]
    )
    assert (bo_claims["pairs"] == 4).all() and len(bo_claims) == 5 * 8
    assert "GP-EI (BoTorch)" in html and "bay_mrbfcor &lt; single_rbf in best value" in html


@pytest.mark.skipif(not HAVE_FASHION, reason="needs dataset-fashion-mnist (test.sh installs it)")
def test_tiny_report_has_the_cll_papers_table1_for_multi_fashionmnist(tiny_run):
    import pandas as pd

    cwd, _ = tiny_run
    html = (cwd / "reports/report.html").read_text()
    assert 'id="cll_images"' in html and '<img alt="Validation accuracy per epoch"' in html
    t = pd.read_csv(cwd / "results/tables/cll_images.csv")
    assert set(t["dataset"]) == {"multi_fashion"} and set(t["task"]) == {1, 2}
    assert set(t["model"]) == {
        "single_lenet",
        "multi_lenet",
        "multi_lenet_cll",
        "multi_lenet_cs",
        "multi_lenet_cs_cll",
        "lenet_soft",
        "lenet_adaptive",
    }
    assert (t["runs"] == 3).all() and t["mean"].between(0, 1).all()
    assert (t["max"] >= t["mean"]).all()
    # the paper's mean (max) beside ours for its five models (Table 1 of Xu 2023)
    single = t[(t["model"] == "single_lenet") & (t["task"] == 1)]
    assert single[["paper_mean", "paper_max"]].values.tolist() == [[0.8154, 0.8181]]
    assert t.loc[t["model"].str.startswith("lenet_"), "paper_mean"].isna().all()
    claims = pd.read_csv(cwd / "results/tables/cll_images_claims.csv")
    assert {
        "multi_lenet > single_lenet",
        "multi_lenet_cll > multi_lenet",
        "multi_lenet_cs_cll > multi_lenet_cs",
        "lenet_adaptive > lenet_soft",
    } <= set(claims["claim"])
    assert (claims["pairs"] == 3).all() and len(claims) == 8 * 2
    assert "A reduced protocol, not the paper" in html and "MultiLeNetCS+" in html
    # 3 runs: the signed-rank test's smallest p is 0.25, so no claim can be decided
    assert "the smallest p-value the test can give is 0.25" in html
    assert "lenet_adaptive &gt; lenet_soft (2 cells)" in html
    # the two MNIST data sets listed as not run, naming their files
    section = not_run(html)
    for name in ("multi_mnist", "multi_fashion_mnist"):
        what = f"the CLL paper&#39;s data set &#39;{name}&#39;"
        assert f"<b>{what}</b>: needs <code>mnist/train-images-idx3-ubyte.gz</code>" in section
    assert "data/raw/mnist" in section


def test_a_missing_image_sources_target_refuses_naming_the_files(tmp_path):
    cwd = workdir(tmp_path)
    out = snakemake(
        cwd, "results/cll_images/multi_mnist/single_lenet.parquet", "-n", *TINY, check=False
    )
    text = out.stdout + out.stderr
    assert out.returncode != 0
    assert "the CLL paper's data set 'multi_mnist' needs mnist/train-images-idx3-ubyte.gz" in text
    assert "data/raw/mnist" in text and "no package registry" in text


def test_second_run_does_nothing(tiny_run):
    cwd, _ = tiny_run
    out = snakemake(cwd, *TINY)
    assert "Nothing to be done" in out.stdout + out.stderr


def test_results_rows_carry_hash_versions_and_device(tiny_run):
    import pandas as pd

    cwd, _ = tiny_run
    df = pd.read_parquet(next((cwd / "results/fits/case1/N500/mse/adaptive").glob("*.parquet")))
    assert len(df) == 4 and set(df["replicate"]) == {0, 1, 2, 3}
    assert df["config_hash"].nunique() == 1 and (df["device"] == "cpu").all()
    rounds = df["theta_star"] / df["theta"]  # theta* = t* x theta, t* a whole round
    assert ((rounds - rounds.round()).abs() < 1e-9).all()


def screenshot_tool():
    """scripts/screenshot_report.py as a module: how the project drives headless Chromium."""
    import importlib.util

    path = ROOT / "scripts" / "screenshot_report.py"
    spec = importlib.util.spec_from_file_location("screenshot_report", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_report_renders_in_chromium(tiny_run):
    if not (shutil.which("chromium") or shutil.which("chromium-browser")):
        pytest.skip("Chromium is not installed (Debian package chromium): report not rendered")
    cwd, _ = tiny_run
    out = screenshot_tool().run(cwd / "reports" / "report.html", 1280, 900, "--dump-dom")
    dom = out.stdout
    assert 'data-broken-images="0"' in dom, out.stderr[-2000:]
    # a table of contents that stays in view, linking every table
    nav = dom[dom.index('<nav class="toc"') : dom.index("</nav>")]
    tables = re.findall(r'<h2 id="(table\d+|budget|relatedness)"', dom)
    assert tables and all(f'href="#{t}"' in nav for t in tables)
    assert "position: fixed" in dom
    # at a glance, before the tables: each claim of the paper with its effect size and CI, and
    # its forest plot
    glance = dom[dom.index('id="glance"') : dom.index('id="table1"')]
    for claim in ("adaptive &lt; soft", "soft &lt; ffn", "adaptive &lt; l2_only"):
        assert f'<img alt="Forest plot: {claim}" src="data:image/png;base64,' in glance
    assert glance.count("% lower (CI ") + glance.count("% higher (CI ") >= 4
    # each figure right after the table it illustrates
    order = [
        m.group(1) or f"fig{m.group(2)}"
        for m in re.finditer(r'<h2 id="(table\d+)"|<img alt="Figure (\d)"', dom)
    ]
    assert order.index("fig3") == order.index("table3") + 1 < order.index("table4")
    if HAVE_DATA:
        assert order.index("fig6") == order.index("table9") + 1
        assert order.index("fig7") == order.index("table11") + 1
    # the floor in the simulated loss tables
    for k in (3, 4, 7):
        section = dom[dom.index(f'<h2 id="table{k}"') :]
        section = section[: section.index("</table>")]
        assert "floor (error of the true function)" in section
    # the CLL paper's claims at a glance too, each with its effect and interval
    cll = dom[dom.index('id="glance-cll"') : dom.index('id="readings"')]
    assert "multi_rbf_cll &lt; multi_rbf in test MSE (the CLL paper, Figure 8): p " in cll
    assert cll.count("% lower (CI ") + cll.count("% higher (CI ") >= 3
    if HAVE_FASHION:
        assert "multi_lenet_cll &gt; multi_lenet in test accuracy (the CLL paper, Table 1)" in cll


def test_the_report_fits_a_laptop_screen(tiny_run, tmp_path):
    """scripts/screenshot_report.py at 1,280 x 900: a screenshot of that size, and a page no
    wider than the window (wide tables scroll in their own box)."""
    if not (shutil.which("chromium") or shutil.which("chromium-browser")):
        pytest.skip("Chromium is not installed (Debian package chromium): report not rendered")
    cwd, _ = tiny_run
    shot = tmp_path / "first_screen.png"
    args = ["--report", str(cwd / "reports/report.html"), "--out", str(shot)]
    out = subprocess.run(
        [sys.executable, str(ROOT / "scripts/screenshot_report.py"), *args],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "1280 x 900; the page is 0 px wider than the window" in out.stdout
    header = shot.read_bytes()[:24]  # PNG: the signature, then IHDR's width and height
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    assert (int.from_bytes(header[16:20], "big"), int.from_bytes(header[20:24], "big")) == (
        1280,
        900,
    )


@pytest.mark.skipif(not HAVE_DATA, reason="../shared/data is absent: no case-study files")
def test_case_studies_in_the_report(tiny_run):
    import pandas as pd

    cwd, _ = tiny_run
    air = yaml.safe_load((cwd / "results/data/air/Nall.json").read_text())
    assert (air["rows_read"], air["rows_dropped"], air["rows_used"]) == (2028, 26, 2002)
    assert air["checksum_warning"] is None and air["last_date"] == "2019-06-21"
    html = (cwd / "reports" / "report.html").read_text()
    assert "3,274 days" in html and "2002 usable" in html
    t11 = pd.read_csv(cwd / "results/tables/table11.csv")
    soft = t11[(t11.method == "soft") & (t11.metric == "mse") & (t11.quantity == "test_loss_mean")]
    assert soft["paper"].iloc[0] == pytest.approx(0.0715) and soft["fits"].iloc[0] == 4
    student = pd.read_parquet(cwd / "results/fits/student/Nall/mse/adaptive/block0.parquet")
    assert len(student) == 4 and student["test_mse"].notna().all()


def training_jobs(dry_run: str) -> set[tuple[str, str]]:
    """(rule, wildcards) of the training jobs a dry run lists."""
    found = re.findall(r"^rule (train\w*):\n(?:\s+\w+:.*\n)*?\s+wildcards: (.*)$", dry_run, re.M)
    return set(found)


def test_tuned_values_reach_the_training_jobs(tiny_run):
    import json

    import pandas as pd
    import pyarrow.parquet as pq

    from asp.engine.methods import get_method

    cwd, _ = tiny_run
    checked = 0
    for path in (cwd / "results/fits").rglob("*.parquet"):
        dataset, _, metric, method = path.parts[-5:-1]
        chosen = yaml.safe_load((cwd / f"results/tuned/{dataset}_{metric}.yaml").read_text())
        chosen = chosen["chosen"]
        cell = json.loads(pq.read_schema(path).metadata[b"asp"])["cell"]
        assert (cell["metric"], cell["method"]) == (metric, method)
        rows = pd.read_parquet(path)
        if not get_method(method).hyperparameters:  # ffn and the baselines: none
            assert cell["lambda"] == 0.0 and (rows["hyperparameters"] == "none").all()
            continue
        assert (rows["hyperparameters"] == "tuned").all()
        assert cell["lambda"] == chosen["lambda"] and (rows["lambda"] == chosen["lambda"]).all()
        if method != "soft":
            assert (cell["lambda_star"], cell["theta"]) == (chosen["lambda_star"], chosen["theta"])
        checked += 1
    assert checked >= 20
    t1 = pd.read_csv(cwd / "results/tables/table1.csv")
    theta = t1[(t1.dataset == "case1") & (t1.quantity == "theta")].iloc[0]
    case1 = yaml.safe_load((cwd / "results/tuned/case1_mse.yaml").read_text())
    assert theta["ours"] == pytest.approx(case1["chosen"]["theta"])
    assert theta["paper"] == pytest.approx(0.07) and theta["source"] == "tuned"
    for study in case1["studies"].values():  # the paper's values were tried first
        assert study["best_value"] <= study["paper_values_value"]
    html = (cwd / "reports" / "report.html").read_text()
    assert 'id="tuning"' in html and '<img alt="Tuning history" src="data:image/png;base64,' in html


def test_changed_tuned_values_rerun_only_their_jobs(tiny_run):
    """New values in one tune output rerun the training jobs of that dataset (which train both
    metrics) and no other training job."""
    cwd, _ = tiny_run
    path = cwd / "results/tuned/case1_mse.yaml"
    text, stat = path.read_text(), path.stat()
    values = yaml.safe_load(text)
    values["chosen"] = {k: v * 0.9 for k, v in values["chosen"].items()}
    try:
        path.write_text(yaml.safe_dump(values, sort_keys=False))
        out = snakemake(cwd, "-n", *TINY)
        jobs = training_jobs(out.stdout + out.stderr)
    finally:
        path.write_text(text)
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    expected = {
        ("train", "dataset=case1, block=0"),
        ("train_focus", "dataset=case1, block=0"),
    }
    # the studies train case 1 with the same values, one job for all their values (rho,
    # budget); at rho = 0 the relatedness study trains only the baselines, in a job of their
    # own (the rest is the main run's)
    expected |= {
        (rule, "dataset=case1, n=500, block=0")
        for rule in ("train_relatedness_rho0", "train_relatedness", "train_budget")
    }
    assert jobs == expected
    assert "Nothing to be done" in snakemake(cwd, "-n", *TINY).stdout  # restored


# A method added through the registry alone: soft sharing with the absolute deviation from the
# task mean (a stage-0 method with its own penalty, claimed to beat FFN).
TOY_METHOD = """

register(
    Method(
        "soft_abs",
        "soft sharing, absolute deviation from the mean",
        "stage0",
        hyperparameters=("lambda",),
        stage0_penalty="mean_absolute",
        beats=("ffn",),
    )
)
"""


def register_toy_method(cwd: Path) -> None:
    with open(cwd / "src/asp/engine/methods.py", "a") as f:
        f.write(TOY_METHOD)


def tree_digest(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def dry_run_rules(text: str) -> dict[str, list[dict[str, str]]]:
    """rule -> the jobs a dry run lists, each with its input and output lines."""
    found: dict[str, list[dict[str, str]]] = {}
    for block in re.split(r"\n(?=rule \w+:\n)", text):
        m = re.match(r"rule (\w+):\n", block)
        if m:
            fields = dict(re.findall(r"^\s+(input|output): (.*)$", block, re.M))
            found.setdefault(m[1], []).append(fields)
    return found


def test_a_method_registered_alone_gets_its_jobs_and_table_rows(tmp_path):
    cwd = workdir(tmp_path)
    before = snakemake(cwd, "-n", *TINY)
    register_toy_method(cwd)
    tiny = yaml.safe_load((cwd / "config/tiny.yaml").read_text())
    tiny["methods"] = ["ffn", "soft", "adaptive", "soft_abs"]
    (cwd / "config/tiny.yaml").write_text(yaml.safe_dump(tiny, sort_keys=False))
    out = snakemake(cwd, "-n", *TINY)
    text = out.stdout + out.stderr
    assert job_counts(text) == job_counts(before.stdout + before.stderr)  # no new rule or job
    rules = dry_run_rules(text)
    sims = " ".join(j["output"] for j in rules["train"] + rules["train_focus"])
    for dataset, n in [("case1", 300), ("case3", 500)]:
        for metric in ("mse", "mae"):
            for ext in ("parquet", "curves.npz"):
                assert f"results/fits/{dataset}/N{n}/{metric}/soft_abs/block0.{ext}" in sims
    if HAVE_DATA:  # no case-study table shows it (case_studies.methods): not trained there
        real = " ".join(j["output"] for j in rules["train_case_study"])
        assert "/air/" in real and "soft_abs" not in real
    for table, metric in (("table3", "mse"), ("table4", "mae")):
        (job,) = rules[table]
        wanted = [
            f"results/fits/{c}/N{n}/{metric}/soft_abs/block0.parquet"
            for c in ("case1", "case2", "case3")
            for n in (300, 500)
        ]
        assert all(f in job["input"] for f in wanted)
    assert "soft_abs" not in " ".join(j["input"] for j in rules["table7"])
    assert tree_digest(cwd / "workflow") == tree_digest(ROOT / "workflow")  # no rule changed


def test_an_unknown_table_target_stops_with_its_name(tmp_path):
    out = snakemake(workdir(tmp_path), "table12", "-n", *TINY, check=False)
    assert out.returncode != 0 and "No rule to produce table12" in out.stdout + out.stderr


def test_a_bad_config_stops_at_start_up_naming_the_key(tmp_path):
    cwd = workdir(tmp_path)
    tiny = yaml.safe_load((cwd / "config/tiny.yaml").read_text())
    tiny["simulation"]["cases"] = {"case1": {"x": {"dist": "uniform", "low": 8, "high": 0}}}
    (cwd / "config/tiny.yaml").write_text(yaml.safe_dump(tiny, sort_keys=False))
    out = snakemake(cwd, "-n", *TINY, check=False)
    text = out.stdout + out.stderr
    assert out.returncode != 0
    assert "config: simulation.cases.case1.x: uniform needs low < high" in text
    assert "Traceback" not in text


def test_no_job_log_holds_a_logging_error(tiny_run):
    cwd, _ = tiny_run
    logs = list((cwd / "logs").rglob("*.log"))
    assert len(logs) > 40
    bad = [str(p.relative_to(cwd)) for p in logs if "Logging error" in p.read_text()]
    assert bad == []
    case_study = cwd / "logs/train/case_study/student_Nall_block0.log"
    if HAVE_DATA:
        assert "case_study student Nall block0" in case_study.read_text()


# Every configuration knob the structure must honour, in one small run: MAE alone, K = 3 tasks
# and M = 6 inputs, two simulation cases beyond the paper's (one with its own distributions,
# noise and hidden width), and a method registered through the registry alone.
VARIANTS = {
    "base_seed": 11,
    "device": "cpu",
    "replicates": 2,
    "replicate_block": 2,
    "metrics": ["mae"],
    "methods": ["ffn", "soft", "adaptive", "soft_abs"],
    "focus_size": 200,
    "simulation": {
        "n_inputs": 6,
        "n_tasks": 3,
        "sizes": [200],
        "cases": {
            "case1": CASE1,
            "case4": {
                "x": {"dist": "normal", "mean": 1, "sd": 2},
                "weights": {"dist": "uniform", "low": -1, "high": 1},
                "noise_sd": 0.5,
                "hidden": 2,
            },
            "case5": {
                "x": {"dist": "exponential", "rate": 2},
                "weights": {"dist": "normal", "mean": 0, "sd": 1},
            },
        },
    },
    "case_studies": {"sets": {}},
    "training": SHORT_TRAINING,
    "hyperparameters": {
        "source": "paper",
        "paper": {
            c: {"mae": {"lambda": 0.01, "lambda_star": 0.005, "theta": 0.5}}
            for c in ("case1", "case4", "case5")
        },
    },
}


def test_mae_alone_three_tasks_six_inputs_and_extra_cases_run(tmp_path):
    import pandas as pd

    cwd = workdir(tmp_path)
    register_toy_method(cwd)
    whole_config(cwd, VARIANTS)
    snakemake(cwd)
    tables = sorted(p.name for p in (cwd / "results/tables").glob("table?.csv"))
    assert tables == ["table2.csv", "table4.csv", "table6.csv", "table7.csv"]  # the MAE ones
    fits = list((cwd / "results/fits").rglob("*.parquet"))
    assert fits and all("/mae/" in str(p) for p in fits)  # no MSE fit was trained
    df = pd.concat(pd.read_parquet(p) for p in fits)
    assert set(df["dataset"]) == {"case1", "case4", "case5"} and (df["n"] == 200).all()
    data = pd.read_parquet(cwd / "results/data/case4/N200.parquet")
    assert [c for c in data.columns if c != "replicate"] == [
        *(f"x{i}" for i in range(6)),
        *(f"y{j}" for j in range(3)),
    ]
    t4 = pd.read_csv(cwd / "results/tables/table4.csv")
    assert set(t4["method"]) == {"ffn", "soft", "adaptive", "soft_abs"}
    toy = t4[t4["method"] == "soft_abs"]
    assert len(toy) == 3 and (toy["fits"] == 2).all() and toy["ours"].gt(0).all()
    claims = pd.read_csv(cwd / "results/tables/table4_claims.csv")
    assert "soft_abs < ffn" in set(claims["claim"])
    figures = {p.name: p.read_bytes() for p in (cwd / "results/figures").glob("*.png")}
    assert sorted(figures) == ["fig3.png", "fig_case4.png", "fig_case5.png"]
    assert len(set(figures.values())) == 3  # three distinct figures
    html = (cwd / "reports/report.html").read_text()
    assert re.findall(r'<img alt="(Figure[^"]*)"', html) == [
        "Figure 3",
        "Figure (case4)",
        "Figure (case5)",
    ]
    assert all(f'id="{t[:-4]}"' in html for t in tables) and "Validation MAE after" in html
    bad = [p for p in (cwd / "logs").rglob("*.log") if "Logging error" in p.read_text()]
    assert bad == []


# A study added through its declaration alone: the mini-batch size swept at focus_size. Its
# library function sets both stages' batch size; its table is the generic sweep of
# asp.analysis.tables. Two studies declared outside the package, in a module the config names
# (study_modules): a sweep of the mini-batch size through the training rules, and a toy study with
# steps of its own (its data, one job, one table with one claim, a figure).
TOY_STUDIES = '''
"""Two studies of this configuration's own."""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from asp.analysis import tables
from asp.analysis.stats import claim_verdict, paired_claims
from asp.studies.steps import Step
from asp.studies.declaration import Study, StudySteps, register


def _batch_size(job: dict, size: int, block: dict) -> dict:
    """Both stages with mini-batches of ``size`` rows."""
    return job | {
        "training": job["training"] | {"batch_size": size},
        "round_training": job["round_training"] | {"batch_size": size},
    }


register(
    Study(
        "batch_sweep",
        "Batch-size sweep: does adaptive's gain depend on the mini-batch size?",
        "Every method trained with each mini-batch size, at focus_size in every case.",
        config_key="studies.batch_sweep",
        table_title="Batch-size sweep: mean test loss (95 % CI) against the mini-batch size",
        values_key="sizes",
        variable="batch_size",
        cast=int,
        prefix="B",
        axis=("mini-batch size", "log"),
        build=lambda fits, methods: (
            tables.sweep_table(fits, "batch_size"),
            tables.sweep_claims(fits, "batch_size", methods),
        ),
        adjust=_batch_size,
    )
)


def draw(call):
    """y = 2x + noise, ``n`` rows per replicate."""
    p = call.params
    rng = np.random.default_rng(p["seed"])
    x = rng.normal(size=(p["replicates"], p["n"]))
    y = 2 * x + rng.normal(scale=0.5, size=x.shape)
    replicate = np.repeat(np.arange(p["replicates"]), p["n"])
    return {"data": pd.DataFrame({"replicate": replicate, "x": x.ravel(), "y": y.ravel()})}


def fit(call):
    """Per replicate, the test MSE of a line through 0 and of the mean, each fitted on the
    first half of the rows and tested on the second."""
    rows = []
    for r, g in call.inputs["data"].groupby("replicate"):
        train, test = g.iloc[: len(g) // 2], g.iloc[len(g) // 2 :]
        slope = (train.x * train.y).sum() / (train.x**2).sum()
        line, mean = slope * test.x, train.y.mean()
        rows.append({"replicate": r, "method": "line", "mse": ((test.y - line) ** 2).mean()})
        rows.append({"replicate": r, "method": "mean", "mse": ((test.y - mean) ** 2).mean()})
    return {"rows": pd.DataFrame(rows)}


def table(call):
    rows = call.inputs["rows"]
    wide = rows.assign(cell="all").pivot_table(
        index=["cell", "replicate"], columns="method", values="mse"
    )
    claims = paired_claims(wide, ["cell"], [("line", "mean", "toy")])
    return {"table": rows.groupby("method", as_index=False)["mse"].mean(), "claims": claims}


def figure(call):
    fig, ax = plt.subplots(figsize=(4, 3))
    ax.bar(call.inputs["table"]["method"], call.inputs["table"]["mse"])
    return {"figure": fig}


def findings(table, claims, block, paper):
    v = claims["holm_verdict"]
    supported, contradicted = int((v == "supported").sum()), int((v == "contradicted").sum())
    return [
        {
            "claim": "line < mean in test MSE (toy)",
            "verdict": claim_verdict(supported, len(v), contradicted),
            "evidence": f"{supported} of {len(v)} cells supported",
            "explanation": "the data are a line",
        }
    ]


def steps(config, exists):
    block = config.get("studies", {}).get("toy")
    if not block:
        return None
    params = {"seed": config["base_seed"], "replicates": block["replicates"], "n": block["n"]}
    return StudySteps(
        (
            Step("toy", "toy_data", f"{__name__}:draw", {"data": "results/toy/data.parquet"},
                 params=params),
            Step("toy", "toy_fit", f"{__name__}:fit", {"rows": "results/toy/rows.parquet"},
                 input={"data": "results/toy/data.parquet"}),
            Step("toy", "toy", f"{__name__}:table",
                 {"table": "results/tables/toy.csv", "claims": "results/tables/toy_claims.csv"},
                 input={"rows": "results/toy/rows.parquet"}),
            Step("toy", "fig_toy", f"{__name__}:figure", {"figure": "results/figures/fig_toy.png"},
                 input={"table": "results/tables/toy.csv"}),
        )
    )


register(
    Study(
        "toy",
        "Toy study: test MSE by method",
        "A line or a constant, fitted to y = 2x + noise on {{ block.replicates }} replicates.",
        config_key="studies.toy",
        table_title="Toy study: test MSE of a line and of the mean",
        steps=steps,
        legend="Each row: a method's mean test MSE over the replicates.",
        findings=findings,
    )
)
'''

SWEEP = {
    "base_seed": 5,
    "device": "cpu",
    "replicates": 3,
    "replicate_block": 3,
    "metrics": ["mse"],
    "focus_size": 200,
    "simulation": {"n_inputs": 4, "n_tasks": 2, "sizes": [200], "cases": {"case1": CASE1}},
    "case_studies": {"sets": {}},
    "training": SHORT_TRAINING,
    "hyperparameters": {
        "source": "paper",
        "paper": {"case1": {"mse": {"lambda": 0.01, "lambda_star": 0.005, "theta": 0.5}}},
    },
    "studies": {
        "batch_sweep": {"sizes": [16, 64], "replicates": 3, "methods": ["ffn", "soft", "adaptive"]},
        "toy": {"replicates": 8, "n": 40},
    },
    # the CLL paper's studies off (their blocks from config.yaml's defaults otherwise)
    "cll_rbf": {"ps": []},
    "bayesopt": {"pairs": []},
    "cll_images": {"datasets": []},
}


def test_studies_declared_outside_the_package_get_their_jobs_tables_and_report(tmp_path):
    """A sweep and a study with steps of its own, declared in a module of the test's own that
    the config names: planned, run, tabled and in the report, with no other file edited."""
    import pandas as pd
    import pyarrow.parquet as pq

    cwd = workdir(tmp_path)
    whole_config(cwd, SWEEP)
    refused = snakemake(cwd, "-n", check=False)
    assert refused.returncode != 0  # not declared yet: its config block is refused by name
    text = refused.stdout + refused.stderr
    assert "config: studies.batch_sweep: no such study is declared" in text
    (cwd / "toy_studies.py").write_text(TOY_STUDIES)
    whole_config(cwd, SWEEP | {"study_modules": ["toy_studies.py"]})
    out = snakemake(cwd, "-n")
    jobs = job_counts(out.stdout + out.stderr)
    # one job for its two values; its table and figure
    assert jobs["train_batch_sweep"] == 1 and jobs["batch_sweep"] == jobs["fig_batch_sweep"] == 1
    # the toy study's steps, one rule each
    assert [jobs[s] for s in ("toy_data", "toy_fit", "toy", "fig_toy")] == [1, 1, 1, 1]
    snakemake(cwd)
    toy = pd.read_csv(cwd / "results/tables/toy.csv").set_index("method")["mse"]
    assert toy["line"] < 0.5 < 3 < toy["mean"]  # noise sd 0.5; the mean misses 4 var(x)
    toy_claims = pd.read_csv(cwd / "results/tables/toy_claims.csv")
    assert toy_claims[["claim", "pairs", "holm_verdict"]].values.tolist() == [
        ["line < mean", 8, "supported"]
    ]
    meta = json.loads(pq.read_schema(cwd / "results/toy/rows.parquet").metadata[b"asp"])
    assert meta["step"] == "toy_fit" and len(meta["config_hash"]) == 16
    assert (cwd / "logs/toy/toy_fit.log").exists() and (cwd / "benchmarks/toy/toy.tsv").exists()
    table = pd.read_csv(cwd / "results/tables/batch_sweep.csv")
    assert sorted(set(table["batch_size"])) == [16, 64]
    assert set(table["method"]) == {"ffn", "soft", "adaptive"} and (table["fits"] == 3).all()
    claims = pd.read_csv(cwd / "results/tables/batch_sweep_claims.csv")
    assert {"adaptive < soft", "soft < ffn"} <= set(claims["claim"])
    assert sorted(set(claims["batch_size"])) == [16, 64]
    # its jobs trained with their value: the batch size in the stored job, and fits that differ
    fits = {
        size: cwd / f"results/batch_sweep/B{size}/fits/case1/N200/mse/soft/block0.parquet"
        for size in (16, 64)
    }
    for size, path in fits.items():
        job = json.loads(pq.read_schema(path).metadata[b"asp"])["job"]
        assert job["training"]["batch_size"] == job["round_training"]["batch_size"] == size
        assert (pd.read_parquet(path)["batch_size"] == size).all()
    a, b = (pd.read_parquet(p)["test_mse"].to_numpy() for p in fits.values())
    assert not (a == b).any()
    html = (cwd / "reports/report.html").read_text()
    assert 'id="batch_sweep"' in html and 'id="fig_batch_sweep"' in html
    assert '<img alt="Batch-size sweep: does adaptive' in html
    # the toy study's section: its table, text, legend, figure, its claim and its finding
    section = html[html.index('<h2 id="toy">') :]
    section = section[: section.index("<h2", 5)]
    assert "Toy study: test MSE of a line and of the mean" in section
    assert "fitted to y = 2x + noise on 8 replicates" in section
    assert "Each row: a method's mean test MSE over the replicates." in section
    assert '<img alt="Toy study: test MSE by method"' in section
    assert "line &lt; mean in test MSE (toy)" in html and "the data are a line" in html


# The case studies named but their files absent (a plain clone), on a small simulation.
SHARP_HP = {"lambda": 0.01, "lambda_star": 0.005, "theta": 0.5}
NO_DATA = {
    "base_seed": 5,
    "device": "cpu",
    "replicates": 2,
    "replicate_block": 2,
    "metrics": ["mse"],
    "methods": ["ffn", "soft", "adaptive"],
    "focus_size": 200,
    "simulation": {"n_inputs": 4, "n_tasks": 2, "sizes": [200], "cases": {"case1": CASE1}},
    "case_studies": {
        "data_dirs": ["data/raw"],
        "sets": {
            "air": {"file": "nanjing_air_daily.csv"},
            "student": {"file": "student_performance_exams.csv"},
        },
        "methods": ["ffn", "soft", "adaptive"],
    },
    "training": SHORT_TRAINING,
    "hyperparameters": {
        "source": "paper",
        "paper": {d: {"mse": SHARP_HP} for d in ("case1", "air", "student")},
    },
}
AIR_SHA = "386aebdf3eda90d41bab6fff948af96f034b97ac1f352feeee584c9c4b4b361f"
STUDENT_SHA = "96cdb83a410626c1535e02edbb9cc2e85e900c5209fb5d47bb0dee70760428c6"


def not_run(html: str) -> str:
    """The report's section on the data sets left out."""
    start = html.index('id="not-run"')
    return html[start : html.index('id="findings"')]


def test_missing_case_study_files_leave_them_out_of_a_complete_run(tmp_path):
    cwd = workdir(tmp_path, raw_data=False)
    if HAVE_DATA:  # student present, air absent
        name = "student_performance_exams.csv"
        (cwd / "data/raw" / name).symlink_to(SHARED / "data" / name)
    whole_config(cwd, NO_DATA)
    out = snakemake(cwd)
    text = out.stdout + out.stderr
    assert "Not run: case study 'air' needs nanjing_air_daily.csv, found in none of" in text
    html = (cwd / "reports/report.html").read_text()
    section = not_run(html)
    assert "nanjing_air_daily.csv" in section and AIR_SHA in section and "aqistudy" in section
    assert 'id="table9"' not in html and 'alt="Figure 6"' not in html and 'id="table3"' in html
    # the missing data set's own target still refuses, naming the file
    refused = snakemake(cwd, "table9", check=False)
    assert refused.returncode != 0
    assert "needs nanjing_air_daily.csv" in refused.stdout + refused.stderr
    if not HAVE_DATA:
        assert STUDENT_SHA in section
        return
    assert 'id="table11"' in html and "student_performance_exams.csv" not in section
    # the student file renamed in the config after a complete run: the report is rebuilt
    # without it, never left as it was
    changed = copy.deepcopy(NO_DATA)
    changed["case_studies"]["sets"]["student"]["file"] = "student_renamed.csv"
    whole_config(cwd, changed)
    again = snakemake(cwd)
    assert "Nothing to be done" not in again.stdout + again.stderr
    html = (cwd / "reports/report.html").read_text()
    assert "student_renamed.csv" in not_run(html) and 'id="table11"' not in html


def test_a_nan_in_the_config_stops_at_start_up_naming_the_key(tmp_path):
    cwd = workdir(tmp_path)
    text = (cwd / "config/tiny.yaml").read_text()
    cfg = yaml.safe_load(text)
    cfg["hyperparameters"]["paper"] = {
        d: {m: dict(SHARP_HP) for m in ("mse", "mae")} for d in ("case1", "case2", "case3")
    }
    cfg["hyperparameters"]["paper"]["case2"]["mse"]["lambda"] = float("nan")
    cfg["case_studies"]["sets"] = {}
    (cwd / "config/tiny.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    assert "lambda: .nan" in (cwd / "config/tiny.yaml").read_text()
    out = snakemake(cwd, "-n", *TINY, check=False)
    assert out.returncode != 0
    assert "config: hyperparameters.paper.case2.mse.lambda: nan is not a finite number" in (
        out.stdout + out.stderr
    )


# A data set of one's own, declared through the config alone: two categorical inputs (one with
# its categories in order, one coded in order of first appearance), two numeric ones, two
# outputs, and missing cells ("", "NA", and a 0 where 0 means missing); no hyper-parameters.
OWN_ROWS = 240


def own_csv(path: Path) -> dict[str, int]:
    """Write the data set's CSV; the rows with a missing cell, by kind."""
    import numpy as np

    rng = np.random.default_rng(3)
    sizes, regions = ["small", "medium", "large"], ["north", "south", "east", "west"]
    lines = ["size,region,temp,wind,yield,quality"]
    dropped = {"empty": 0, "NA": 0, "zero": 0}
    for i in range(OWN_ROWS):
        s, r = rng.integers(3), rng.integers(4)
        temp, wind = rng.uniform(5, 30), rng.uniform(0.5, 10)
        y1 = 2 * s + 0.3 * temp - 0.5 * wind + rng.normal()
        y2 = s - 0.2 * temp + r + rng.normal()
        cells = [sizes[s], regions[r], f"{temp:.3f}", f"{wind:.3f}", f"{y1:.4f}", f"{y2:.4f}"]
        if i % 40 == 7:
            cells[2], dropped["empty"] = "", dropped["empty"] + 1
        elif i % 40 == 19:
            cells[5], dropped["NA"] = "NA", dropped["NA"] + 1
        elif i % 40 == 31:
            cells[3], dropped["zero"] = "0", dropped["zero"] + 1
        lines.append(",".join(cells))
    path.write_text("\n".join(lines) + "\n")
    return dropped


OWN_SET = {
    "file": "farm_yield.csv",
    "inputs": ["size", "region", "temp", "wind"],
    "outputs": ["yield", "quality"],
    "categorical": {"size": ["small", "medium", "large"], "region": "first_seen"},
    "missing": {"values": ["", "NA"], "zero_in": ["wind"]},
    "output": "sigmoid",
}
OWN = {
    "base_seed": 5,
    "device": "cpu",
    "replicates": 2,
    "replicate_block": 2,
    "metrics": ["mse"],
    "methods": ["ffn", "soft", "adaptive"],
    "focus_size": 200,
    "simulation": {"n_inputs": 4, "n_tasks": 2, "sizes": [200], "cases": {"case1": CASE1}},
    "case_studies": {
        "data_dirs": ["data/raw"],
        "sets": {"farm": OWN_SET},
        "methods": ["ffn", "soft", "adaptive"],
    },
    "training": SHORT_TRAINING,
    "tuning": {
        "n": 200,
        "replicates": 2,
        "trials": {"soft": 2, "adaptive": 2},
        "trials_per_batch": 2,
        "startup_trials": 1,
    },
    "hyperparameters": {"source": "paper", "paper": {"case1": {"mse": SHARP_HP}}},
}


def test_a_data_set_of_ones_own_runs_through_config_alone(tmp_path):
    import pandas as pd

    cwd = workdir(tmp_path, raw_data=False)
    dropped = own_csv(cwd / "data/raw/farm_yield.csv")
    whole_config(cwd, OWN)
    out = snakemake(cwd)
    assert "Not run" not in out.stdout + out.stderr
    # ingest: every row with a missing cell dropped and counted, the coding noted
    prov = json.loads((cwd / "results/data/farm/Nall.json").read_text())
    n_dropped = sum(dropped.values())
    assert (prov["rows_read"], prov["rows_dropped"]) == (OWN_ROWS, n_dropped)
    assert prov["rows_used"] == OWN_ROWS - n_dropped
    assert prov["expected_sha256"] is None and prov["checksum_warning"] is None
    assert any("size: small=0, medium=1, large=2" in n for n in prov["notes"])
    assert any("region (in order of first appearance)" in n for n in prov["notes"])
    data = pd.read_parquet(cwd / "results/data/farm/Nall.parquet")
    assert list(data.columns) == ["x0", "x1", "x2", "x3", "y0", "y1"]
    assert len(data) == OWN_ROWS - n_dropped and set(data["x0"]) == {0.0, 1.0, 2.0}
    # tuned, though hyperparameters.source is paper: the tune stage ran for it alone, within
    # tuning.ranges and with no paper trial
    assert sorted(p.name for p in (cwd / "results/tuned").glob("*.yaml")) == ["farm_mse.yaml"]
    tuned = yaml.safe_load((cwd / "results/tuned/farm_mse.yaml").read_text())
    assert tuned["paper"] is None
    assert tuned["studies"]["adaptive"]["ranges"] == {
        "lambda_star": [0.0001, 0.1],
        "theta": [0.01, 0.5],
    }
    # its two tables in the case-study layout, with no paper values
    hyper = pd.read_csv(cwd / "results/tables/farm_hyperparameters.csv")
    used = hyper[hyper["n"] == "every N"]
    assert set(used["quantity"]) == {"lambda", "lambda_star", "theta"}
    assert (used["source"] == "tuned").all() and used["paper"].isna().all()
    chosen = dict(zip(used["quantity"], used["ours"], strict=True))
    assert chosen == pytest.approx(tuned["chosen"])
    results = pd.read_csv(cwd / "results/tables/farm.csv")
    assert set(results["method"]) == {"ffn", "soft", "adaptive"}
    assert results["paper"].isna().all() and (results["dataset"] == "farm").all()
    claims = pd.read_csv(cwd / "results/tables/farm_claims.csv")
    assert {"adaptive < soft", "soft < ffn"} <= set(claims["claim"])
    # the report: its tables, claims in the findings, its figure beside its table
    html = (cwd / "reports/report.html").read_text()
    assert 'id="farm"' in html and 'id="farm_hyperparameters"' in html
    assert 'alt="Figure (farm)"' in html
    assert html.index('id="farm"') < html.index('alt="Figure (farm)"')
    findings = html[html.index('id="findings"') :]
    assert re.search(r"<td>adaptive (&lt;|<) soft</td><td>farm</td>", findings)  # its verdicts
    assert "A data set of the configuration, not of the paper" in html
    # case1 trained on the config's values, farm on the tuned ones
    fits = pd.read_parquet(cwd / "results/fits/case1/N200/mse/adaptive/block0.parquet")
    assert (fits["hyperparameters"] == "paper").all()


def test_a_misspelt_column_stops_at_start_up(tmp_path):
    cwd = workdir(tmp_path, raw_data=False)
    own_csv(cwd / "data/raw/farm_yield.csv")
    cfg = copy.deepcopy(OWN)
    cfg["case_studies"]["sets"]["farm"]["outputs"] = ["yield", "qualty"]
    whole_config(cwd, cfg)
    out = snakemake(cwd, "-n", check=False)
    assert out.returncode != 0
    text = out.stdout + out.stderr
    assert "case_studies.sets.farm.outputs: no column 'qualty' in the file" in text
    assert "['size', 'region', 'temp', 'wind', 'yield', 'quality']" in text
    assert "Job stats" not in text  # stopped before any job was planned
