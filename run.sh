#!/usr/bin/env bash
# Reproduce the paper: set up .venv on first use, then run the whole workflow with config.yaml.
#   bash run.sh                      # everything -> reports/report.html
#   bash run.sh table3               # one target
#   bash run.sh --configfile config/tiny.yaml
set -euo pipefail
cd "$(dirname "$0")"
source scripts/setup.sh
exec .venv/bin/snakemake "$@"
