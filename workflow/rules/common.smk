import functools
import os
import sys
from pathlib import Path

from snakemake.common.configfile import load_configfile
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

# The asp package from src/, installed or not: for this file, and (PYTHONPATH) for the jobs'
# scripts, local or on a cluster (whose jobs read this file again). Set, not required, so not
# an envvars directive.
SRC = str(Path(workflow.basedir) / "src")
sys.path.insert(0, SRC)
os.environ.update(
    PYTHONPATH=os.pathsep.join([SRC, *filter(None, [os.environ.get("PYTHONPATH")])])
)

from asp.studies.registry import load_study_modules
from asp.pipeline.config import ConfigError, check_config
from asp.pipeline.config_merge import merged
from asp.pipeline.planning import SIMULATE_PRIORITY, Plan
from asp.studies.registry import table_param

# Snakemake merged the --configfile files and --config over config.yaml; merged again one by
# one by asp.pipeline.config_merge, where an empty mapping replaces too.
_overlays = [load_configfile(f) for f in workflow.overwrite_configfiles]
_base = load_configfile("config.yaml") if os.path.exists("config.yaml") else {}
config.update(merged(_base, *_overlays, dict(workflow.config_settings.config)))
validate(config, workflow.source_path("../schemas/config.schema.yaml"))


def refusing(function):
    """``function`` with its ValueError (a plan's refusal, naming the file or key) as
    Snakemake's error, without a traceback (its signature kept: Snakemake reads it)."""

    @functools.wraps(function)
    def call(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except ValueError as err:
            raise WorkflowError(str(err)) from None

    return call


# Every job, path and parameter of this config (asp.pipeline.planning); the rules only wire them.
refusing(load_study_modules)(config["study_modules"])
refusing(check_config)(config)
plan = Plan(config, os.path.exists)
for _note in plan.notes:
    print(f"Note: {_note}", file=sys.stderr)
for _missing in plan.not_run:
    print(f"Not run: {_missing.message}", file=sys.stderr)


def first_line(path):
    """The header line of a data file (the first MiB at most: a header, not the data)."""
    with open(path, "rb") as f:
        return f.readline(1 << 20)


# A column the config names but a case study's file lacks stops here, not in its ingest job.
refusing(plan.data.check_headers)(first_line)
CONDA_ENV = workflow.source_path("../../environment.yml")
GPU = 1 if plan.uses_gpu else 0


wildcard_constraints:
    dataset="|".join(plan.data.datasets),
    n=r"\d+|all",
    metric="|".join(plan.results.metrics),
    block=r"\d+",


tuned_inputs = lambda w: plan.tuning.tuned_inputs(w.dataset)
raw_file = refusing(lambda w: plan.data.raw_file(w.dataset, os.path.exists))
