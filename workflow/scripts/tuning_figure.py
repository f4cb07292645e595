"""Draw the optimisation history of every tuning study into one figure."""

import pandas as pd
from io_utils import start_logging

from asp.analysis.plots import tuning_history

smk = snakemake  # noqa: F821
log = start_logging(smk.log[0])
trials = pd.concat([pd.read_csv(f) for f in smk.input.trials], ignore_index=True)
fig = tuning_history(trials)
fig.savefig(smk.output[0], dpi=100)
log.info(
    "%s: %d trials of %d studies",
    smk.output[0],
    len(trials),
    trials.groupby(["dataset", "metric", "phase"]).ngroups,
)
