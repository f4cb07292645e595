"""Tune lambda, then lambda* and theta, of one (dataset, metric) with two Optuna studies.

The studies live in an SQLite file that is not a Snakemake output, so an interrupted job keeps
its finished trials and the rerun continues them. A study's name carries a hash of everything
that defines it except the trial budget: other settings start a new study, a larger budget
continues the old one.
"""

import time
from pathlib import Path

import optuna
import pandas as pd
import torch
import yaml
from io_utils import config_hash, device_and_dtype, load_replicates, start_logging, versions

from asp.training import TrainSettings
from asp.tuning import PHASES, SearchSpace, StudyPlan, Tuner, completed, optimise

smk = snakemake  # noqa: F821
log = start_logging(smk.log[0])
optuna.logging.set_verbosity(optuna.logging.WARNING)  # progress goes to our log instead
job = smk.params.job
torch.set_num_threads(smk.threads)
search = job["search"]

reps, arch = load_replicates(job, smk.input.data[0] if smk.input.data else None)
device, dtype = device_and_dtype(job)
tuner = Tuner(
    reps,
    arch,
    TrainSettings(**job["stage0"], metric=job["metric"]),
    TrainSettings(**job["rounds"], metric=job["metric"]),
    device,
    dtype,
    job["schedule"],
)
Path(job["storage"]).parent.mkdir(parents=True, exist_ok=True)
storage = f"sqlite:///{job['storage']}"
identity = {k: v for k, v in job.items() if k != "search"}
identity["search"] = {k: v for k, v in search.items() if k != "trials"}
log.info(
    "%s %s: %d tuning replicates %d..%d on %s, storage %s",
    job["dataset"],
    job["metric"],
    len(reps),
    job["replicates"][0],
    job["replicates"][-1],
    device,
    job["storage"],
)


def run_phase(phase: str, evaluate, extra: dict) -> dict:
    """Run (or continue) one study; its summary for the output file."""
    name = f"{job['dataset']}_{job['metric']}_{phase}_{config_hash({**identity, **extra})}"
    study = optuna.create_study(
        study_name=name, storage=storage, direction="minimize", load_if_exists=True
    )
    space = SearchSpace.around(job["paper"], PHASES[phase], search["factors"])
    plan = StudyPlan(
        search["trials"][phase],
        search["trials_per_batch"],
        search["startup_trials"],
        search["seed"],
    )
    log.info("%s: ranges %s, %d trials stored", name, space.ranges, len(study.trials))
    start = time.perf_counter()
    optimise(study, space, plan, evaluate, log.info, first=job["paper"])
    log.info("%s done in %.1f s: best %s", name, time.perf_counter() - start, study.best_params)
    best = study.best_trial
    paper = [t for t in completed(study) if t.user_attrs.get("paper_values")]
    trials = study.trials_dataframe(attrs=("number", "value", "params", "user_attrs", "state"))
    trials.insert(0, "phase", phase)
    return {
        "study": name,
        "ranges": {k: [float(lo), float(hi)] for k, (lo, hi) in space.ranges.items()},
        "trials": len(completed(study)),
        "best_trial": best.number,
        "best_value": float(best.value),
        "best_params": {k: float(v) for k, v in best.params.items()},
        "best_attrs": {k: float(v) for k, v in best.user_attrs.items() if not isinstance(v, bool)},
        # The paper's values as trial 0 (lambda* and theta continue from the chosen lambda).
        "paper_values_value": float(paper[0].value) if paper else None,
        "_trials": trials,
    }


soft = run_phase("soft", tuner.soft_objective, {})
lam = soft["best_params"]["lambda"]
adaptive = run_phase("adaptive", tuner.adaptive_objective(lam), {"lambda": lam})
trials = pd.concat([soft.pop("_trials"), adaptive.pop("_trials")], ignore_index=True)
trials.insert(0, "metric", job["metric"])
trials.insert(0, "dataset", job["dataset"])

values = {
    "dataset": job["dataset"],
    "metric": job["metric"],
    "n": job["n"],
    "chosen": {
        "lambda": float(lam),
        "lambda_star": adaptive["best_params"]["lambda_star"],
        "theta": adaptive["best_params"]["theta"],
    },
    "paper": {k: float(v) for k, v in job["paper"].items()},
    "objective": f"mean validation {job['metric']} over the tuning replicates",
    "tuning_replicates": job["replicates"],
    "sampler": {
        "name": "TPE",
        "seed": search["seed"],
        "trials_per_batch": search["trials_per_batch"],
        "startup_trials": search["startup_trials"],
    },
    "studies": {"soft": soft, "adaptive": adaptive},
    "storage": job["storage"],
    "config_hash": config_hash(job),
    "versions": versions(),
}
Path(smk.output.values).write_text(yaml.safe_dump(values, sort_keys=False))
trials.to_csv(smk.output.trials, index=False)
log.info("chosen %s (paper %s)", values["chosen"], values["paper"])
