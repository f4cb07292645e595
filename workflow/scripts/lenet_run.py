"""Train every run of one LeNet model (or of ours, soft and adaptive sharing) on one overlay
data set (asp.lenet_training): test accuracy per run and task, and the validation curves."""

import time

import numpy as np
import pandas as pd
import torch
from io_utils import start_logging, versions, write_parquet

from asp.jobs import config_hash
from asp.lenet_results import run_rows
from asp.lenet_study import SHARING_JOB, run_seeds
from asp.lenet_training import ImageTraining, Sharing, train_runs
from asp.overlay_images import OverlaySplit
from asp.progress import Progress

smk = snakemake  # noqa: F821
log = start_logging(smk.log[0])
torch.set_num_threads(smk.threads)
p = dict(smk.params.job)
dataset, job = p["dataset"], p["job"]
with np.load(smk.input.data) as f:
    splits = {
        s: OverlaySplit(f[f"{s}_images"], f[f"{s}_labels"], f[f"{s}_sources"])
        for s in ("train", "val", "test")
    }
settings = ImageTraining(**p["training"])
dtype = getattr(torch, p["dtype"])
sharing = None
if job == SHARING_JOB:
    s = p["sharing"]
    adaptive = "lenet_adaptive" in p["models"]
    sharing = Sharing(
        s["lambda"], s["lambda_star"], s["theta"] if adaptive else None, s["round_epochs"]
    )
model = "single_lenet" if job == SHARING_JOB else job
start = time.perf_counter()
rows, curves = [], []
runs = list(range(p["runs"]))
size = p["runs_per_batch"]
chunks = [runs[lo : lo + size] for lo in range(0, len(runs), size)]
# A line at least every 30 s on the console and in the log: the runs, the epoch, the time left.
progress = Progress(
    f"lenet_run {dataset} {job}", [(f"runs {c[0]}-{c[-1]}", len(c)) for c in chunks]
)
for i, chunk in enumerate(chunks):
    label = f"{dataset} {job} runs {chunk[0]}-{chunk[-1]} of {len(runs)}"
    with progress.part(i):
        out = train_runs(
            model,
            run_seeds(p["base_seed"], chunk),
            splits,
            settings,
            dtype,
            progress=label,
            sharing=sharing,
            device=p["device"],
        )
    if job == SHARING_JOB:
        # soft: the rounds' round 0 where the rounds ran
        parts = {"lenet_soft": out.soft or out}
        if out.soft is not None:
            parts["lenet_adaptive"] = out
        parts = {m: parts[m] for m in p["models"]}
    else:
        parts = {job: out}
    for name, result in parts.items():
        r, c = run_rows(dataset, result, chunk[0], name)
        rows.append(r)
        curves.append(c)
seconds = time.perf_counter() - start
meta = {
    "dataset": dataset,
    "job": job,
    "config_hash": config_hash(p),
    "seconds": seconds,
    "versions": versions(),
}
write_parquet(pd.concat(rows, ignore_index=True), smk.output.rows, meta)
write_parquet(pd.concat(curves, ignore_index=True), smk.output.curves, meta)
log.info("%s %s: %d runs in %.0f s", dataset, job, len(runs), seconds)
