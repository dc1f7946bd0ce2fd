"""pyarrow against a running `fastflight-demo start-all`: Flight do_get with a JSON
ticket, get_flight_info then do_get, list_flights, the error types, and the HTTP
gateway's Arrow stream read with pyarrow.ipc.open_stream.

Usage: python3 interop.py grpc://127.0.0.1:PORT http://127.0.0.1:PORT/fastflight
"""
import json
import sys
import urllib.error
import urllib.request

import pyarrow as pa
import pyarrow.flight as fl

ECHO = "fastflight.demo_services.echo_demo.EchoParams"
SYNTHETIC = "fastflight.demo.SyntheticParams"


def ticket(obj):
    return fl.Ticket(json.dumps(obj).encode())


def expect_error(kinds, call, words):
    try:
        call()
    except kinds as e:
        for w in words:
            assert w in str(e), f"{e!r} should mention {w!r}"
        return type(e).__name__
    except Exception as e:  # noqa: BLE001
        raise AssertionError(f"expected {kinds}, got {type(e).__name__}: {e}") from e
    raise AssertionError(f"expected {kinds}, the call succeeded")


def gateway_checks(gateway):
    """The gateway's body is an Arrow IPC stream pyarrow reads batch by batch."""
    body = json.dumps({"param_type": SYNTHETIC, "rows": 70_000, "batch_size": 20_000, "seed": 3}).encode()
    request = urllib.request.Request(f"{gateway}/stream", data=body, method="POST")
    with urllib.request.urlopen(request) as response:
        assert response.headers["Content-Type"] == "application/vnd.apache.arrow.stream"
        reader = pa.ipc.open_stream(response)
        sizes = [batch.num_rows for batch in reader]
    assert sizes == [20_000, 20_000, 20_000, 10_000], sizes
    code = None
    bad = urllib.request.Request(f"{gateway}/stream", data=b'{"param_type": "no.Such"}', method="POST")
    try:
        urllib.request.urlopen(bad)
    except urllib.error.HTTPError as e:
        assert e.code == 404, e.code
        code = json.loads(e.read())["error"]["code"]
    assert code == "NotFound", code
    return sum(sizes)


def main(location, gateway):
    client = fl.FlightClient(location)

    # 1. The Python package's echo request, as its clients send it.
    echo = client.do_get(ticket({"param_type": ECHO, "message": "from pyarrow"})).read_all()
    assert echo.column_names == ["message", "timestamp", "service"], echo.schema
    assert echo.num_rows == 1
    assert echo["message"][0].as_py() == "from pyarrow"
    assert echo["service"][0].as_py() == "echo_service"
    assert echo.schema.field("timestamp").type == pa.int64()
    default = client.do_get(ticket({"param_type": ECHO})).read_all()
    assert default["message"][0].as_py() == "Hello FastFlight!"

    # 2. Many batches, read batch by batch.
    reader = client.do_get(ticket({"param_type": SYNTHETIC, "rows": 100_000, "batch_size": 30_000, "seed": 3}))
    sizes = [chunk.data.num_rows for chunk in reader]
    assert sizes == [30_000, 30_000, 30_000, 10_000], sizes
    table = client.do_get(ticket({"param_type": SYNTHETIC, "rows": 100_000, "batch_size": 30_000, "seed": 3})).read_all()
    assert table["id"].to_pylist() == list(range(100_000))
    assert table["name"][5].as_py() == "row-000000000005"
    assert table.schema.field("value").type == pa.float64()

    # 3. GetFlightInfo, then DoGet on the endpoint's ticket.
    command = json.dumps({"param_type": SYNTHETIC, "rows": 1_000}).encode()
    info = client.get_flight_info(fl.FlightDescriptor.for_command(command))
    assert info.schema.names == ["id", "value", "name"], info.schema
    assert len(info.endpoints) == 1
    via_info = client.do_get(info.endpoints[0].ticket).read_all()
    assert via_info.num_rows == 1_000

    # Zero rows: a valid stream with the declared schema.
    empty = client.do_get(ticket({"param_type": SYNTHETIC, "rows": 0})).read_all()
    assert empty.num_rows == 0 and empty.schema.names == ["id", "value", "name"]

    # 4. ListFlights: one per service, the command is the request name.
    flights = {f.descriptor.command.decode(): f for f in client.list_flights()}
    assert ECHO in flights and SYNTHETIC in flights, sorted(flights)
    meta = getattr(flights[SYNTHETIC], "app_metadata", None)
    if meta:
        described = json.loads(meta)
        assert [f["name"] for f in described["fields"]] == ["rows", "batch_size", "seed", "partitions", "start"], described

    # 5. Errors: their types follow the gRPC codes.
    kinds = {
        "not json": expect_error(pa.ArrowInvalid, lambda: client.do_get(fl.Ticket(b"not json")).read_all(), ["not valid JSON"]),
        "missing param_type": expect_error(pa.ArrowInvalid, lambda: client.do_get(ticket({"rows": 1})).read_all(), ["param_type"]),
        "bad field": expect_error(pa.ArrowInvalid, lambda: client.do_get(ticket({"param_type": SYNTHETIC, "rows": "many"})).read_all(), ["rows"]),
        "validation": expect_error(pa.ArrowInvalid, lambda: client.do_get(ticket({"param_type": SYNTHETIC, "rows": 1, "batch_size": 0})).read_all(), ["batch_size"]),
        "unknown": expect_error(KeyError, lambda: client.do_get(ticket({"param_type": "no.Such"})).read_all(), ["no.Such", ECHO]),
        "do_put": expect_error(NotImplementedError, lambda: client.do_put(fl.FlightDescriptor.for_command(b"x"), pa.schema([]))[0].close(), ["DoPut"]),
    }
    gateway_rows = gateway_checks(gateway)
    print(json.dumps({"ok": True, "errors": kinds, "gateway_rows": gateway_rows}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
