#!/usr/bin/env bash
# .venv-bench: sees the product's .venv packages (through a .pth file) and adds the `fer` package for comparison.
# fer is installed with --no-deps (its own pins would pull in a second TensorFlow and PyTorch); it imports
# pkg_resources, hence setuptools<81. It is never a dependency of the product.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if [ ! -x .venv-bench/bin/python ]; then
  python3 -m venv .venv-bench
fi
product_site=$(.venv/bin/python -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
bench_site=$(.venv-bench/bin/python -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
echo "$product_site" > "$bench_site/product_venv.pth"
.venv-bench/bin/python -m pip install --quiet --no-deps fer==25.10.3
.venv-bench/bin/python -m pip install --quiet "setuptools<81"
