import math
import os
import re
import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

# The asp package from src/, installed or not: for this file, and (PYTHONPATH) for the jobs'
# scripts, local or on a cluster (whose jobs read this file again).
SRC = str(Path(workflow.basedir) / "src")
sys.path.insert(0, SRC)
# Set, not required, so not an envvars directive.
os.environ.update(
    PYTHONPATH=os.pathsep.join([SRC, *filter(None, [os.environ.get("PYTHONPATH")])])
)

from asp.catalog import FIGURE_METHODS, TABLES as TABLE_SPECS, figures_for
from asp.config import ConfigError, check_config, method_lists
from asp.jobs import cell as job_cell, split_stages
from asp.methods import get_method

validate(config, workflow.source_path("../schemas/config.schema.yaml"))
try:
    check_config(config)
except ConfigError as err:
    raise WorkflowError(str(err)) from None

SIM = config["simulation"]
CASES = list(SIM["cases"])
REAL = list(config["case_studies"]["sets"])  # paper §4: air, student
DATASETS = CASES + REAL
SIZES = SIM["sizes"]
METRICS = config["metrics"]
FOCUS = config["focus_size"]
TRAINING = config["training"]
CONDA_ENV = workflow.source_path("../../environment.yml")
METHOD_LISTS = method_lists(config)


def uses_gpu():
    if config["device"] == "cuda":
        return True
    if config["device"] == "auto":
        import torch

        return torch.cuda.is_available()
    return False


GPU = 1 if uses_gpu() else 0
N_BLOCKS = math.ceil(config["replicates"] / config["replicate_block"])
BLOCKS = list(range(N_BLOCKS))


wildcard_constraints:
    dataset="|".join(DATASETS),
    n=r"\d+|all",
    metric="|".join(METRICS),
    block=r"\d+",


def block_replicates(block, total=None):
    """Replicates of one block of the evaluation replicates 0..total-1 (default: all)."""
    size = config["replicate_block"]
    total = config["replicates"] if total is None else total
    block = int(block)
    return list(range(block * size, min((block + 1) * size, total)))


TUNING = config["tuning"]
TUNED = config["hyperparameters"]["source"] == "tuned"


def tuned_path(dataset, metric):
    return f"results/tuned/{dataset}_{metric}.yaml"


def tuned_inputs(w):
    """The tuned values a training job depends on: one file per metric when training uses
    tuned values (new values for one metric rerun the jobs that train that metric)."""
    return [tuned_path(w.dataset, m) for m in METRICS] if TUNED else []


def fits(dataset, n, metric, method):
    return expand(
        "results/fits/{dataset}/N{n}/{metric}/{method}/block{block}.parquet",
        dataset=dataset,
        n=n,
        metric=metric,
        method=method,
        block=BLOCKS,
    )


# The budget study (config budget_study): its own fits under results/budget/E<epochs>/.
BUDGET = config["budget_study"]
BUDGETS = BUDGET["epochs"]
BUDGET_BLOCKS = list(range(math.ceil(BUDGET["replicates"] / config["replicate_block"])))
BUDGET_ROOT = "results/budget/E{epochs}/fits"
BUDGET_FIGURE = ["results/figures/fig_budget.png"] if BUDGETS else []

# The relatedness study (config relatedness): simulated data and fits of its own per rho, under
# results/relatedness/rho<rho>/, trained on the hyper-parameters of one metric.
REL = config["relatedness"]
RHOS = [f"{r:g}" for r in REL["rhos"]]  # wildcard values: 0, 0.5, 0.9, 1
REL_METRICS = [REL["metric"]]
REL_ROOT = "results/relatedness/rho{rho}/fits"
REL_FIGURE = ["results/figures/fig_relatedness.png"] if RHOS else []


def relatedness_fits(dataset, n, metric, method):
    return expand(
        "results/relatedness/rho{rho}/fits/{dataset}/N{n}/{metric}/{method}/block{block}.parquet",
        rho=RHOS,
        dataset=dataset,
        n=n,
        metric=metric,
        method=method,
        block=list(range(math.ceil(REL["replicates"] / config["replicate_block"]))),
    )


def budget_fits(dataset, n, metric, method):
    return expand(
        "results/budget/E{epochs}/fits/{dataset}/N{n}/{metric}/{method}/block{block}.parquet",
        epochs=BUDGETS,
        dataset=dataset,
        n=n,
        metric=metric,
        method=method,
        block=BUDGET_BLOCKS,
    )


