#!/usr/bin/env bash
# Runs the benchmark: installs pyarrow and the Python fastflight package into a local
# venv (bench/.venv), builds in release mode, and runs fastflight-bench with its arguments.
#   bash bench/run.sh [--quick] [--json bench.json] [--plot bench.svg]
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x bench/.venv/bin/python ]; then
  python3 -m venv bench/.venv
  bench/.venv/bin/python -m pip install --quiet --disable-pip-version-check pyarrow fastflight
fi
cargo build --release -p fastflight-bench
FASTFLIGHT_BENCH_PYTHON=bench/.venv/bin/python exec target/release/fastflight-bench "$@"
