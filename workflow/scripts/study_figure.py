"""Draw a study's figure (asp.studies.declaration): from its table, or from its methods' validation
curves (the CLL paper's Figure 8)."""

import numpy as np
import pandas as pd
from io_utils import start_logging

from asp.analysis.plots import study_curves, study_lines
from asp.studies.registry import get_study, load_study_modules

smk = snakemake  # noqa: F821
log = start_logging(smk.log[0])
load_study_modules(smk.params.modules)  # a study of the config's own (study_modules)
table = pd.read_csv(smk.input.table)
study = get_study(smk.params.study)
if study.curves:
    p = smk.params.curves  # asp.pipeline.planning.results.ResultsPlan.study_curve_params
    parts: dict[tuple[float, str], list[np.ndarray]] = {}
    for path, label in zip(smk.input.curves, p["files"], strict=True):
        val = np.load(path)[f"val_{p['metric']}"]
        parts.setdefault((study.cast(label["value"]), label["method"]), []).append(val)
    curves = {key: np.concatenate(c, axis=1) for key, c in parts.items()}
    fig = study_curves(curves, p["steps_per_epoch"], study.variable, p["metric"], study.title)
else:
    fig = study_lines(table, study.variable, *study.axis, study.title)
fig.savefig(smk.output[0], dpi=100)
log.info("%s from %d rows", smk.output[0], len(table))
