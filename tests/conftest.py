from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import torch

from asp.data.simulation import SimulationCase
from asp.engine.networks import Architecture
from asp.experiments.replicates import simulated_replicate

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
SCHEMA = ROOT / "workflow" / "schemas" / "config.schema.yaml"


def validated(name: str = "config.yaml", change=None) -> dict:
    """A shipped config (another than config.yaml: merged over it, as ``--configfile``), after
    ``change`` (a function of it), with the schema's defaults filled in: as the workflow sees
    it."""
    import yaml
    from snakemake.utils import validate

    from asp.pipeline.config_merge import merged

    cfg = yaml.safe_load((ROOT / "config.yaml").read_text())
    if name != "config.yaml":
        cfg = merged(cfg, yaml.safe_load((ROOT / name).read_text()))
    if change is not None:
        change(cfg)
    validate(cfg, str(SCHEMA))
    return cfg


CASE1 = {
    "x": {"dist": "uniform", "low": 0, "high": 8},
    "weights": {"dist": "uniform", "low": 0, "high": 8},
}
# Few, short epochs, eager: the small workflow runs of the workflow and Slurm tests.
SHORT_TRAINING = {
    "batch_size": 32,
    "max_epochs": 6,
    "patience": 3,
    "round_max_epochs": 3,
    "round_patience": 2,
    "compile": False,
}
CASE2 = {
    "x": {"dist": "normal", "mean": 0, "sd": 1},
    "weights": {"dist": "normal", "mean": 0, "sd": 1},
}


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)


@pytest.fixture
def case1() -> SimulationCase:
    return SimulationCase.from_config("case1", CASE1)


@pytest.fixture
def arch() -> Architecture:
    return Architecture(4, (4, 3), 2)


def replicates(case: SimulationCase, n: int, count: int, n_inputs: int = 4, n_tasks: int = 2):
    return [simulated_replicate(case, n, n_inputs, n_tasks, 7, r) for r in range(count)]


def training_keys(settings) -> dict:
    return {k: getattr(settings, k) for k in ("batch_size", "max_epochs", "patience", "compile")}


def fit_methods(reps, methods, hp, s0, rs, dtype="float64", schedule="constant"):
    """Rows of ``methods`` x replicates through the workflow's own entry point
    (asp.experiments.jobs)."""
    from asp.experiments.jobs import methods_job, run_both

    values = {"lambda": hp.lam, "lambda_star": hp.lam_star, "theta": hp.theta}
    keys = {"dtype": dtype, "schedule": schedule}
    job = methods_job(reps, methods, values, training_keys(s0), training_keys(rs), **keys)
    results = run_both(job, reps)
    return pd.concat([r.rows for r in results if r.cell["method"] in methods], ignore_index=True)


REPORT: list[str] = []


def report_line(line: str) -> None:
    """A line for the end of the test run's output (figures a test measured)."""
    REPORT.append(line)


def pytest_terminal_summary(terminalreporter) -> None:
    for line in REPORT:
        terminalreporter.write_line(line)
