"""Tune lambda, then lambda* and theta, of one (dataset, metric) with two Optuna studies.

The studies live in an SQLite file that is not a Snakemake output, so an interrupted job keeps
its finished trials and the rerun continues them (asp.experiments.tuning names each study by a hash
of everything that defines it except the trial budget).
"""

import time
from pathlib import Path

import optuna
import pandas as pd
import torch
import yaml
from io_utils import read_arrays, start_logging, versions

from asp.engine.progress import Progress
from asp.experiments.jobs import job_replicates
from asp.experiments.tuning import run_phase, study_name, tuned_values, tuner_for

smk = snakemake  # noqa: F821
log = start_logging(smk.log[0])
optuna.logging.set_verbosity(optuna.logging.WARNING)  # progress goes to our log instead
job = smk.params.job
torch.set_num_threads(smk.threads)
arrays = read_arrays(smk.input.data[0], job["replicates"]) if smk.input.data else None
reps = job_replicates(job, arrays)
tuner = tuner_for(job, reps)
Path(job["storage"]).parent.mkdir(parents=True, exist_ok=True)
storage = f"sqlite:///{job['storage']}"
log.info(
    "%s %s: %d tuning replicates %d..%d, storage %s",
    job["dataset"],
    job["metric"],
    len(reps),
    job["replicates"][0],
    job["replicates"][-1],
    job["storage"],
)


def phase(name: str, evaluate, extra: dict) -> tuple[dict, pd.DataFrame]:
    study = optuna.create_study(
        study_name=study_name(job, name, extra),
        storage=storage,
        direction="minimize",
        load_if_exists=True,
    )
    start = time.perf_counter()
    out = run_phase(study, job, name, evaluate, log.info)
    log.info("%s done in %.1f s", study.study_name, time.perf_counter() - start)
    return out


# A line at least every 30 s on the console and in the log: the phase, its trials, the epoch
# and the time left.
trials_of = job["search"]["trials"]
progress = Progress(
    f"tune {job['dataset']} {job['metric']}",
    [(p, max(1, trials_of[p])) for p in ("soft", "adaptive")],
)
with progress.part(0):
    soft, soft_trials = phase("soft", tuner.soft_objective, {})
lam = soft["best_params"]["lambda"]
with progress.part(1):
    adaptive, adaptive_trials = phase("adaptive", tuner.adaptive_objective(lam), {"lambda": lam})
trials = pd.concat([soft_trials, adaptive_trials], ignore_index=True)
trials.insert(0, "metric", job["metric"])
trials.insert(0, "dataset", job["dataset"])
values = tuned_values(job, soft, adaptive) | {"versions": versions()}
Path(smk.output.values).write_text(yaml.safe_dump(values, sort_keys=False))
trials.to_csv(smk.output.trials, index=False)
log.info("chosen %s (paper %s)", values["chosen"], values["paper"])
