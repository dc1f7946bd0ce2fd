#!/usr/bin/env bash
# Runs the benchmark: installs pyarrow and the Python fastflight package into a local
# venv (bench/.venv), builds in release mode, and runs fastflight-bench with its arguments.
#   bash bench/run.sh [--quick] [--json bench.json] [--plot bench.svg]
#   bash bench/run.sh --postgres [--quick] [--json pg.json]   (the PostgreSQL readers too)
#   bash bench/run.sh rows [--quick] [--json rows.json]       (typed rows alone; the full run has them too)
#   bash bench/sql.sh                                         (SQL by ADBC and pyarrow beside the JSON ticket, alone)
set -euo pipefail
cd "$(dirname "$0")/.."
pip() { bench/.venv/bin/python -m pip install --quiet --disable-pip-version-check "$@"; }
if [ ! -x bench/.venv/bin/python ]; then
  python3 -m venv bench/.venv
  pip pyarrow fastflight
fi
# The Python package's gateway runs on FastAPI and uvicorn.
if ! bench/.venv/bin/python -c "import fastapi, uvicorn" 2>/dev/null; then
  pip fastapi uvicorn
fi
# ADBC's Flight SQL driver reads the payload by SQL beside pyarrow's JSON ticket.
if ! bench/.venv/bin/python -c "import adbc_driver_flightsql.dbapi" 2>/dev/null; then
  pip adbc-driver-flightsql adbc-driver-manager
fi
if [[ " $* " == *" --postgres "* ]] && ! bench/.venv/bin/python -c "import psycopg, pandas, sqlalchemy, connectorx, adbc_driver_postgresql.dbapi" 2>/dev/null; then
  pip "psycopg[binary]" pandas sqlalchemy connectorx "adbc-driver-postgresql[dbapi]"
fi
cargo build --release -p fastflight-bench
FASTFLIGHT_BENCH_PYTHON=bench/.venv/bin/python exec target/release/fastflight-bench "$@"
