"""pyarrow reading a partitioned request as any Flight client does: GetFlightInfo, then
each endpoint's ticket with DoGet at its first location. Prints one JSON report line."""
import json
import sys

import pyarrow.flight as flight

location, request = sys.argv[1], sys.argv[2].encode()
info = flight.FlightClient(location).get_flight_info(flight.FlightDescriptor.for_command(request))
rows, id_sum, locations = 0, 0, set()
for endpoint in info.endpoints:
    where = endpoint.locations[0].uri.decode() if endpoint.locations else location
    locations.add(where)
    table = flight.FlightClient(where).do_get(endpoint.ticket).read_all()
    rows += table.num_rows
    id_sum += sum(table.column("id").to_pylist())
print(json.dumps({"endpoints": len(info.endpoints), "rows": rows, "id_sum": id_sum, "locations": sorted(locations)}))
