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
    metric="mse|mae",
    method="ffn|soft|adaptive|l2_only|mean_only",
    block=r"\d+",


def block_replicates(block):
    size = config["replicate_block"]
    block = int(block)
    return list(range(block * size, min((block + 1) * size, config["replicates"])))


def hyperparameters(dataset, metric):
    return config["hyperparameters"]["paper"][dataset][metric]


def fits(dataset, n, metric, method):
    return expand(
        "results/fits/{dataset}/N{n}/{metric}/{method}/block{block}.parquet",
        dataset=dataset,
        n=n,
        metric=metric,
        method=method,
        block=BLOCKS,
    )


def job_common(w):
    """The slice of config every training job depends on."""
    return {
        "dataset": w.dataset,
        "n": w.n if w.n == "all" else int(w.n),
        "metric": w.metric,
        "method": w.method,
        "replicates": block_replicates(w.block),
        "base_seed": config["base_seed"],
        "device": config["device"],
        "dtype": config["dtype"],
        "hidden": config["network"]["hidden"],
        # Real data: sigmoid output (paper eq. 4.2) on targets scaled to [0, 1].
        "output": "sigmoid" if w.dataset in REAL else "linear",
    }


def stage0_params(w):
    hp = hyperparameters(w.dataset, w.metric)
    job = job_common(w)
    job["lambda"] = hp["lambda"] if w.method != "ffn" else 0.0
    job["training"] = {k: TRAINING[k] for k in ("batch_size", "max_epochs", "patience")}
    return job


def rounds_params(w):
    hp = hyperparameters(w.dataset, w.metric)
    job = job_common(w)
    job.update(
        {
            "lambda": hp["lambda"],
            "lambda_star": hp["lambda_star"],
            "theta": hp["theta"],
            "schedule": TRAINING["lambda_star_schedule"],
        }
    )
    job["training"] = {
        "batch_size": TRAINING["batch_size"],
        "max_epochs": TRAINING["round_max_epochs"],
        "patience": TRAINING["round_patience"],
    }
    return job


TABLE_METRIC = {1: "mse", 2: "mae", 3: "mse", 4: "mae", 5: "mse", 6: "mae"}
CASE_STUDY_TABLES = {"air": (8, 9), "student": (10, 11)}  # hyper-parameters, results


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
