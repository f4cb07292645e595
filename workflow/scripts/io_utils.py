"""File I/O shared by the workflow scripts (the asp package itself does none): logging to the
rule's log, parquet with metadata, checksums, the versions stamped into results, and readers of
the data and tuned-value files a job takes as inputs."""

from __future__ import annotations

import hashlib
import json
import logging
import platform
import sys
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import yaml


def start_logging(log_path: str) -> logging.Logger:
    """Send stderr and the asp logger to the rule's log file."""
    Path(log_path).parent.mkdir(parents=True, exist_ok=True)
    stream = open(log_path, "w")  # noqa: SIM115 - lives as long as the job
    sys.stderr = stream
    logging.basicConfig(
        stream=stream, level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s"
    )
    return logging.getLogger("asp")


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def versions() -> dict[str, str]:
    """The versions stamped into results (scipy's from its metadata: a training job does not
    import it)."""
    import torch

    return {
        "python": platform.python_version(),
        "torch": str(torch.__version__),  # a TorchVersion, not a str
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "pyarrow": pa.__version__,
        "scipy": metadata.version("scipy"),
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


def read_arrays(path: str, replicates: list[int]) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """X and Y of each replicate from a simulate output; a case study (an ingest output, no
    replicate column) has one data set for all replicates."""
    names = pq.read_schema(path).names
    df = pd.read_parquet(path)
    x_cols = [c for c in names if c.startswith("x")]
    y_cols = [c for c in names if c.startswith("y")]
    if "replicate" not in names:
        xy = (df[x_cols].to_numpy(), df[y_cols].to_numpy())
        return dict.fromkeys(replicates, xy)
    out = {}
    for r in replicates:
        part = df[df["replicate"] == r]
        if part.empty:
            raise ValueError(f"{path}: no rows for replicate {r}")
        out[r] = (part[x_cols].to_numpy(), part[y_cols].to_numpy())
    return out


def read_tuned(paths) -> list[tuple[str, dict]]:
    """(path, contents) of each tune-stage output."""
    return [(str(p), yaml.safe_load(Path(p).read_text())) for p in paths]
