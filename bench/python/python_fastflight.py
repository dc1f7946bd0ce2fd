"""The Python fastflight package for the benchmark: its FastFlightServer with a
BaseDataService over the same payload, and its FastFlightBouncer client.

Usage: python3 python_fastflight.py server ROWS
       python3 python_fastflight.py client LOCATION RUNS ECHO_CALLS CALLERS CALLS_PER_CALLER
"""
import sys
import time

import pyarrow as pa

from fastflight import BaseDataService, BaseParams, FastFlightBouncer, FastFlightServer

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from common import report, small_requests  # noqa: E402
from pyarrow_server import payload  # noqa: E402


class BenchPayload(BaseParams):
    pass


class BenchEcho(BaseParams):
    message: str = "hello"


TABLE = None
ECHO = pa.table({"message": ["hello"], "timestamp": pa.array([0], type=pa.int64()), "service": ["echo_service"]})


class PayloadService(BaseDataService[BenchPayload]):
    def get_batches(self, params, batch_size=None):
        return TABLE.to_batches()


class EchoService(BaseDataService[BenchEcho]):
    def get_batches(self, params, batch_size=None):
        return ECHO.to_batches()


def serve(rows):
    global TABLE
    TABLE = payload(rows)
    server = FastFlightServer("grpc://127.0.0.1:0")
    print(f"listening on grpc://127.0.0.1:{server.port}", flush=True)
    server.serve()


def client(location, runs, echo_calls, callers, per_caller):
    bouncer = FastFlightBouncer(location, client_pool_size=max(2, callers))
    small = small_requests(lambda: bouncer.get_pa_table(BenchEcho()), echo_calls, callers, per_caller)
    rows = bouncer.get_pa_table(BenchPayload()).num_rows
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        table = bouncer.get_pa_table(BenchPayload())
        times.append(time.perf_counter() - start)
        assert table.num_rows == rows
        del table
    report(small, times, rows)


if __name__ == "__main__":
    if sys.argv[1] == "server":
        serve(int(sys.argv[2]))
    else:
        client(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]))
