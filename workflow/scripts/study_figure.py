"""Draw a study's figure (asp.studies) from its table."""

import pandas as pd
from io_utils import start_logging

from asp.plots import study_lines
from asp.studies import get_study

smk = snakemake  # noqa: F821
log = start_logging(smk.log[0])
table = pd.read_csv(smk.input.table)
study = get_study(smk.params.study)
study_lines(table, study.variable, *study.axis, study.title).savefig(smk.output[0], dpi=100)
log.info("%s from %d rows", smk.output[0], len(table))
