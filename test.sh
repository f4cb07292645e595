#!/usr/bin/env bash
# Set up .venv on first use, check formatting, and run the test suite (unit + tiny workflow).
set -euo pipefail
cd "$(dirname "$0")"
source scripts/setup.sh
# The report test renders the HTML in headless Chromium when it is installed.
if ! command -v chromium > /dev/null && [ "$(id -u)" = 0 ] && command -v apt-get > /dev/null; then
  echo "test: installing Debian's chromium for the report render test"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } > /dev/null 2>&1 \
    || echo "test: chromium could not be installed; the render test will be skipped"
fi
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/snakefmt --check Snakefile workflow
exec .venv/bin/pytest "$@"
