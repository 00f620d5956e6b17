#!/usr/bin/env bash
# Sets up .venv if needed, then starts the app with the shipped default model: http://localhost:8501
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export TF_CPP_MIN_LOG_LEVEL=${TF_CPP_MIN_LOG_LEVEL:-2}
# glibc gives each thread that allocates its own heap arena (up to 8 per core) and keeps what they free; the server
# runs many threads (sessions, WebRTC, frame processing), and two arenas hold less memory (benchmarks/footprint.py).
export MALLOC_ARENA_MAX=${MALLOC_ARENA_MAX:-2}
exec .venv/bin/python -m streamlit run streamlit_app.py "$@"
