# Sourced by run.sh and test.sh: create .venv and install asp-repro with its dependencies.
# Re-installs only when pyproject.toml or constraints.txt changed. Set ASP_PYTHON to choose
# the interpreter (Python >= 3.10) and ASP_NO_CONSTRAINTS=1 to let pip pick any torch >= 2.2
# (constraints.txt pins the CPU build used on the CI machines).
set -euo pipefail
python=${ASP_PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv with $($python --version)"
  "$python" -m venv .venv
fi
stamp=.venv/.asp-installed
want=$(cat pyproject.toml constraints.txt | sha256sum | cut -d' ' -f1)-${ASP_NO_CONSTRAINTS:-0}
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setup: installing asp-repro and its dependencies into .venv (a minute or two)"
  constraint=(-c constraints.txt)
  [ "${ASP_NO_CONSTRAINTS:-0}" = 1 ] && constraint=()
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet "${constraint[@]}" -e ".[workflow,bayesopt,dev]"
  echo "$want" > "$stamp"
fi
# The case-study data sets are not part of the repository: link them from ../shared/data.
if [ -d ../shared/data ]; then
  mkdir -p data/raw
  for f in ../shared/data/*.csv; do
    [ -e "data/raw/$(basename "$f")" ] || ln -s "$(cd "$(dirname "$f")" && pwd)/$(basename "$f")" data/raw/
  done
fi
