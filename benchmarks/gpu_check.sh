#!/usr/bin/env bash
# The GPU path, measured on one GPU in under 8 minutes: the fused training step in microseconds
# per fit-step at 1,000, 10,000 and 100,000 fits, then the complete config.yaml with
# device: cuda in a copy of this checkout (its own results/), and its wall time.
#   bash benchmarks/gpu_check.sh            # from the repository root, after bash run.sh's set-up
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
PY=.venv/bin/python
if ! $PY -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)"; then
    echo "gpu_check: torch sees no CUDA device here (torch $($PY -c 'import torch; print(torch.__version__)'))." >&2
    echo "Install a CUDA build of torch (pip install torch, CUDA wheels) on a machine with a GPU." >&2
    exit 2
fi
$PY -c "import torch; print('gpu_check:', torch.cuda.get_device_name(0), 'torch', torch.__version__)"
PYTHONPATH=src $PY benchmarks/bench_engine.py --step-only 1000 10000 100000 --device cuda
# The complete run, in a copy so that the CPU results here stay as they are. The training jobs
# take the GPU one at a time (profiles/default: resources gpu=1); it stops after 7 minutes.
tmp=$(mktemp -d)
run="$tmp/asp-repro"
mkdir "$run"
git ls-files -z | xargs -0 cp --parents -t "$run"
ln -s "$PWD/.venv" "$run/.venv"
if [ -d data/raw ]; then cp -r data/raw "$run/data/"; fi  # case-study files, if any
if [ -d ../shared ]; then ln -s "$(cd ../shared && pwd)" "$tmp/shared"; fi
start=$(date +%s)
status=0
(cd "$run" && timeout 420 .venv/bin/snakemake --config device=cuda > "$run/gpu_run.log" 2>&1) || status=$?
wall=$(( $(date +%s) - start ))
if [ "$status" -eq 0 ]; then
    echo "gpu_check: complete config.yaml on the GPU in $((wall / 60)) min $((wall % 60)) s ($run)"
else
    echo "gpu_check: the complete run stopped after $((wall / 60)) min $((wall % 60)) s (exit $status); log: $run/gpu_run.log"
    tail -5 "$run/gpu_run.log"
fi
