"""Where a training job's start-up goes: each part timed in fresh processes, as a job pays it.

A training job is a new Python process that Snakemake starts with its script preamble; the
script imports torch and the package, reads its data, and traces and loads its compiled steps
before its first epoch. Each line below is one fresh process that goes one part further than
the line above, so the difference between two lines is the cost of that part. The last line
runs a whole job of the focus_size kind (case 1, N = 2000, 4 replicates, every method of
Table 5-7, both metrics) with one epoch per stage: everything a job does but train. The
compiled steps come from Inductor's on-disk cache (a first run fills it and is not timed).

    python benchmarks/startup.py [--repeat 3]

Prints a Markdown table: part, seconds (median of the repeats), and what it adds.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = ROOT / "workflow" / "scripts"

# What Snakemake's script directive runs before a script (snakemake.script.PythonScript).
PREAMBLE = (
    "import sys, pickle\n"
    "from snakemake.logging import logger\n"
    "from snakemake.iocontainers import Snakemake\n"
)
TRAIN_IMPORTS = (
    "import numpy as np, torch\n"
    "from io_utils import read_arrays, read_tuned, start_logging, versions, write_parquet\n"
    "from asp.experiments.jobs import job_replicates, run_both, with_tuned_values\n"
)
JOB = """
from asp.experiments.jobs import methods_job
from asp.data.simulation import SimulationCase
from asp.experiments.replicates import simulated_replicate
import yaml
cfg = yaml.safe_load(open(r"{config}"))
case = SimulationCase.from_config("case1", cfg["simulation"]["cases"]["case1"])
reps = [simulated_replicate(case, 2000, 4, 2, cfg["base_seed"], r) for r in range(4)]
paper = cfg["hyperparameters"]["paper"]["case1"]
one = {{"batch_size": 32, "max_epochs": 1, "patience": 1, "compile": True}}
methods = ["ffn", "soft", "adaptive", "soft_extended", "l2_only", "mean_only"]
jobs = [methods_job(reps, methods, paper[m], one, one, metric=m) for m in ("mse", "mae")]
run_both(jobs[0] | {{"cells": jobs[0]["cells"] + jobs[1]["cells"]}}, reps)
"""

PARTS = [
    ("interpreter", "pass\n"),
    ("Snakemake's script preamble", PREAMBLE),
    ("import torch", PREAMBLE + "import torch\n"),
    ("the training script's imports (pandas, pyarrow, asp)", PREAMBLE + TRAIN_IMPORTS),
    (
        "TorchInductor's compiler, imported",
        PREAMBLE + TRAIN_IMPORTS + "import torch._inductor.compile_fx\n",
    ),
    (
        "a job with one epoch per stage (data, traces, compiled steps from the cache)",
        PREAMBLE + TRAIN_IMPORTS + JOB.format(config=ROOT / "config.yaml"),
    ),
]


def seconds(code: str) -> float:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(SCRIPTS)])}
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, cwd=SCRIPTS, env=env)
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    seconds(PARTS[-1][1])  # fills Inductor's cache for the job's shapes (not timed)
    print("| part | seconds | adds |")
    print("|:--|--:|--:|")
    before = 0.0
    for name, code in PARTS:
        s = statistics.median(seconds(code) for _ in range(args.repeat))
        print(f"| {name} | {s:.2f} | {s - before:+.2f} |", flush=True)
        before = s


if __name__ == "__main__":
    main()
