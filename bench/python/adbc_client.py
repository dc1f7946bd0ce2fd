"""ADBC's Flight SQL driver as a benchmark client: the payload read by SQL
(`SELECT * FROM payload`, fetch_arrow_table), and a statement's latency — prepare,
execute and the first batch of a one-row result (`SELECT * FROM echo(...)`).

Usage: python3 adbc_client.py LOCATION RUNS ECHO_CALLS CALLERS CALLS_PER_CALLER
Prints one JSON object, as the other clients do: the statement latency stands in the
echo figures.
"""
import sys
import threading

import adbc_driver_flightsql.dbapi as flightsql

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from common import report, small_requests  # noqa: E402

PAYLOAD = "SELECT * FROM bench.payload"
ECHO = "SELECT * FROM bench.echo(message => 'hello')"


def main(location, runs, echo_calls, callers, per_caller):
    import time

    conn = flightsql.connect(location, autocommit=True)
    local = threading.local()

    def echo_once():
        own = getattr(local, "conn", None)
        if own is None:
            own = local.conn = flightsql.connect(location, autocommit=True)
        with own.cursor() as cur:
            # The DB-API prepares every statement: prepare, execute, the first batch.
            cur.execute(ECHO)
            reader = cur.fetch_record_batch()
            reader.read_next_batch()

    small = small_requests(echo_once, echo_calls, callers, per_caller)

    def fetch():
        with conn.cursor() as cur:
            cur.execute(PAYLOAD)
            return cur.fetch_arrow_table()

    rows = fetch().num_rows  # warm-up
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        table = fetch()
        times.append(time.perf_counter() - start)
        assert table.num_rows == rows
        del table
    conn.close()
    report(small, times, rows)


if __name__ == "__main__":
    a = sys.argv
    main(a[1], int(a[2]), int(a[3]), int(a[4]), int(a[5]))
