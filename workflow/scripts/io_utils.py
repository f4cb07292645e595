"""File I/O shared by the workflow scripts (the asp package itself does none).

Importing this module also makes the repository's src/ importable, so the scripts run in any
environment that has the dependencies (a conda env per rule included), installed or not.
"""

from __future__ import annotations

import hashlib
import json
import logging
import platform
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

_SRC = Path(__file__).resolve().parents[2] / "src"
if str(_SRC) not in sys.path:
    sys.path.insert(0, str(_SRC))


def start_logging(log_path: str) -> logging.Logger:
    """Send stderr and the asp logger to the rule's log file."""
    Path(log_path).parent.mkdir(parents=True, exist_ok=True)
    stream = open(log_path, "w")  # noqa: SIM115 - lives as long as the job
    sys.stderr = stream
    logging.basicConfig(
        stream=stream, level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s"
    )
    return logging.getLogger("asp")


def config_hash(params: dict) -> str:
    """Short hash of a job's own config slice: rows carry it so results can be traced."""
    return hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:16]


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def versions() -> dict[str, str]:
    import scipy
    import torch

    return {
        "python": platform.python_version(),
        "torch": str(torch.__version__),  # a TorchVersion, not a str
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "pyarrow": pa.__version__,
        "scipy": scipy.__version__,
    }


def write_parquet(df: pd.DataFrame, path: str, meta: dict) -> None:
    """Parquet with ``meta`` (JSON) in the schema metadata under b"asp"."""
    table = pa.Table.from_pandas(df, preserve_index=False)
    table = table.replace_schema_metadata(
        {**(table.schema.metadata or {}), b"asp": json.dumps(meta, sort_keys=True).encode()}
    )
    pq.write_table(table, path)


def read_meta(path: str) -> dict:
    return json.loads(pq.read_schema(path).metadata[b"asp"])


def load_replicate_arrays(path: str, replicate: int) -> tuple[np.ndarray, np.ndarray]:
    """X and Y of one replicate from a simulate output; a case study has one data set for all."""
    if "replicate" not in pq.read_schema(path).names:
        df = pd.read_parquet(path)
    else:
        df = pd.read_parquet(path, filters=[("replicate", "==", replicate)])
    if df.empty:
        raise ValueError(f"{path}: no rows for replicate {replicate}")
    x = df[[c for c in df.columns if c.startswith("x")]].to_numpy()
    y = df[[c for c in df.columns if c.startswith("y")]].to_numpy()
    return x, y


def load_replicates(job: dict, data_path: str | None = None) -> tuple[list, object]:
    """Replicates ``job["replicates"]`` and the network architecture of one job.

    Read from ``data_path`` (a simulate or ingest output), or simulated from
    ``job["simulation"]`` when no file is given (the tuning replicates of a simulation case).
    """
    from asp.experiment import observed_replicate, simulated_replicate
    from asp.network import Architecture
    from asp.seeds import replicate_seeds
    from asp.simulation import SimulationCase

    reps = []
    if data_path is None:
        sim = job["simulation"]
        case = SimulationCase.from_config(job["dataset"], sim["case"])
        for r in job["replicates"]:
            reps.append(
                simulated_replicate(
                    case, job["n"], sim["n_inputs"], sim["n_tasks"], job["base_seed"], r
                )
            )
    else:
        for r in job["replicates"]:
            x, y = load_replicate_arrays(data_path, r)
            n = len(x) if job["n"] == "all" else job["n"]  # case studies: N = usable rows
            seeds = replicate_seeds(job["base_seed"], job["dataset"], n, r)
            reps.append(observed_replicate(x, y, seeds, r))
    data = reps[0].data
    n_in, n_out = data.x_train.shape[1], data.y_train.shape[1]
    return reps, Architecture(n_in, tuple(job["hidden"]), n_out, job["output"])


def device_and_dtype(job: dict):
    import torch

    from asp.experiment import resolve_device

    dtype = {"float32": torch.float32, "float64": torch.float64}[job["dtype"]]
    return resolve_device(job["device"]), dtype


def with_hyperparameters(job: dict, tuned) -> dict:
    """The job with the values its cells name in ``from_tuned_file`` read from the tuned input
    of their metric (the tune stage's outputs); cells on the paper's values stay as they are."""
    import yaml

    chosen = {}
    for path in [tuned] if isinstance(tuned, str) else list(tuned):
        with open(path) as f:
            values = yaml.safe_load(f)
        chosen[values["metric"]] = (path, values["chosen"])
    cells = []
    for cell in job["cells"]:
        keys = cell.get("from_tuned_file")
        if keys is not None:
            if cell["metric"] not in chosen:
                raise ValueError(f"{job['name']}: no tuned input for metric {cell['metric']}")
            path, values = chosen[cell["metric"]]
            missing = [k for k in keys if k not in values]
            if missing:
                raise ValueError(f"{path}: 'chosen' lacks {missing}")
            cell = {k: v for k, v in cell.items() if k != "from_tuned_file"}
            cell |= {k: float(values[k]) for k in keys}
        cells.append(cell)
    return {**job, "cells": cells}


def prepare_job(smk) -> tuple[dict, object, object]:
    """A training rule's job (tuned values filled in), its batch of fits (cell-major: the
    replicates of each (metric, method) cell in turn) and its training settings."""
    import torch

    from asp.experiment import Batch
    from asp.training import TrainSettings

    job = with_hyperparameters(dict(smk.params.job), smk.input.tuned)
    torch.set_num_threads(smk.threads)
    reps, arch = load_replicates(job, smk.input.data)
    device, dtype = device_and_dtype(job)
    fit_replicate = [r for _ in job["cells"] for r in range(len(reps))]
    batch = Batch(reps, fit_replicate, arch, device, dtype)
    settings = TrainSettings(**job["training"], log_every=50)
    return job, batch, settings


def per_fit(job: dict, key: str, default=None) -> list:
    """A cell value for every fit of the job's batch (cell-major)."""
    return [c.get(key, default) for c in job["cells"] for _ in job["replicates"]]


def cell_slices(job: dict) -> list[slice]:
    n = len(job["replicates"])
    return [slice(i * n, (i + 1) * n) for i in range(len(job["cells"]))]


def write_fit_rows(
    rows: list[dict], job: dict, cell: dict, path: str, device: str, job_seconds: float
) -> None:
    """One cell's rows, with the hyper-parameters it trained with (Tables 1, 2, 8, 10 read them
    from here), the job's config hash and wall time; the job itself in the file metadata."""
    df = pd.DataFrame(rows)
    for key in ("dataset", "n"):
        df.insert(0, key, job[key])
    df.insert(2, "metric", cell["metric"])
    for key in ("lambda", "lambda_star", "theta"):
        df[key] = float(cell.get(key, float("nan")))
    df["hyperparameters"] = cell["hyperparameters"]
    df["device"] = device
    df["config_hash"] = config_hash(job)
    df["job"] = job["name"]
    df["job_seconds"] = job_seconds
    write_parquet(df, path, {"job": job, "cell": cell, "versions": versions()})


def save_curves(path: str, replicates: list[int], metric: str, val: np.ndarray, **per_fit) -> None:
    """Validation curves ``val_<metric>`` (epochs x fits) and per-fit tensors (epochs of note)
    for the figures."""
    arrays = {k: v.cpu().numpy() for k, v in per_fit.items()}
    np.savez_compressed(path, replicates=np.asarray(replicates), **{f"val_{metric}": val}, **arrays)
