"""The Python fastflight package's own client (FastFlightBouncer) and its own EchoParams
class, unchanged, against a running fastflight-demo.

Usage: python3 python_package.py grpc://127.0.0.1:PORT
"""
import json
import sys

from fastflight import FastFlightBouncer
from fastflight.demo_services.echo_demo import EchoParams


def main(location):
    bouncer = FastFlightBouncer(location, client_pool_size=2)
    try:
        table = bouncer.get_pa_table(EchoParams(message="from the Python package"))
        assert table.column_names == ["message", "timestamp", "service"], table.schema
        assert table["message"][0].as_py() == "from the Python package"
        assert table["service"][0].as_py() == "echo_service"
        frame = bouncer.get_pd_dataframe(EchoParams())
        assert frame["message"][0] == "Hello FastFlight!"
        print(json.dumps({"ok": True, "param_type": EchoParams.fqn(), "rows": table.num_rows}))
    finally:
        close = getattr(bouncer, "close", None)
        if close:
            close()


if __name__ == "__main__":
    main(sys.argv[1])
