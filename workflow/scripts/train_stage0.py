"""Train one block of ffn or soft fits (stage 0) as one batch."""

import time

import torch
from io_utils import prepare_job, save_curves, start_logging, write_fit_rows

from asp.experiment import stage0_rows, train_stage0

smk = snakemake  # noqa: F821
log = start_logging(smk.log[0])
job, batch, settings = prepare_job(smk)
n_fits = len(batch.fit_replicate)
log.info(
    "%s N=%s %s %s: %d fits on %s",
    job["dataset"],
    job["n"],
    job["metric"],
    job["method"],
    n_fits,
    batch.device,
)
start = time.perf_counter()
out = train_stage0(batch, [job["lambda"]] * n_fits, settings)
seconds = time.perf_counter() - start
log.info("done in %.1f s; %d diverged", seconds, int(out.diverged.sum()))
rows = stage0_rows(batch, out, [job["method"]] * n_fits, seconds / n_fits)
write_fit_rows(rows, job, smk.output.fits, str(batch.device), seconds)
state = out.state_dict()
state["seconds_per_fit"] = seconds / n_fits
state["replicates"] = job["replicates"]
torch.save(state, smk.output.state)
save_curves(
    smk.output.curves,
    job["replicates"],
    out.curves,
    best_epoch=out.best_epoch,
    epochs=out.epochs,
)
