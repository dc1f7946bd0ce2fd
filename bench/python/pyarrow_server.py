"""pyarrow's C++ Flight server for the benchmark: the same payload, pre-built in memory,
answered with RecordBatchStream(table); ticket `echo` answers one row.

Usage: python3 pyarrow_server.py ROWS   (prints `listening on grpc://127.0.0.1:PORT`)
"""
import sys

import pyarrow as pa
import pyarrow.flight as fl


def payload(rows, batch_size=65_536):
    ids = pa.array(range(rows), type=pa.int64())
    values = pa.array([((i * 2654435761) % 1_000_003) / 1_000_003 for i in range(rows)], type=pa.float64())
    names = pa.array([f"row-{i:012d}" for i in range(rows)], type=pa.string())
    table = pa.table({"id": ids, "value": values, "name": names})
    return pa.Table.from_batches(table.to_batches(max_chunksize=batch_size))


class Server(fl.FlightServerBase):
    def __init__(self, rows):
        super().__init__("grpc://127.0.0.1:0")
        self.table = payload(rows)
        self.echo = pa.table({"message": ["hello"], "timestamp": pa.array([0], type=pa.int64()), "service": ["echo_service"]})

    def do_get(self, context, ticket):
        if ticket.ticket == b"echo" or b"Echo" in ticket.ticket:
            return fl.RecordBatchStream(self.echo)
        return fl.RecordBatchStream(self.table)


if __name__ == "__main__":
    server = Server(int(sys.argv[1]))
    print(f"listening on grpc://127.0.0.1:{server.port}", flush=True)
    server.serve()
