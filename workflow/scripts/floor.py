"""The floor of every replicate of one simulated data file (asp.data.floor), checked against it."""

import numpy as np
import pandas as pd
from io_utils import read_arrays, start_logging

from asp.data.floor import replicate_floor
from asp.data.simulation import case_from_config

smk = snakemake  # noqa: F821
log = start_logging(smk.log[0])
p = smk.params.floor["sim"]  # asp.pipeline.planning.Plan.floor_params
case = case_from_config(smk.wildcards.dataset, p["case"])
n = int(smk.wildcards.n)
arrays = read_arrays(smk.input.data, list(range(p["replicates"])))
rows = []
for r in range(p["replicates"]):
    _, y, floor = replicate_floor(case, n, p["n_inputs"], p["n_tasks"], p["base_seed"], r)
    if not np.array_equal(y, arrays[r][1]):
        raise ValueError(f"{smk.input.data}: replicate {r} is not the draw of its seeds")
    rows.append(
        {"dataset": case.name, "n": n, **smk.params.floor["label"], "replicate": r, **floor}
    )
frame = pd.DataFrame(rows)
frame.to_csv(smk.output[0], index=False)
log.info(
    "%s: mean floor MSE %.4g, MAE %.4g", smk.output[0], *frame[["floor_mse", "floor_mae"]].mean()
)
