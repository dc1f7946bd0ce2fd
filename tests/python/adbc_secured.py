"""ADBC's Flight SQL driver against a fastflight server over TLS with users: the
driver's Handshake (Basic → Bearer), a statement and a prepared one, refusals without
credentials or with a wrong password, the session's schema set and read back through
the driver, and a read cancelled midway (the server's streams in flight back to none).

Usage: adbc_secured.py grpc+tls://HOST:PORT USER PASSWORD CA_PEM. The last line printed
is a JSON report."""

import json
import sys
import time

import adbc_driver_flightsql.dbapi as flightsql
import pyarrow.flight as flight


def connect(location, ca, user=None, password=None):
    options = {
        "adbc.flight.sql.client_option.tls_root_certs": ca,
        # The session's options travel in a cookie the driver sends back.
        "adbc.flight.sql.rpc.with_cookie_middleware": "true",
    }
    if user is not None:
        options["username"] = user
        options["password"] = password
    return flightsql.connect(location, db_kwargs=options)


def refusal(location, ca, user=None, password=None):
    try:
        with connect(location, ca, user, password) as conn:
            with conn.cursor() as cur:
                cur.execute("SELECT id FROM synthetic(rows => 1)")
                cur.fetch_arrow_table()
        return "accepted"
    except Exception as e:
        return f"{type(e).__name__}: {e}"


def streams_in_flight(location, ca, user, password):
    client = flight.FlightClient(location, tls_root_certs=ca.encode())
    token = client.authenticate_basic_token(user, password)
    options = flight.FlightCallOptions(headers=[token])
    body = list(client.do_action(flight.Action("health", b""), options=options))[0]
    return json.loads(body.body.to_pybytes())["streams_in_flight"]


def main(location, user, password, ca_path):
    with open(ca_path) as f:
        ca = f.read()
    report = {}
    with connect(location, ca, user, password) as conn:
        with conn.cursor() as cur:
            cur.execute("SELECT id, name FROM synthetic(rows => 500)")
            report["rows"] = cur.fetch_arrow_table().num_rows
            cur.execute("SELECT id FROM synthetic WHERE rows = ?", parameters=(7,))
            report["bound_rows"] = cur.fetch_arrow_table().num_rows
            cur.execute("SELECT id FROM synthetic WHERE rows = 4000 AND partitions = 4")
            report["partitioned_rows"] = cur.fetch_arrow_table().num_rows

        # The session's schema, set and read back through the driver.
        try:
            conn.adbc_current_db_schema = "fastflight.demo"
            report["session_schema"] = conn.adbc_current_db_schema
        except Exception as e:
            report["session_schema"] = f"{type(e).__name__}: {e}"

        # A read cancelled midway: an error, and the server's stream ends too.
        with conn.cursor() as cur:
            cur.execute(
                "SELECT * FROM synthetic(rows => 1000000000000, batch_size => 1000)"
            )
            reader = cur.fetch_record_batch()
            reader.read_next_batch()
            report["in_flight_before"] = streams_in_flight(location, ca, user, password)
            cur.adbc_cancel()
            try:
                for _ in range(100000):
                    reader.read_next_batch()
                report["after_cancel"] = "read on"
            except Exception as e:
                report["after_cancel"] = type(e).__name__
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                report["in_flight_after"] = streams_in_flight(location, ca, user, password)
                if report["in_flight_after"] == 0:
                    break
                time.sleep(0.05)

    report["no_credentials"] = refusal(location, ca)
    report["wrong_password"] = refusal(location, ca, user, password + "x")
    print(json.dumps(report))


if __name__ == "__main__":
    main(*sys.argv[1:5])
