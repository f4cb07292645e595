import os
import re
import sys
from pathlib import Path

from snakemake.common.configfile import load_configfile
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

# The asp package from src/, installed or not: for this file, and (PYTHONPATH) for the jobs'
# scripts, local or on a cluster (whose jobs read this file again).
SRC = str(Path(workflow.basedir) / "src")
sys.path.insert(0, SRC)
# Set, not required, so not an envvars directive.
os.environ.update(
    PYTHONPATH=os.pathsep.join([SRC, *filter(None, [os.environ.get("PYTHONPATH")])])
)

from asp.config import ConfigError, check_config
from asp.config_merge import merged
from asp.planning import SIMULATE_PRIORITY, Plan, PlanError
from asp.realdata import DataFormatError, check_columns, header_of
from asp.studies import table_param

# Snakemake merged the --configfile files and --config over config.yaml; merged again one by
# one by asp.config_merge, where an empty mapping replaces too.
_overlays = [load_configfile(f) for f in workflow.overwrite_configfiles]
_base = load_configfile("config.yaml") if os.path.exists("config.yaml") else {}
config.update(merged(_base, *_overlays, dict(workflow.config_settings.config)))
validate(config, workflow.source_path("../schemas/config.schema.yaml"))
try:
    check_config(config)
except ConfigError as err:
    raise WorkflowError(str(err)) from None

# Every job, path and parameter of this config (asp.planning); the rules only wire them.
plan = Plan(config, os.path.exists)
for _note in plan.notes:
    print(f"Note: {_note}", file=sys.stderr)
for _missing in plan.missing:
    print(f"Not run: {plan.missing_message(_missing)}", file=sys.stderr)
for _missing in plan.cll_images.missing:
    print(
        f"Not run: {plan.cll_images.missing_message(_missing['dataset'])}",
        file=sys.stderr,
    )


def first_line(path):
    """The header line of a data file (the first MiB at most: a header, not the data)."""
    with open(path, "rb") as f:
        return f.readline(1 << 20)


# A column the config names but the file lacks stops here, not in the ingest job; a missing
# file is the plan's "not run" above.
for _name in plan.real:
    if _name not in plan.missing:
        _path = plan.raw_file(_name, os.path.exists)
        try:
            check_columns(
                _name,
                plan.entries[_name],
                header_of(first_line(_path), _path, _name),
                _path,
            )
        except DataFormatError as err:
            raise WorkflowError(f"config: {err}") from None
CONDA_ENV = workflow.source_path("../../environment.yml")


def uses_gpu():
    if config["device"] == "cuda":
        return True
    if config["device"] == "auto":
        import torch

        return torch.cuda.is_available()
    return False


GPU = 1 if uses_gpu() else 0


wildcard_constraints:
    dataset="|".join(plan.datasets),
    n=r"\d+|all",
    metric="|".join(plan.metrics),
    block=r"\d+",


def tuned_inputs(w):
    return plan.tuned_inputs(w.dataset)


def raw_file(w):
    try:
        return plan.raw_file(w.dataset, os.path.exists)
    except PlanError as err:
        raise WorkflowError(str(err)) from None


def image_inputs(w):
    """An overlay data set's source files, or the message saying which are missing."""
    try:
        return plan.cll_images.inputs(w.image_set)
    except ValueError as err:
        raise WorkflowError(str(err)) from None


def lenet_job_params(w):
    try:
        return plan.cll_images.job_params(w.image_set, w.lenet_job, config["base_seed"])
    except ValueError as err:
        raise WorkflowError(str(err)) from None


def image_runs(kind):
    """The image study's run (or curve) files; its table refuses when no data set can run."""

    def inputs(w):
        try:
            plan.cll_images.require_present()
        except ValueError as err:
            raise WorkflowError(str(err)) from None
        return (
            plan.cll_images.run_files()
            if kind == "runs"
            else plan.cll_images.curve_files()
        )

    return inputs
