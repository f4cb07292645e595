import hashlib
import json
import math

from snakemake.utils import validate


validate(config, workflow.source_path("../schemas/config.schema.yaml"))

SIM = config["simulation"]
CASES = list(SIM["cases"])
SIZES = SIM["sizes"]
METRICS = config["metrics"]
METHODS = config["methods"]
PENALTY_METHODS = config["penalty_methods"]
FOCUS = config["focus_size"]
TRAINING = config["training"]
ROUNDS_METHODS = {"adaptive", "l2_only", "mean_only"}  # methods continuing from soft


def config_error(key, why):
    raise ValueError(f"config: {key}: {why}")


if FOCUS not in SIZES:
    config_error("focus_size", f"{FOCUS} is not one of simulation.sizes {SIZES}")
for _case in CASES:
    for _metric in METRICS:
        if _metric not in config["hyperparameters"]["paper"].get(_case, {}):
            config_error(
                f"hyperparameters.paper.{_case}.{_metric}", "missing (lambda, lambda_star, theta)"
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
    dataset="|".join(CASES),
    n=r"\d+",
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
        "n": int(w.n),
        "metric": w.metric,
        "method": w.method,
        "replicates": block_replicates(w.block),
        "base_seed": config["base_seed"],
        "device": config["device"],
        "dtype": config["dtype"],
        "hidden": config["network"]["hidden"],
        "output": "linear",
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


def table_inputs(table):
    """Fit files each table needs (an explicit list: a table rebuilds only from its own fits)."""
    metric = TABLE_METRIC.get(table)
    if table in (1, 2):
        return [f for c in CASES for n in SIZES for f in fits(c, n, metric, "adaptive")]
    if table in (3, 4):
        return [f for c in CASES for n in SIZES for m in METHODS for f in fits(c, n, metric, m)]
    if table in (5, 6):
        return [f for c in CASES for m in ("soft", "adaptive") for f in fits(c, FOCUS, metric, m)]
    return [
        f for c in CASES for mt in METRICS for m in PENALTY_METHODS for f in fits(c, FOCUS, mt, m)
    ]


# Tables 1-6 are each about one metric; a config without that metric has no such table.
TABLES = [k for k in range(1, 8) if TABLE_METRIC.get(k, METRICS[0]) in METRICS]
FIGURES = {3 + i: case for i, case in enumerate(CASES)}
