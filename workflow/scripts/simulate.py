"""Simulate all replicates of one (case, N) and write them with a checksum."""

import pandas as pd
from io_utils import sha256_file, start_logging, write_parquet

from asp.data.simulation import case_from_config, simulated_arrays

smk = snakemake  # noqa: F821
log = start_logging(smk.log[0])
p = smk.params.sim  # asp.pipeline.planning.Plan.simulate_params
case = case_from_config(smk.wildcards.dataset, p["case"])
n = int(smk.wildcards.n)
frames = []
for r in range(p["replicates"]):
    x, y = simulated_arrays(case, n, p["n_inputs"], p["n_tasks"], p["base_seed"], r)
    frame = pd.DataFrame(x, columns=[f"x{i}" for i in range(x.shape[1])])
    frame[[f"y{j}" for j in range(y.shape[1])]] = y
    frame.insert(0, "replicate", r)
    frames.append(frame)
write_parquet(
    pd.concat(frames), smk.output.data, {"case": case.name, "n": n, "base_seed": p["base_seed"]}
)
digest = sha256_file(smk.output.data)
with open(smk.output.checksum, "w") as f:
    f.write(f"{digest}  {smk.output.data}\n")
log.info("%s N=%d: %d replicates, sha256 %s", case.name, n, p["replicates"], digest)
