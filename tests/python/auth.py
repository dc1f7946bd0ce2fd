"""pyarrow's Flight client against a fastflight server that authenticates its callers:
authenticate_basic_token (the Handshake), the token in FlightCallOptions, and the
errors of wrong or missing credentials; over TLS when a CA file is given (fourth
argument). Prints one JSON report line."""
import json
import sys

import pyarrow.flight as flight

location, user, password = sys.argv[1:4]
if len(sys.argv) > 4:
    with open(sys.argv[4], "rb") as ca:
        client = flight.FlightClient(location, tls_root_certs=ca.read())
else:
    client = flight.FlightClient(location)
request = b'{"param_type": "fastflight.demo.SyntheticParams", "rows": 1000}'
report = {}


def error_of(call):
    try:
        call()
        return "accepted"
    except flight.FlightError as e:
        return type(e).__name__


report["wrong_password"] = error_of(lambda: client.authenticate_basic_token(user, "not " + password))
report["no_token"] = error_of(lambda: client.do_get(flight.Ticket(request)).read_all())
pair = client.authenticate_basic_token(user, password)
report["header"] = pair[0].decode() if isinstance(pair[0], bytes) else pair[0]
options = flight.FlightCallOptions(headers=[pair])
report["rows"] = client.do_get(flight.Ticket(request), options=options).read_all().num_rows
info = client.get_flight_info(flight.FlightDescriptor.for_command(request), options=options)
report["schema"] = info.schema.names
report["services"] = len(list(client.list_flights(options=options)))
print(json.dumps(report))
