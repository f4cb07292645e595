"""Run the adaptive rounds of one block of adaptive-family fits from the soft job's weights."""

import time

import torch
from io_utils import prepare_job, save_curves, start_logging, write_fit_rows

from asp.experiment import rounds_rows, train_rounds
from asp.methods import HyperParams
from asp.training import TrainOutcome

smk = snakemake  # noqa: F821
log = start_logging(smk.log[0])
job, batch, settings = prepare_job(smk)
state = torch.load(smk.input.soft, map_location=batch.device, weights_only=False)
if state.pop("replicates") != job["replicates"]:
    raise ValueError(
        f"{smk.input.soft}: holds other replicates than this job's {job['replicates']}"
    )
soft_seconds = state.pop("seconds_per_fit")
soft = TrainOutcome.from_state(state, batch.device)
hp = HyperParams(job["lambda"], job["lambda_star"], job["theta"], job["schedule"])
n_fits = len(batch.fit_replicate)
log.info(
    "%s N=%s %s %s: %d fits from soft, %s",
    job["dataset"],
    job["n"],
    job["metric"],
    job["method"],
    n_fits,
    hp,
)
start = time.perf_counter()
out = train_rounds(batch, soft, [job["method"]] * n_fits, hp, settings)
seconds = time.perf_counter() - start
log.info(
    "done in %.1f s; t* median %s; %d diverged",
    seconds,
    float(out.t_star.float().median()),
    int(out.diverged.sum()),
)
rows = rounds_rows(batch, soft, out, [job["method"]] * n_fits, soft_seconds + seconds / n_fits)
write_fit_rows(rows, job, smk.output.fits, str(batch.device), seconds)
save_curves(
    smk.output.curves,
    job["replicates"],
    out.curves,
    selected_epoch=out.selected_epoch,
    t_star=out.t_star,
)
