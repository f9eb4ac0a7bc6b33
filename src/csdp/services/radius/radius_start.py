"""Write the FreeRADIUS clients and the user store from RADIUS_* and OTP_* variables, then run FreeRADIUS.

Environment: RADIUS_SECRET is the shared secret of every client. RADIUS_CLIENTS
lists the CIDRs allowed to send requests, separated by commas, and empty means
the container's own networks. OTP_USERS, OTP_ISSUER and OTP_WINDOW are
described in otp_users.py.
"""

from __future__ import annotations

import os
import re
import sys

import networks
import otp_users

CONFIG_DIR = "/etc/radius-csdp"
CLIENTS_FILE = "/var/lib/radius/clients.conf"
# Characters FreeRADIUS reads literally inside a double-quoted string.
SECRET_PATTERN = re.compile(r'[^\s"\\]{1,64}')


def clients_config(secret: str, client_networks: list[networks.Network]) -> str:
    """Return one client section per network, all with the shared secret."""
    sections = []
    for number, network in enumerate(client_networks, start=1):
        address_key = "ipaddr" if network.version == 4 else "ipv6addr"
        sections.append(
            f"client net{number} {{\n"
            f"\t{address_key} = {network}\n"
            f'\tsecret = "{secret}"\n'
            "\tproto = udp\n"
            # Clients such as older switches send no Message-Authenticator; a test service accepts them.
            "\trequire_message_authenticator = no\n"
            "}\n"
        )
    return "\n".join(sections)


def main() -> int:
    secret = os.environ.get("RADIUS_SECRET", "")
    if not SECRET_PATTERN.fullmatch(secret):
        print("radius: RADIUS_SECRET must be 1 to 64 characters without spaces, quotes or backslashes", file=sys.stderr)
        return 2
    try:
        client_networks = networks.parse_networks(os.environ.get("RADIUS_CLIENTS", "")) or networks.local_networks()
        names, store_kept = otp_users.initialize(
            os.environ.get("OTP_USERS", ""), os.environ.get("OTP_ISSUER", "csdp-radius"), int(os.environ.get("OTP_WINDOW", "1"))
        )
    except (networks.NetworksError, otp_users.UsersError) as exc:
        print(f"radius: {exc}", file=sys.stderr)
        return 2
    if not client_networks:
        print("radius: no client networks: set the clients parameter or attach the container to a network", file=sys.stderr)
        return 2

    descriptor = os.open(CLIENTS_FILE, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(clients_config(secret, client_networks))
    print(f"radius: clients allowed from {', '.join(map(str, client_networks))}", flush=True)
    origin = "kept from the previous start" if store_kept else "loaded"
    print(f"radius: {len(names)} users {origin}: {', '.join(names) or 'none'}", flush=True)

    # -f stays in the foreground; -l stdout sends the server log to the container output.
    os.execvp("freeradius", ["freeradius", "-f", "-l", "stdout", "-d", CONFIG_DIR])


if __name__ == "__main__":
    sys.exit(main())
