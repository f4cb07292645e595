"""Train one job of the workflow (asp.jobs): a stage-0 job, a rounds job that continues from
the stage-0 states named as its ``start`` inputs, or a study's job that trains both stages.
Writes one set of files per cell."""

import numpy as np
import torch
from io_utils import (
    read_arrays,
    read_stage_state,
    read_tuned,
    start_logging,
    versions,
    write_parquet,
)

from asp.jobs import (
    StageState,
    job_replicates,
    run_both,
    run_rounds,
    run_stage0,
    with_tuned_values,
)

smk = snakemake  # noqa: F821
log = start_logging(smk.log[0])
torch.set_num_threads(smk.threads)
job = with_tuned_values(dict(smk.params.job), read_tuned(smk.input.tuned))
replicates = job_replicates(job, read_arrays(smk.input.data, job["replicates"]))
if "round_training" in job:  # both stages in one job (a study's job, asp.studies)
    results = run_both(job, replicates)
elif job["stage"] == "stage0":
    results = run_stage0(job, replicates)
else:
    starts = [StageState.from_dict(read_stage_state(p)) for p in smk.input.start]
    results = run_rounds(job, replicates, starts)
stamp = versions()
for i, result in enumerate(results):
    write_parquet(
        result.rows, smk.output.fits[i], {"job": job, "cell": result.cell, "versions": stamp}
    )
    np.savez_compressed(smk.output.curves[i], **result.curves)
    if result.state is not None and "state" in smk.output.keys():
        torch.save(result.state.to_dict(), smk.output.state[i])
log.info("%s: wrote %d cells", job["name"], len(results))
