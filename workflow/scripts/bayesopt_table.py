"""The CLL paper's Table 2 beside ours, its claims and the best-so-far curves."""

import pandas as pd
from io_utils import start_logging

from asp.bayesopt_results import claims, curves, table2

smk = snakemake  # noqa: F821
log = start_logging(smk.log[0])
rows = pd.concat([pd.read_parquet(f) for f in smk.input.runs], ignore_index=True)
paper = pd.read_csv(smk.input.paper)
table = table2(rows, paper, list(smk.params.surrogates))
table.to_csv(smk.output.table, index=False)
verdicts = claims(rows)
verdicts.to_csv(smk.output.claims, index=False)
curves(rows).to_csv(smk.output.curves, index=False)
log.info("Table 2 (CLL paper): %d rows, %d claim cells", len(table), len(verdicts))
