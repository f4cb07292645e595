"""Run one step of a study with steps of its own (asp.studies.steps): read its inputs by extension,
call its function, write what it returns by extension, stamped with the step, its config hash, its
seconds and the versions."""

import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from io_utils import start_logging, versions, write_parquet

from asp.experiments.jobs import config_hash
from asp.studies.registry import load_study_modules
from asp.studies.steps import StepCall, resolve

smk = snakemake  # noqa: F821
log = start_logging(smk.log[0])
torch.set_num_threads(smk.threads)


def read(path: str):
    """A table as a DataFrame, arrays as a dict, any other file as its bytes."""
    if path.endswith(".parquet"):
        return pd.read_parquet(path)
    if path.endswith(".csv"):
        try:
            return pd.read_csv(path)
        except pd.errors.EmptyDataError:  # a claims file with no claim holds no columns
            return pd.DataFrame()
    if path.endswith(".npz"):
        with np.load(path) as f:
            return dict(f)
    return Path(path).read_bytes()


def write(value, path: str, meta: dict) -> None:
    if path.endswith(".parquet"):
        write_parquet(value, path, meta)
    elif path.endswith(".csv"):
        value.to_csv(path, index=False)
    elif path.endswith(".npz"):
        np.savez_compressed(path, **value)
    elif path.endswith(".png"):
        value.savefig(path, dpi=90)
    else:
        raise ValueError(f"{smk.rule}: no writer for {path} (parquet, csv, npz or png)")


def each(value, paths) -> list[tuple]:
    """(value, path) of an output: one file, or a list of files and a list of values."""
    if isinstance(paths, str):
        return [(value, paths)]
    if len(value) != len(paths):
        raise ValueError(f"{smk.rule}: {len(value)} values for {len(paths)} files")
    return list(zip(value, paths, strict=True))


load_study_modules(smk.params.modules)
paths = {k: (v if isinstance(v, str) else list(v)) for k, v in smk.input.items()}
inputs = {k: read(v) if isinstance(v, str) else [read(p) for p in v] for k, v in paths.items()}
params = dict(smk.params.args)
call = StepCall(inputs, paths, params, dict(smk.wildcards.items()), smk.threads)
start = time.perf_counter()
try:
    outputs = resolve(smk.params.run)(call)
except ValueError as err:  # bad input (a checksum, a file's format): the message on the console
    log.exception("%s", err)  # and the traceback in the log
    raise SystemExit(f"{smk.rule}: {err}") from None
meta = {
    "step": smk.rule,
    "wildcards": call.wildcards,
    "config_hash": config_hash(params),
    "seconds": time.perf_counter() - start,
    "versions": versions(),
}
for name, files in smk.output.items():
    if name not in outputs:
        raise SystemExit(f"{smk.rule}: {smk.params.run} returned no {name!r}")
    for value, path in each(outputs[name], files):
        write(value, path, meta)
log.info("%s: %s in %.0f s", smk.rule, ", ".join(outputs), meta["seconds"])
