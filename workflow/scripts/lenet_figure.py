"""Validation accuracy per epoch, per data set and model (asp.lenet_results.curves)."""

import pandas as pd
from io_utils import start_logging

from asp.lenet_results import LABELS
from asp.plots import lenet_curves

smk = snakemake  # noqa: F821
log = start_logging(smk.log[0])
data = pd.read_csv(smk.input.curves)
fig = lenet_curves(
    data,
    LABELS,
    "The CLL paper's image study: validation accuracy per epoch (mean over runs, per task)",
)
fig.savefig(smk.output[0], dpi=90)
log.info("%s from %d rows", smk.output[0], len(data))
