"""ADBC's Flight SQL driver (from PyPI), pandas and polars against a fastflight server:
statements, a partitioned service, a prepared statement with a bound parameter, the
catalog, and refusals.

Usage: adbc.py grpc://HOST:PORT. The last line printed is a JSON report."""

import json
import sys

import adbc_driver_flightsql.dbapi as flightsql
import pandas
import polars
import pyarrow.flight as flight


def main(location):
    report = {}
    with flightsql.connect(location) as conn:
        with conn.cursor() as cur:
            cur.execute("SELECT id, name FROM synthetic(rows => 1000)")
            table = cur.fetch_arrow_table()
            report["rows"] = table.num_rows
            report["columns"] = table.column_names
            report["name_41"] = table.column("name")[41].as_py()

            # Every part of a partitioned service, read through its endpoints.
            cur.execute("SELECT id FROM synthetic WHERE rows = 10000 AND partitions = 4")
            ids = cur.fetch_arrow_table().column("id").to_pylist()
            report["partitioned_rows"] = len(ids)
            report["partitioned_distinct"] = len(set(ids))

            # A prepared statement with a bound parameter.
            cur.execute("SELECT id FROM synthetic WHERE rows = ?", parameters=(25,))
            report["bound_rows"] = cur.fetch_arrow_table().num_rows

            cur.execute("SELECT * FROM synthetic(rows => 10) LIMIT 3")
            report["limited_rows"] = cur.fetch_arrow_table().num_rows

            # The JSON ticket's rows, for the same request.
            client = flight.FlightClient(location)
            ticket = json.dumps(
                {"param_type": "fastflight.demo.SyntheticParams", "rows": 1000}
            ).encode()
            by_ticket = client.do_get(flight.Ticket(ticket)).read_all()
            report["same_as_ticket"] = by_ticket.select(["id", "name"]).equals(table)

            for name, sql in [
                ("unknown_table", "SELECT * FROM nowhere"),
                ("result_filter", "SELECT * FROM synthetic(rows => 5) WHERE name = 'x'"),
                ("syntax", "SELEC 1"),
            ]:
                try:
                    cur.execute(sql)
                    cur.fetch_arrow_table()
                    report[name] = "accepted"
                except Exception as e:  # the driver's error, with the server's message
                    report[name] = f"{type(e).__name__}: {e}"

        frame = pandas.read_sql("SELECT id, value FROM synthetic(rows => 100)", conn)
        report["pandas_rows"] = len(frame)
        report["pandas_columns"] = list(frame.columns)
        frame = polars.read_database("SELECT id FROM synthetic(rows => 50)", connection=conn)
        report["polars_rows"] = frame.height

        objects = conn.adbc_get_objects(depth="tables").read_all().to_pylist()
        report["catalogs"] = [c["catalog_name"] for c in objects]
        tables = [
            t["table_name"]
            for c in objects
            for s in c["catalog_db_schemas"] or []
            for t in s["db_schema_tables"] or []
        ]
        report["has_synthetic"] = "synthetic" in tables
        report["has_trades"] = "trades" in tables
        info = conn.adbc_get_info()
        report["vendor_name"] = info.get("vendor_name")
    print(json.dumps(report))


if __name__ == "__main__":
    main(sys.argv[1])
