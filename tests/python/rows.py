"""pyarrow and pandas read a typed service like any other: the demo's `Trades` rows
(a dictionary `symbol` column becomes a pandas categorical) and `SyntheticRows`.

Usage: rows.py grpc://HOST:PORT. The last line printed is a JSON report."""

import json
import sys

import pyarrow.flight as flight


def main(location):
    client = flight.FlightClient(location)
    ticket = json.dumps(
        {"param_type": "fastflight.demo.Trades", "symbol": "MSFT", "limit": 2500}
    ).encode()
    table = client.do_get(flight.Ticket(ticket)).read_all()
    frame = table.to_pandas()
    info = client.get_flight_info(flight.FlightDescriptor.for_command(ticket))
    synthetic = client.do_get(
        flight.Ticket(
            json.dumps({"param_type": "fastflight.demo.SyntheticRows", "rows": 1000}).encode()
        )
    ).read_all()
    print(
        json.dumps(
            {
                "rows": table.num_rows,
                "columns": table.column_names,
                "symbol_type": str(table.schema.field("symbol").type),
                "symbol_dtype": str(frame["symbol"].dtype),
                "symbols": sorted(set(frame["symbol"].astype(str))),
                "ids_ascending": bool(frame["id"].is_monotonic_increasing),
                "info_schema": str(info.schema.field("symbol").type),
                "synthetic_rows": synthetic.num_rows,
                "synthetic_names": synthetic.column("name")[41].as_py(),
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1])
