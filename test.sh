#!/usr/bin/env bash
# Set up .venv on first use, check formatting, and run the test suite (unit + tiny workflow).
set -euo pipefail
cd "$(dirname "$0")"
source scripts/setup.sh
# Optional system packages, installed when we are root on Debian: Chromium renders the report
# (tests/test_workflow.py), a single-node Slurm cluster runs the workflow through the SLURM
# profile (tests/test_slurm.py), Fashion-MNIST's idx files are checked against their sha256
# (tests/test_overlay_images.py). Without them those tests say they are skipped.
want=()
command -v chromium > /dev/null || want+=(chromium)
command -v slurmctld > /dev/null || want+=(slurmctld slurmd slurm-client munge)
[ -d /usr/share/datasets/fashion-mnist ] || want+=(dataset-fashion-mnist)
if [ ${#want[@]} -gt 0 ] && [ "$(id -u)" = 0 ] && command -v apt-get > /dev/null; then
  echo "test: installing Debian's ${want[*]} for the report render, Slurm and image-data tests"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${want[@]}"; } \
    > /dev/null 2>&1 || echo "test: ${want[*]} could not be installed; those tests will be skipped"
fi
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/snakefmt --check Snakefile workflow
exec .venv/bin/pytest "$@"
