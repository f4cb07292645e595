"""Draw a study's figure (the budget or the relatedness study) from its table."""

import pandas as pd
from io_utils import start_logging

from asp.plots import study_lines

smk = snakemake  # noqa: F821
log = start_logging(smk.log[0])
table = pd.read_csv(smk.input.table)
study_lines(table, smk.params.study).savefig(smk.output[0], dpi=100)
log.info("%s from %d rows", smk.output[0], len(table))
