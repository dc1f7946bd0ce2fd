"""The Python fastflight package's FastAPI gateway (`POST {prefix}/stream`), as its
`start-rest-server` runs it, proxying to a Flight server.

Usage: python3 python_gateway.py FLIGHT_LOCATION
Prints `listening on http://127.0.0.1:PORT/fastflight` once its socket listens, then
serves until killed.
"""
import socket
import sys

import uvicorn

from fastflight.fastapi_integration.app import create_app


def main(flight_location):
    app = create_app([], route_prefix="/fastflight", flight_location=flight_location)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    port = sock.getsockname()[1]
    # Connections wait in the backlog until the server runs: the address is good now.
    print(f"listening on http://127.0.0.1:{port}/fastflight", flush=True)
    config = uvicorn.Config(app, fd=sock.fileno(), log_level="warning", access_log=False)
    uvicorn.Server(config).run()


if __name__ == "__main__":
    main(sys.argv[1])
