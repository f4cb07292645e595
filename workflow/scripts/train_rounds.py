"""Run the adaptive rounds of one block of adaptive-family fits, every metric, as one batch,
continuing from the soft job's weights."""

import time

import numpy as np
import torch
from io_utils import (
    cell_slices,
    per_fit,
    prepare_job,
    save_curves,
    start_logging,
    write_fit_rows,
)

from asp.experiment import concat, epoch_share, rounds_rows, train_rounds
from asp.methods import HyperParams
from asp.training import TrainOutcome

smk = snakemake  # noqa: F821
log = start_logging(smk.log[0])
job, batch, settings = prepare_job(smk)
soft_by_metric = {}
for path in smk.input.soft:
    state = torch.load(path, map_location=batch.device, weights_only=False)
    if state.pop("replicates") != job["replicates"]:
        raise ValueError(f"{path}: holds other replicates than this job's {job['replicates']}")
    metric, seconds = state.pop("metric"), state.pop("seconds")
    soft_by_metric[metric] = (TrainOutcome.from_state(state, batch.device), seconds)
cells = job["cells"]
soft = concat([soft_by_metric[c["metric"]][0] for c in cells])
soft_seconds = np.concatenate([soft_by_metric[c["metric"]][1] for c in cells])
hps = [
    HyperParams(c["lambda"], c["lambda_star"], c["theta"], job["schedule"])
    for c in cells
    for _ in job["replicates"]
]
log.info("%s: %d fits from soft on %s; %s", job["name"], len(hps), batch.device, cells)
start = time.perf_counter()
out = train_rounds(batch, soft, per_fit(job, "method"), hps, settings, per_fit(job, "metric"))
seconds = time.perf_counter() - start
log.info(
    "done in %.1f s; t* median %s; %d diverged",
    seconds,
    float(out.t_star.float().median()),
    int(out.diverged.sum()),
)
fit_seconds = soft_seconds + epoch_share(seconds, out.epochs)
rows = rounds_rows(batch, soft, out, per_fit(job, "method"), fit_seconds)
for i, (cell, part) in enumerate(zip(cells, cell_slices(job), strict=True)):
    write_fit_rows(rows[part], job, cell, smk.output.fits[i], str(batch.device), seconds)
    save_curves(
        smk.output.curves[i],
        job["replicates"],
        cell["metric"],
        out.curves["val"][:, part],
        selected_epoch=out.selected_epoch[part],
        t_star=out.t_star[part],
    )
