#!/usr/bin/env bash
# Sets up .venv if needed, lints and type-checks, then runs the whole test suite. Set FER_DATA_DIR to include
# real-data tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/python -m ruff check .
.venv/bin/python -m mypy
export TF_CPP_MIN_LOG_LEVEL=${TF_CPP_MIN_LOG_LEVEL:-2}
exec .venv/bin/python -m pytest "$@"
