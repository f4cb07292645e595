"""Draw one declared figure from the soft and adaptive curves of its cell."""

import numpy as np
from io_utils import start_logging

from asp.analysis.plots import after_soft_minimum, pad_rows, soft_vs_adaptive

smk = snakemake  # noqa: F821
log = start_logging(smk.log[0])
soft_parts = [np.load(f) for f in smk.input.soft]
ad_parts = [np.load(f) for f in smk.input.adaptive]
soft_rows, ad_rows = [], []
for s, a in zip(soft_parts, ad_parts, strict=True):
    if not np.array_equal(s["replicates"], a["replicates"]):
        raise ValueError("soft and adaptive curve files cover different replicates")
    key = f"val_{smk.params.metric}"
    sc, ac = after_soft_minimum(s[key], s["best_epoch"], a[key])
    soft_rows += list(sc)
    ad_rows += list(ac)


fig = soft_vs_adaptive(pad_rows(soft_rows), pad_rows(ad_rows), smk.params.title)
fig.savefig(smk.output[0], dpi=110)
log.info("%s from %d replicates", smk.output[0], len(soft_rows))
