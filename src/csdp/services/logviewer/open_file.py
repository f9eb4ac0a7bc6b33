#!/usr/bin/python3
"""Open an uploaded file in a glogg window on the display and print where to watch it.

Usage: logviewer-open PATH, where PATH is a file under ~/uploads. Prints one
JSON object with the path, the glogg process id and the noVNC addresses of
the live view. Each call opens its own glogg window.
"""

import ipaddress
import json
import os
import socket
import subprocess
import sys

UPLOADS = os.path.expanduser("~/uploads")
LOG = os.path.expanduser("~/glogg.log")
# A glogg that cannot open the display or the file exits within this time.
SETTLE_SECONDS = 2.0


def live_view_addresses() -> list[str]:
    """Return the noVNC page on each of the container's addresses, IPv4 first."""
    addresses = set()
    for _, _, _, _, sockaddr in socket.getaddrinfo(socket.gethostname(), None):
        address = ipaddress.ip_address(sockaddr[0].split("%")[0])
        if not address.is_loopback and not address.is_link_local:
            addresses.add(address)
    urls = []
    for address in sorted(addresses, key=lambda item: (item.version, int(item))):
        host = f"[{address}]" if address.version == 6 else str(address)
        urls.append(f"http://{host}:6080/vnc.html?autoconnect=1&resize=scale")
    return urls


def main() -> int:
    if len(sys.argv) != 2:
        print(f"logviewer-open: expected one path under {UPLOADS}, got {sys.argv[1:]!r}", file=sys.stderr)
        return 2
    path = os.path.realpath(sys.argv[1])
    if os.path.commonpath([path, UPLOADS]) != UPLOADS:
        print(f"logviewer-open: {sys.argv[1]} is outside {UPLOADS}; upload the file there and give its path", file=sys.stderr)
        return 2
    if not os.path.isfile(path):
        print(f"logviewer-open: {sys.argv[1]} is not a file; upload it to {UPLOADS} first", file=sys.stderr)
        return 2

    # -m: a new window each time; glogg would otherwise hand the file over to
    # a running instance through D-Bus, which this container does not have.
    with open(LOG, "ab") as log:
        viewer = subprocess.Popen(
            ["glogg", "-m", path],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        status = viewer.wait(timeout=SETTLE_SECONDS)
    except subprocess.TimeoutExpired:
        status = None
    if status is not None:
        with open(LOG, "rb") as log:
            tail = log.read()[-2000:].decode("utf-8", "replace")
        print(f"logviewer-open: glogg exited with status {status} while opening {path}:\n{tail}", file=sys.stderr)
        return 1

    urls = live_view_addresses()
    print(json.dumps({"path": path, "pid": viewer.pid, "live_view": urls[0] if urls else None, "live_view_all": urls}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
