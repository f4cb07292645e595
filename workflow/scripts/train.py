"""Train one job of the workflow (asp.experiments.jobs): both stages of one block of replicates, at
each size (a study: each value) of the job in turn. Writes one set of files per cell: its fit rows
and its validation curves."""

import numpy as np
import torch
from io_utils import read_arrays, read_tuned, start_logging, versions, write_parquet

from asp.engine.progress import Progress
from asp.experiments.jobs import job_replicates, run_both, with_tuned_values

smk = snakemake  # noqa: F821
log = start_logging(smk.log[0])
torch.set_num_threads(smk.threads)
tuned = read_tuned(smk.input.tuned)
stamp = versions()
# A line at least every 30 s on the console and in the log: the size or value, the stage, the
# epoch and the time left, each size weighted by its rows.
parts = [
    (p["name"], (int(p["n"]) if str(p["n"]).isdigit() else 1) * len(p["cells"]))
    for p in smk.params.jobs
]
progress = Progress(smk.rule, parts)
done = 0  # outputs written: each job's cells follow the previous job's
for i, (params, data) in enumerate(zip(smk.params.jobs, smk.input.data, strict=True)):
    job = with_tuned_values(dict(params), tuned)
    replicates = job_replicates(job, read_arrays(data, job["replicates"]))
    with progress.part(i):
        results = run_both(job, replicates)
    for result in results:
        meta = {"job": job, "cell": result.cell, "versions": stamp}
        write_parquet(result.rows, smk.output.fits[done], meta)
        np.savez_compressed(smk.output.curves[done], **result.curves)
        done += 1
    log.info("%s: wrote %d cells", job["name"], len(results))
