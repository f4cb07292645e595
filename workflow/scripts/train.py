"""Train one job of the workflow (asp.jobs): both stages of one block of replicates. Writes one
set of files per cell: its fit rows and its validation curves."""

import numpy as np
import torch
from io_utils import read_arrays, read_tuned, start_logging, versions, write_parquet

from asp.jobs import job_replicates, run_both, with_tuned_values

smk = snakemake  # noqa: F821
log = start_logging(smk.log[0])
torch.set_num_threads(smk.threads)
job = with_tuned_values(dict(smk.params.job), read_tuned(smk.input.tuned))
replicates = job_replicates(job, read_arrays(smk.input.data, job["replicates"]))
results = run_both(job, replicates)
stamp = versions()
for i, result in enumerate(results):
    write_parquet(
        result.rows, smk.output.fits[i], {"job": job, "cell": result.cell, "versions": stamp}
    )
    np.savez_compressed(smk.output.curves[i], **result.curves)
log.info("%s: wrote %d cells", job["name"], len(results))
