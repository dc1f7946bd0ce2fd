"""pyarrow's Flight client sending Flight SQL by hand: the payload as
`SELECT * FROM bench.payload` (GetFlightInfo of a CommandStatementQuery, then DoGet of
its endpoints), and the one-row statement's latency (`SELECT * FROM bench.echo(...)`).
The same client as the JSON-ticket row, so the difference is the SQL layer's.

Usage: python3 pyarrow_sql_client.py LOCATION RUNS ECHO_CALLS CALLERS CALLS_PER_CALLER
"""
import sys
import threading
import time

import pyarrow.flight as fl

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from common import report, small_requests  # noqa: E402

PAYLOAD = "SELECT * FROM bench.payload"
ECHO = "SELECT * FROM bench.echo(message => 'hello')"


def _varint(n):
    out = b""
    while True:
        low, n = n & 0x7F, n >> 7
        if n:
            out += bytes([low | 0x80])
        else:
            return out + bytes([low])


def _field(tag, data):
    return _varint(tag << 3 | 2) + _varint(len(data)) + data


def command(sql):
    """A CommandStatementQuery packed in an Any, as Flight SQL sends it."""
    return _field(1, b"type.googleapis.com/arrow.flight.protocol.sql.CommandStatementQuery") + _field(
        2, _field(1, sql.encode())
    )


def read(client, sql):
    info = client.get_flight_info(fl.FlightDescriptor.for_command(command(sql)))
    return [client.do_get(e.ticket).read_all() for e in info.endpoints]


def main(location, runs, echo_calls, callers, per_caller):
    client = fl.FlightClient(location)
    local = threading.local()

    def echo_once():
        own = getattr(local, "client", None)
        if own is None:
            own = local.client = fl.FlightClient(location)
        read(own, ECHO)

    small = small_requests(echo_once, echo_calls, callers, per_caller)

    def fetch():
        return sum(t.num_rows for t in read(client, PAYLOAD))

    rows = fetch()  # warm-up
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        assert fetch() == rows
        times.append(time.perf_counter() - start)
    report(small, times, rows)


if __name__ == "__main__":
    a = sys.argv
    main(a[1], int(a[2]), int(a[3]), int(a[4]), int(a[5]))