# Per study of asp.catalog.STUDIES: its fit files, and the metrics its fits train on.
STUDY_FITS = {None: fits, "budget": budget_fits, "relatedness": relatedness_fits}
STUDY_METRICS = {"relatedness": REL_METRICS}
STUDY_ON = {"budget": bool(BUDGETS), "relatedness": bool(RHOS)}


# The tables and figures of this config (asp.catalog), and the fits each needs.
def table_datasets(spec):
    if spec.datasets == "simulation":
        return CASES
    return [spec.datasets] if spec.datasets in REAL else []


def table_sizes(spec):
    return {"every": SIZES, "focus": [FOCUS], "all": ["all"]}[spec.sizes]


def table_methods(spec):
    if isinstance(spec.methods, str):
        return METHOD_LISTS[spec.methods]
    return list(spec.methods)


def table_metrics(spec):
    if spec.study in STUDY_METRICS:
        return STUDY_METRICS[spec.study]
    return [spec.metric] if spec.metric else METRICS


TABLES = [
    spec
    for spec in TABLE_SPECS.values()
    if table_datasets(spec)
    and (spec.metric is None or spec.metric in METRICS)
    and (spec.study is None or STUDY_ON[spec.study])
]
FIGURES = figures_for(DATASETS)
# Figures draw the curves of one metric: MSE when the config has it.
FIGURE_METRIC = "mse" if "mse" in METRICS else METRICS[0]


def FIGURE_N(fig):
    return "all" if fig.dataset in REAL else FOCUS


def table_inputs(spec):
    """Fit files a table needs (an explicit list: a table rebuilds only from its own fits)."""
    files = STUDY_FITS[spec.study]
    return [
        f
        for d in table_datasets(spec)
        for n in table_sizes(spec)
        for metric in table_metrics(spec)
        for method in table_methods(spec)
        for f in files(d, n, metric, method)
    ]


# Training jobs, from the method registry (asp.methods). Each trains every metric of one
# (dataset, N, replicate block) as one batch: the stage-0 methods (from scratch), then the
# rounds methods (from the stage-0 fits they start from). Rounds methods needed only at
# focus_size (Table 7's penalty forms) train there only. A job's outputs are one file set per
# cell (metric, method), in the order of its "cells" param.
def needed_methods(at_every_size):
    """Methods some table or figure needs: at every N and in the case studies, or at
    focus_size only."""
    names = set()
    for spec in TABLES:
        if spec.study is None and (spec.sizes != "focus") == at_every_size:
            names.update(table_methods(spec))
    if at_every_size:
        names.update(FIGURE_METHODS)
    return names


# A matched-budget method trains in its twin's job, so with the methods needed at every N.
_EVERY = needed_methods(True)
_EVERY |= {m for m in needed_methods(False) if get_method(m).matches}
STAGE0_METHODS = split_stages(_EVERY | needed_methods(False))[0]
ROUNDS_EVERY = split_stages(_EVERY)[1]
ROUNDS_FOCUS = [
    m for m in split_stages(needed_methods(False))[1] if m not in ROUNDS_EVERY
]


def starts_of(methods):
    return list(dict.fromkeys(get_method(m).starts_from for m in methods))


def cells(methods, metrics=None):
    return [(metric, method) for metric in metrics or METRICS for method in methods]


def cell_files(methods, ext, root="results/fits", metrics=None):
    return [
        f"{root}/{{dataset}}/N{{n}}/{metric}/{method}/block{{block}}.{ext}"
        for metric, method in cells(methods, metrics)
    ]


def job_common(w, stage):
    """The slice of config every training job depends on."""
    budget, related = "epochs" in w.keys(), "rho" in w.keys()
    name = f"{stage} {w.dataset} N{w.n}" + (f" E{w.epochs}" if budget else "")
    name += f" rho{w.rho}" if related else ""
    total = BUDGET["replicates"] if budget else REL["replicates"] if related else None
    return {
        "stage": stage,
        "name": f"{name} block{w.block}",
        "dataset": w.dataset,
        "n": w.n if w.n == "all" else int(w.n),
        "replicates": block_replicates(w.block, total),
        "base_seed": config["base_seed"],
        "device": config["device"],
        "dtype": config["dtype"],
        "hidden": config["network"]["hidden"],
        # Real data: sigmoid output (paper eq. 4.2) on targets scaled to [0, 1].
        "output": "sigmoid" if w.dataset in REAL else "linear",
    }


