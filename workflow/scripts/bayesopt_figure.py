"""Best value found so far against evaluations, per pair and p (asp.bayesopt_results)."""

import pandas as pd
from io_utils import start_logging

from asp.bayesopt_results import LABELS
from asp.plots import bayesopt_curves

smk = snakemake  # noqa: F821
log = start_logging(smk.log[0])
data = pd.read_csv(smk.input.curves)
fig = bayesopt_curves(
    data,
    LABELS,
    "The CLL paper's Bayesian optimisation: best value found so far (mean over runs and both "
    "tasks, 25-75 % band)",
)
fig.savefig(smk.output[0], dpi=90)
log.info("%s from %d rows", smk.output[0], len(data))
