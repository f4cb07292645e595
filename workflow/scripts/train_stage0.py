"""Train one block of ffn and soft fits (stage 0), every metric, as one batch."""

import time

import torch
from io_utils import (
    cell_slices,
    per_fit,
    prepare_job,
    save_curves,
    start_logging,
    write_fit_rows,
)

from asp.experiment import epoch_share, select, stage0_rows, train_stage0

smk = snakemake  # noqa: F821
log = start_logging(smk.log[0])
job, batch, settings = prepare_job(smk)
log.info("%s: %d fits on %s", job["name"], len(batch.fit_replicate), batch.device)
start = time.perf_counter()
out = train_stage0(batch, per_fit(job, "lambda"), settings, per_fit(job, "metric"))
seconds = time.perf_counter() - start
log.info("done in %.1f s; %d diverged", seconds, int(out.diverged.sum()))
fit_seconds = epoch_share(seconds, out.epochs)
rows = stage0_rows(batch, out, per_fit(job, "method"), fit_seconds)
for i, (cell, part) in enumerate(zip(job["cells"], cell_slices(job), strict=True)):
    write_fit_rows(rows[part], job, cell, smk.output.fits[i], str(batch.device), seconds)
    mine = select(out, list(range(part.start, part.stop)))
    state = mine.state_dict() | {
        "seconds": fit_seconds[part],
        "replicates": job["replicates"],
        "metric": cell["metric"],
    }
    torch.save(state, smk.output.state[i])
    save_curves(
        smk.output.curves[i],
        job["replicates"],
        cell["metric"],
        mine.curves["val"],
        best_epoch=mine.best_epoch,
        epochs=mine.epochs,
    )
