#!/usr/bin/python3
"""Exit 0 when chromedriver reports ready and noVNC and VNC accept connections; else print why and exit 1."""

import json
import socket
import sys
import urllib.request

STATUS_URL = "http://127.0.0.1:4444/status"


def main() -> int:
    try:
        with urllib.request.urlopen(STATUS_URL, timeout=2) as answer:
            status = json.load(answer)
    except (OSError, ValueError) as exc:
        print(f"chromedriver at {STATUS_URL} does not answer: {exc}")
        return 1
    if not status.get("value", {}).get("ready"):
        print(f"chromedriver is not ready: {status.get('value', {}).get('message', status)}")
        return 1
    for port, name in ((5900, "x11vnc"), (6080, "websockify")):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
        except OSError as exc:
            print(f"{name} does not accept connections on port {port}: {exc}")
            return 1
    print("ready")
    return 0


if __name__ == "__main__":
    sys.exit(main())
