#!/usr/bin/python3
"""Exit 0 when the display exists and VNC and noVNC accept connections; else print why and exit 1."""

import os
import socket
import sys


def main() -> int:
    display = os.environ.get("DISPLAY", ":99").lstrip(":").split(".")[0]
    if not os.path.exists(f"/tmp/.X11-unix/X{display}"):
        print(f"display :{display} does not exist yet")
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
