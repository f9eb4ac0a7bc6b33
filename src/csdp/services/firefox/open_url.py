#!/usr/bin/python3
"""Open a URL in the browser shown on the container's display and print where to watch it.

Prints one JSON object with the URL and the noVNC addresses of the live view.
Each call starts a separate Firefox with a fresh profile: handing a URL to a
running Firefox needs D-Bus, which the container does not run, and without it
a second start with the same profile shows an "already running" dialog.
"""

import ipaddress
import json
import os
import re
import socket
import subprocess
import sys
import tempfile

PROFILES = os.path.expanduser("~/live-view-profiles")
LOG = os.path.expanduser("~/live-view.log")
ALLOWED = re.compile(r"^(https?://|about:|data:)")
# A browser that fails on start (bad display, no memory) exits within this time.
SETTLE_SECONDS = 3.0


def live_view_addresses() -> list[str]:
    """Return the noVNC page on each of the container's addresses, IPv4 first."""
    addresses = set()
    for family, _, _, _, sockaddr in socket.getaddrinfo(socket.gethostname(), None):
        address = ipaddress.ip_address(sockaddr[0].split("%")[0])
        if not address.is_loopback and not address.is_link_local:
            addresses.add(address)
    urls = []
    for address in sorted(addresses, key=lambda item: (item.version, int(item))):
        host = f"[{address}]" if address.version == 6 else str(address)
        urls.append(f"http://{host}:6080/vnc.html?autoconnect=1&resize=scale")
    return urls


def main() -> int:
    if len(sys.argv) != 2 or not ALLOWED.match(sys.argv[1]):
        print(f"browser-open: expected one URL starting with http://, https://, about: or data:, got {sys.argv[1:]!r}", file=sys.stderr)
        return 2
    url = sys.argv[1]

    os.makedirs(PROFILES, exist_ok=True)
    profile = tempfile.mkdtemp(dir=PROFILES)
    with open(LOG, "ab") as log:
        browser = subprocess.Popen(
            ["firefox-esr", "--no-remote", "--new-instance", "--profile", profile, url],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        status = browser.wait(timeout=SETTLE_SECONDS)
    except subprocess.TimeoutExpired:
        status = None
    if status:
        with open(LOG, "rb") as log:
            tail = log.read()[-2000:].decode("utf-8", "replace")
        print(f"browser-open: firefox exited with status {status} while opening {url}:\n{tail}", file=sys.stderr)
        return 1

    urls = live_view_addresses()
    print(json.dumps({"url": url, "live_view": urls[0] if urls else None, "live_view_all": urls}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
