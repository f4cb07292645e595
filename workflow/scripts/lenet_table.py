"""The CLL paper's Table 1 beside ours, its claims and the validation curves (asp.lenet_results)."""

import pandas as pd
from io_utils import start_logging

from asp.lenet_results import claims, curves, table1

smk = snakemake  # noqa: F821
log = start_logging(smk.log[0])
rows = pd.concat([pd.read_parquet(f) for f in smk.input.runs], ignore_index=True)
table = table1(rows, pd.read_csv(smk.input.paper), list(smk.params.models))
table.to_csv(smk.output.table, index=False)
verdicts = claims(rows)
verdicts.to_csv(smk.output.claims, index=False)
mean_curves = curves(pd.concat([pd.read_parquet(f) for f in smk.input.curves], ignore_index=True))
mean_curves.to_csv(smk.output.curves, index=False)
log.info("Table 1 (CLL paper): %d rows, %d claim cells", len(table), len(verdicts))
