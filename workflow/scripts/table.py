"""Build one declared table (asp.analysis.catalog, asp.studies.declaration) beside the paper's, and
the verdicts on its claims."""

import pandas as pd
import yaml
from io_utils import start_logging

from asp.analysis.tables import with_floor
from asp.studies.registry import as_study_rows, build_table, load_study_modules, table_spec

smk = snakemake  # noqa: F821
log = start_logging(smk.log[0])
load_study_modules(smk.params.modules)  # a study of the config's own (study_modules)
spec = table_spec(smk.params.table)
# a study's table at its neutral value reads main-run fits as its own (asp.studies.declaration)
reused = dict(smk.params.reused)
unknown = set(reused) - set(map(str, smk.input.fits))
if unknown:  # a path the plan and the inputs spell differently would go unlabelled
    raise ValueError(f"{spec.id}: reused fits not among the inputs: {sorted(unknown)[:3]}")
fits = pd.concat(
    [
        as_study_rows(pd.read_parquet(f), reused[f]) if f in reused else pd.read_parquet(f)
        for f in smk.input.fits
    ],
    ignore_index=True,
)
paper = pd.read_csv(smk.input.paper)
if smk.input.floor:  # simulated data: each replicate's floor (asp.data.floor)
    fits = with_floor(fits, pd.concat([pd.read_csv(f) for f in smk.input.floor]))
tuned = {}  # metric -> dataset -> the tune stage's summary (hyper-parameter tables)
for path in smk.input.tuned:
    with open(path) as f:
        t = yaml.safe_load(f)
    tuned.setdefault(t["metric"], {})[t["dataset"]] = t
log.info("%s from %d fit rows (%d diverged)", spec.id, len(fits), int(fits["diverged"].sum()))
table, claims = build_table(spec, fits, paper, list(smk.params.methods), tuned)
table.to_csv(smk.output.table, index=False)
claims.to_csv(smk.output.claims, index=False)
log.info("wrote %s (%d rows) and %d claims", smk.output.table, len(table), len(claims))
