#!/usr/bin/env bash
# The payload read by SQL (ADBC's Flight SQL driver; pyarrow sending Flight SQL) beside
# pyarrow's JSON ticket, from one fastflight server, the clients taking turns; the
# one-row statement's latency beside the echo's. Needs pyarrow and adbc-driver-flightsql.
#   bash bench/sql.sh            (ROUNDS=5 by default)
set -euo pipefail
out=$(mktemp) listening=$(mktemp)
cd "$(dirname "$0")/.."
python=${FASTFLIGHT_BENCH_PYTHON:-python3}
cargo build --release -p fastflight-bench >&2
rounds=${ROUNDS:-5}
target/release/fastflight-bench serve fastflight --rows 4000000 > "$listening" 2>/dev/null &
pid=$!
trap 'kill $pid; rm -f "$out" "$listening"' EXIT
for i in $(seq 100); do grep -q listening "$listening" && break; sleep 0.1; done
loc=$(awk '{print $NF}' "$listening" | head -1)
echo "server at $loc" >&2
: > "$out"
for r in $(seq $rounds); do
  "$python" bench/python/pyarrow_client.py "$loc" '{"param_type": "bench.Payload"}' '{"param_type": "bench.Echo", "message": "hello"}' 3 2000 8 1000 | tail -1 | sed 's/^/{"who":"ticket","r":'$r',"v":/; s/$/}/' >> "$out"
  "$python" bench/python/pyarrow_sql_client.py "$loc" 3 2000 8 1000 | tail -1 | sed 's/^/{"who":"pysql","r":'$r',"v":/; s/$/}/' >> "$out"
  "$python" bench/python/adbc_client.py "$loc" 3 2000 8 1000 | tail -1 | sed 's/^/{"who":"adbc","r":'$r',"v":/; s/$/}/' >> "$out"
  echo "round $r done" >&2
done
"$python" - "$out" <<'PY'
import json, statistics, sys
rows=[json.loads(l) for l in open(sys.argv[1])]
by={}
for x in rows: by.setdefault(x["r"],{})[x["who"]]=x["v"]
ratios=[]; pr=[]
for r,v in sorted(by.items()):
    t=statistics.median(v["ticket"]["times"]); a=statistics.median(v["adbc"]["times"])
    p=statistics.median(v["pysql"]["times"])
    ratios.append(t/a); pr.append(t/p)
    print(f"round {r}: pyarrow by SQL {p*1000:.0f} ms, pysql/ticket {t/p:.2f}, one-row statement by pyarrow p50 {v['pysql']['echo_p50_us']:.0f} us, calls/s {v['pysql']['calls_per_s']:.0f}")
    print(f"round {r}: ticket {t*1000:.0f} ms, adbc {a*1000:.0f} ms, adbc/ticket throughput {t/a:.2f}; echo p50 {v['ticket']['echo_p50_us']:.0f} us, statement p50 {v['adbc']['echo_p50_us']:.0f} us; calls/s ticket {v['ticket']['calls_per_s']:.0f} adbc {v['adbc']['calls_per_s']:.0f}; client peak RSS ticket {v['ticket']['peak_rss_mb']:.0f} MB adbc {v['adbc']['peak_rss_mb']:.0f} MB")
print(json.dumps({"sql_pyarrow_vs_ticket": statistics.median(pr), "sql_pyarrow_latency_p50_us": statistics.median(v["pysql"]["echo_p50_us"] for v in by.values()), "sql_adbc_vs_ticket": statistics.median(ratios), "sql_latency_p50_us": statistics.median(v["adbc"]["echo_p50_us"] for v in by.values()), "echo_p50_us_ticket": statistics.median(v["ticket"]["echo_p50_us"] for v in by.values())}))
PY
