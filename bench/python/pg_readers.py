"""The Python readers of the PostgreSQL comparison, one per process: each reads the
whole table into client memory and prints one JSON object (seconds, rows, peak RSS).

Usage:
  python3 pg_readers.py flight LOCATION QUERY PARTITIONS   # fastflight's PgQuery, pyarrow client
  python3 pg_readers.py psycopg URL QUERY                  # psycopg 3, fetchall()
  python3 pg_readers.py read_sql URL QUERY                 # pandas.read_sql over SQLAlchemy + psycopg
  python3 pg_readers.py connectorx URL QUERY PARTITIONS    # ConnectorX to Arrow, partition_on id
  python3 pg_readers.py adbc URL QUERY                     # ADBC PostgreSQL driver, fetch_arrow_table()
"""
import concurrent.futures
import json
import resource
import sys
import time


def flight(location, query, partitions):
    import pyarrow as pa
    import pyarrow.flight as fl

    request = {"param_type": "fastflight.demo.PgQuery", "query": query}
    if partitions > 1:
        request.update(partitions=partitions, partition_on="id")
    client = fl.FlightClient(location)
    info = client.get_flight_info(fl.FlightDescriptor.for_command(json.dumps(request).encode()))

    def read(endpoint):
        # An endpoint names where to read it; none means the server asked.
        at = fl.FlightClient(endpoint.locations[0]) if endpoint.locations else client
        return at.do_get(endpoint.ticket).read_all()

    with concurrent.futures.ThreadPoolExecutor(max(1, len(info.endpoints))) as pool:
        tables = list(pool.map(read, info.endpoints))
    return pa.concat_tables(tables).num_rows


def psycopg_fetchall(url, query):
    import psycopg

    with psycopg.connect(url) as conn:
        with conn.cursor() as cur:
            cur.execute(query)
            return len(cur.fetchall())


def read_sql(url, query):
    import pandas as pd
    import sqlalchemy

    engine = sqlalchemy.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.connect() as conn:
        return len(pd.read_sql(sqlalchemy.text(query), conn))


def connectorx(url, query, partitions):
    import connectorx as cx

    if partitions > 1:
        table = cx.read_sql(url, query, return_type="arrow", partition_on="id", partition_num=partitions)
    else:
        table = cx.read_sql(url, query, return_type="arrow")
    return table.num_rows


def adbc(url, query):
    import adbc_driver_postgresql.dbapi as dbapi

    with dbapi.connect(url) as conn:
        with conn.cursor() as cur:
            cur.execute(query)
            return cur.fetch_arrow_table().num_rows


def main(reader, where, query, *rest):
    partitions = int(rest[0]) if rest else 1
    # Modules are imported before the clock starts: their loading is not the reading.
    modules = {
        "flight": ["pyarrow.flight"],
        "psycopg": ["psycopg"],
        "read_sql": ["pandas", "sqlalchemy", "psycopg"],
        "connectorx": ["connectorx", "pyarrow"],
        "adbc": ["adbc_driver_postgresql.dbapi", "pyarrow"],
    }[reader]
    for module in modules:
        __import__(module)
    run = {
        "flight": lambda: flight(where, query, partitions),
        "psycopg": lambda: psycopg_fetchall(where, query),
        "read_sql": lambda: read_sql(where, query),
        "connectorx": lambda: connectorx(where, query, partitions),
        "adbc": lambda: adbc(where, query),
    }[reader]
    started = time.perf_counter()
    rows = run()
    seconds = time.perf_counter() - started
    print(json.dumps({
        "seconds": seconds,
        "rows": rows,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }))


if __name__ == "__main__":
    main(*sys.argv[1:])
