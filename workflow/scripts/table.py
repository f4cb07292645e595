"""Build one of Tables 1-7 (ours beside the paper's) and the verdicts on its claims."""

import pandas as pd
import yaml
from io_utils import start_logging

from asp import tables

smk = snakemake  # noqa: F821
log = start_logging(smk.log[0])
k = smk.params.table
fits = pd.concat([pd.read_parquet(f) for f in smk.input.fits], ignore_index=True)
paper = pd.read_csv(smk.input.paper)
metric = smk.params.metric  # Tables 1-6 are each about one metric; None for 7-11
metrics = sorted(fits["metric"].unique())
tuned = {}  # metric -> dataset -> the tune stage's summary (Tables 1, 2, 8, 10)
for path in smk.input.tuned:
    with open(path) as f:
        t = yaml.safe_load(f)
    tuned.setdefault(t["metric"], {})[t["dataset"]] = t
log.info("table %d from %d fit rows (%d diverged)", k, len(fits), int(fits["diverged"].sum()))

if k in (8, 10):
    table = pd.concat([tables.hyper_table(fits, paper, k, m, tuned.get(m)) for m in metrics])
    claims = pd.DataFrame(columns=["dataset", "n", "metric", "claim", "verdict"])
elif k in (9, 11):
    table = tables.case_study_table(fits, paper, k)
    claims = pd.concat(
        [
            tables.paired(fits, m, a, b)
            for m in metrics
            for a, b in (("adaptive", "soft"), ("soft", "ffn"))
        ]
    )
elif k in (1, 2):
    table = tables.hyper_table(fits, paper, k, metric, tuned.get(metric))
    claims = pd.DataFrame(columns=["dataset", "n", "metric", "claim", "verdict"])
elif k in (3, 4):
    table = tables.loss_table(fits, paper, k, metric)
    claims = pd.concat(
        [
            tables.paired(fits, metric, "adaptive", "soft"),
            tables.paired(fits, metric, "soft", "ffn"),
        ]
    )
elif k in (5, 6):
    table = tables.timing_table(fits, paper, k, metric)
    claims = tables.improvement_claims(table)
else:
    table = pd.concat([tables.loss_table(fits, paper, 7, m) for m in metrics])
    claims = pd.concat(
        [
            tables.paired(fits, m, "adaptive", other)
            for m in metrics
            for other in ("l2_only", "mean_only")
        ]
    )
table.to_csv(smk.output.table, index=False)
claims.to_csv(smk.output.claims, index=False)
log.info("wrote %s (%d rows) and %d claims", smk.output.table, len(table), len(claims))
