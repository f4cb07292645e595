# asp-repro: two multi-task learning papers' experiments rerun from config.yaml into
# reports/report.html, beside their numbers: every table and figure of "Adaptive Soft Parameter
# Sharing Method Based on Multi-task Deep Learning" (Wang et al. 2024), and the correlation
# learning layer paper's Figure 8 and Tables 1-2 (Xu et al. 2023).
from snakemake.utils import min_version

min_version("9.0")


# config.yaml is the configuration; every --configfile (and --config) merges over it: mappings
# key by key, lists and scalars replace, and an empty mapping replaces too (asp.pipeline.config_merge,
# applied in common.smk), so `simulation: {cases: {}}` says "no main run".
configfile: "config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/tune.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/tables.smk"
include: "workflow/rules/figures.smk"
include: "workflow/rules/steps.smk"
include: "workflow/rules/report.smk"


rule all:
    default_target: True
    input:
        "reports/report.html",
