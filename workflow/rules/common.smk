import math
import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

# The asp package (for the raw-file facts in error messages), installed or not.
sys.path.insert(0, str(Path(workflow.basedir) / "src"))

validate(config, workflow.source_path("../schemas/config.schema.yaml"))

SIM = config["simulation"]
CASES = list(SIM["cases"])
REAL = list(config["case_studies"]["sets"])  # paper §4: air, student
DATASETS = CASES + REAL
SIZES = SIM["sizes"]
METRICS = config["metrics"]
METHODS = config["methods"]
PENALTY_METHODS = config["penalty_methods"]
FOCUS = config["focus_size"]
TRAINING = config["training"]
CONDA_ENV = workflow.source_path("../../environment.yml")


def config_error(key, why):
    raise ValueError(f"config: {key}: {why}")


if FOCUS not in SIZES:
    config_error("focus_size", f"{FOCUS} is not one of simulation.sizes {SIZES}")
for _case in DATASETS:
    for _metric in METRICS:
        if _metric not in config["hyperparameters"]["paper"].get(_case, {}):
            config_error(
                f"hyperparameters.paper.{_case}.{_metric}",
                "missing (lambda, lambda_star, theta)",
            )


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


def block_replicates(block):
    size = config["replicate_block"]
    block = int(block)
    return list(range(block * size, min((block + 1) * size, config["replicates"])))


TUNING = config["tuning"]
TUNED = config["hyperparameters"]["source"] == "tuned"
if TUNING["first_replicate"] < config["replicates"]:
    config_error(
        "tuning.first_replicate",
        f"{TUNING['first_replicate']} overlaps the evaluation replicates "
        f"0..{config['replicates'] - 1}; tuning replicates must be disjoint from them",
    )


def tuned_path(dataset, metric):
    return f"results/tuned/{dataset}_{metric}.yaml"


def tuned_inputs(w):
    """The tuned values a training job depends on: one file per metric when training uses
    tuned values (new values for one metric rerun the jobs that train that metric)."""
    return [tuned_path(w.dataset, m) for m in METRICS] if TUNED else []


def hyperparameters(dataset, metric, keys):
    """A cell's lambda, lambda*, theta: the paper's values from config, or, when tuned, the
    names of those its script reads from the tuned input file of its metric (which is what ties
    the job to that file)."""
    if TUNED:
        return {"hyperparameters": "tuned", "from_tuned_file": list(keys)}
    hp = config["hyperparameters"]["paper"][dataset][metric]
    return {"hyperparameters": "paper", **{k: hp[k] for k in keys}}


def fits(dataset, n, metric, method):
    return expand(
        "results/fits/{dataset}/N{n}/{metric}/{method}/block{block}.parquet",
        dataset=dataset,
        n=n,
        metric=metric,
        method=method,
        block=BLOCKS,
    )


# Each training job trains every metric of one (dataset, N, replicate block) as one batch:
# stage 0 (ffn and soft), the adaptive rounds, and Table 7's other penalty forms at focus_size.
# Its outputs are one file set per cell (metric, method), in the order of its "cells" param.
CASE_METHODS = config["case_studies"]["methods"] if REAL else []
STAGE0_METHODS = ["ffn", "soft"] if "ffn" in METHODS + CASE_METHODS else ["soft"]
PENALTY_FORMS = [m for m in PENALTY_METHODS if m != "adaptive"]


def cells(methods):
    return [(metric, method) for metric in METRICS for method in methods]


def cell_files(methods, ext):
    return [
        f"results/fits/{{dataset}}/N{{n}}/{metric}/{method}/block{{block}}.{ext}"
        for metric, method in cells(methods)
    ]


def job_common(w, stage):
    """The slice of config every training job depends on."""
    return {
        "stage": stage,
        "name": f"{stage} {w.dataset} N{w.n} block{w.block}",
        "dataset": w.dataset,
        "n": w.n if w.n == "all" else int(w.n),
        "replicates": block_replicates(w.block),
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


def stage0_params(w):
    job = job_common(w, "stage0")
    job["cells"] = [
        {"metric": metric, "method": method}
        | (
            {"hyperparameters": "none", "lambda": 0.0}
            if method == "ffn"
            else hyperparameters(w.dataset, metric, ["lambda"])
        )
        for metric, method in cells(STAGE0_METHODS)
    ]
    job["training"] = STAGE0_TRAINING
    return job


def rounds_params(methods, stage):
    def params(w):
        job = job_common(w, stage)
        job["cells"] = [
            {"metric": metric, "method": method}
            | hyperparameters(w.dataset, metric, ["lambda", "lambda_star", "theta"])
            for metric, method in cells(methods)
        ]
        job["schedule"] = TRAINING["lambda_star_schedule"]
        job["training"] = ROUNDS_TRAINING
        return job

    return params


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


TABLE_METRIC = {1: "mse", 2: "mae", 3: "mse", 4: "mae", 5: "mse", 6: "mae"}
CASE_STUDY_TABLES = {"air": (8, 9), "student": (10, 11)}  # hyper-parameters, results


HYPER_TABLES = {
    1: (CASES, ["mse"]),
    2: (CASES, ["mae"]),
    8: (["air"], METRICS),
    10: (["student"], METRICS),
}


def tuned_table_inputs(table):
    """The tuned values beside Tables 1, 2, 8 and 10 (when training uses them)."""
    if not TUNED or table not in HYPER_TABLES:
        return []
    datasets, metrics = HYPER_TABLES[table]
    return [tuned_path(d, m) for d in datasets for m in metrics]


def table_inputs(table):
    """Fit files each table needs (an explicit list: a table rebuilds only from its own fits)."""
    for dataset, (hyper, results) in CASE_STUDY_TABLES.items():
        if table == hyper:
            return [f for mt in METRICS for f in fits(dataset, "all", mt, "adaptive")]
        if table == results:
            methods = config["case_studies"]["methods"]
            return [
                f
                for mt in METRICS
                for m in methods
                for f in fits(dataset, "all", mt, m)
            ]
    metric = TABLE_METRIC.get(table)
    if table in (1, 2):
        return [f for c in CASES for n in SIZES for f in fits(c, n, metric, "adaptive")]
    if table in (3, 4):
        return [
            f
            for c in CASES
            for n in SIZES
            for m in METHODS
            for f in fits(c, n, metric, m)
        ]
    if table in (5, 6):
        return [
            f
            for c in CASES
            for m in ("soft", "adaptive")
            for f in fits(c, FOCUS, metric, m)
        ]
    return [
        f
        for c in CASES
        for mt in METRICS
        for m in PENALTY_METHODS
        for f in fits(c, FOCUS, mt, m)
    ]


# Tables 1-6 are each about one metric; a config without that metric has no such table.
TABLES = [k for k in range(1, 8) if TABLE_METRIC.get(k, METRICS[0]) in METRICS]
TABLES += [k for d in REAL for k in CASE_STUDY_TABLES[d]]
# Figures 3-5: the simulation cases at focus_size; 6-7: air and student.
FIGURES = {3 + i: (case, FOCUS) for i, case in enumerate(CASES)}
FIGURES.update(
    {
        6 + i: (d, "all")
        for i, d in enumerate(d for d in ("air", "student") if d in REAL)
    }
)
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