STAGE0_TRAINING = {
    k: TRAINING[k] for k in ("batch_size", "max_epochs", "patience", "compile")
}
ROUNDS_TRAINING = {
    "batch_size": TRAINING["batch_size"],
    "max_epochs": TRAINING["round_max_epochs"],
    "patience": TRAINING["round_patience"],
    "compile": TRAINING["compile"],
}


def cell_params(dataset, metric, method):
    """A cell with the paper's values from config, or, when tuned, the names of those its
    script reads from the tuned input file of its metric (which ties the job to that file).
    """
    values = None if TUNED else config["hyperparameters"]["paper"][dataset][metric]
    return job_cell(metric, method, values)


def training_params(methods, stage, metrics=None):
    """A training job's params; in the budget study (an ``epochs`` wildcard) stage 0 trains
    with that many epochs at most, and the rows record the budget; in the relatedness study
    (a ``rho`` wildcard) one job trains both stages, and the rows record rho."""

    def params(w):
        job = job_common(w, stage)
        job["cells"] = [
            cell_params(w.dataset, mt, m) for mt, m in cells(methods, metrics)
        ]
        if stage.endswith("stage0"):
            job["training"] = STAGE0_TRAINING
        else:
            job["schedule"] = TRAINING["lambda_star_schedule"]
            job["training"] = ROUNDS_TRAINING
        if "rho" in w.keys():
            job["rho"] = float(w.rho)
            job["training"] = STAGE0_TRAINING
            job["round_training"] = ROUNDS_TRAINING
        if "epochs" in w.keys():
            job["budget"] = int(w.epochs)
            if stage.endswith("stage0"):
                job["training"] = STAGE0_TRAINING | {"max_epochs": int(w.epochs)}
        return job

    return params


# The budget study's methods: stage 0 (with those the rounds start from), then the rounds.
BUDGET_STAGE0, BUDGET_ROUNDS = split_stages(BUDGET["methods"]) if BUDGETS else ([], [])


def tune_params(w):
    """Everything a tune job depends on; the storage path is where an interrupted study resumes."""
    real = w.dataset in REAL
    first = TUNING["first_replicate"]
    job = {
        "dataset": w.dataset,
        "metric": w.metric,
        "n": "all" if real else TUNING["n"],
        "replicates": list(range(first, first + TUNING["replicates"])),
        "base_seed": config["base_seed"],
        "device": config["device"],
        "dtype": config["dtype"],
        "hidden": config["network"]["hidden"],
        "output": "sigmoid" if real else "linear",
        "paper": config["hyperparameters"]["paper"][w.dataset][w.metric],
        "stage0": STAGE0_TRAINING,
        "rounds": ROUNDS_TRAINING,
        "schedule": TRAINING["lambda_star_schedule"],
        "search": {
            k: TUNING[k]
            for k in ("seed", "trials", "trials_per_batch", "startup_trials", "factors")
        },
        "storage": f"results/tuned/studies/{w.dataset}_{w.metric}.sqlite3",
    }
    if not real:
        job["simulation"] = {
            "case": SIM["cases"][w.dataset],
            "n_inputs": SIM["n_inputs"],
            "n_tasks": SIM["n_tasks"],
        }
    return job


def tuned_table_inputs(spec):
    """The tuned values beside a hyper-parameter table (when training uses them)."""
    if not TUNED or not spec.tuned:
        return []
    return [tuned_path(d, m) for d in table_datasets(spec) for m in table_metrics(spec)]


# Optimisation histories of the studies behind the tuned values (the report's last figure).
TUNING_FIGURE = ["results/figures/tuning_history.png"] if TUNED else []


def raw_file(w):
    """The raw case-study file, from the first of case_studies.data_dirs that has it."""
    from asp.realdata import EXPECTED_SHA256, OBTAIN

    name = config["case_studies"]["sets"][w.dataset]["file"]
    for folder in config["case_studies"]["data_dirs"]:
        if Path(folder, name).exists():
            return str(Path(folder, name))
    raise WorkflowError(
        f"case study {w.dataset!r} needs {name}, found in none of "
        f"{config['case_studies']['data_dirs']}. Put it in data/raw/ "
        f"(expected sha256 {EXPECTED_SHA256.get(name, 'unknown')}); obtain it from "
        f"{OBTAIN.get(name, 'its original source')}. Or leave {w.dataset} out of "
        "case_studies.sets in the config."
    )


# The relatedness study's methods: the stage-0 ones (with those the rounds start from), then
# the rounds, all trained in one job per (case, rho, block).
REL_METHODS = sum(split_stages(REL["methods"]), []) if RHOS else []
