"""pyarrow's Flight client for the benchmark, at its best: read_all() on a worker thread.

Usage: python3 pyarrow_client.py LOCATION PAYLOAD_TICKET ECHO_TICKET RUNS ECHO_CALLS CALLERS CALLS_PER_CALLER
Prints one JSON object: run times (s), rows, echo latencies (p50/p99 µs), calls/s, peak RSS.
"""
import concurrent.futures
import json
import resource
import sys
import threading
import time

import pyarrow.flight as fl


def main(location, payload, echo, runs, echo_calls, callers, per_caller):
    client = fl.FlightClient(location)
    ticket = fl.Ticket(payload.encode())

    def fetch():
        return client.do_get(ticket).read_all()

    def on_worker(fn):
        result = {}
        thread = threading.Thread(target=lambda: result.setdefault("v", fn()))
        thread.start()
        thread.join()
        return result["v"]

    rows = on_worker(fetch).num_rows  # warm-up
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        table = on_worker(fetch)
        times.append(time.perf_counter() - start)
        assert table.num_rows == rows
        del table

    echo_ticket = fl.Ticket(echo.encode())
    for _ in range(50):
        client.do_get(echo_ticket).read_all()
    latencies = []
    for _ in range(echo_calls):
        start = time.perf_counter()
        client.do_get(echo_ticket).read_all()
        latencies.append(time.perf_counter() - start)
    latencies.sort()


    def caller(_):
        own = fl.FlightClient(location)
        for _ in range(per_caller):
            own.do_get(echo_ticket).read_all()

    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(callers) as pool:
        list(pool.map(caller, range(callers)))
    elapsed = time.perf_counter() - start

    print(json.dumps({
        "times": times,
        "rows": rows,
        "echo_p50_us": latencies[len(latencies) // 2] * 1e6,
        "echo_p99_us": latencies[int(len(latencies) * 0.99)] * 1e6,
        "calls_per_s": per_caller * callers / elapsed,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }))


if __name__ == "__main__":
    a = sys.argv
    main(a[1], a[2], a[3], int(a[4]), int(a[5]), int(a[6]), int(a[7]))
