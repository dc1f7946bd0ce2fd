"""pyarrow's Flight client for the benchmark, at its best: read_all() on a worker thread.

Usage: python3 pyarrow_client.py LOCATION PAYLOAD_TICKET ECHO_TICKET RUNS ECHO_CALLS CALLERS CALLS_PER_CALLER
Prints one JSON object: run times (s), rows, echo latencies (p50/p99 µs), calls/s, peak RSS.
"""
import sys
import threading
import time

import pyarrow.flight as fl

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from common import report, small_requests  # noqa: E402


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

    echo_ticket = fl.Ticket(echo.encode())
    # One client per caller thread, as pyarrow users share none across threads.
    local = threading.local()

    def echo_once():
        own = getattr(local, "client", None)
        if own is None:
            own = local.client = fl.FlightClient(location)
        own.do_get(echo_ticket).read_all()

    small = small_requests(echo_once, echo_calls, callers, per_caller)

    rows = on_worker(fetch).num_rows  # warm-up
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        table = on_worker(fetch)
        times.append(time.perf_counter() - start)
        assert table.num_rows == rows
        del table

    report(small, times, rows)


if __name__ == "__main__":
    a = sys.argv
    main(a[1], a[2], a[3], int(a[4]), int(a[5]), int(a[6]), int(a[7]))
