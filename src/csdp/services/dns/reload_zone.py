#!/usr/bin/python3
"""Render the zone from the owner's container inventory and reload it in named.

The platform writes the inventory, a JSON list of the owner's running
containers with ``name``, ``service``, ``ip_address`` and ``ipv6_address``, to
INVENTORY and runs this program after every job that starts or removes a
container of the owner. Each container gets A and AAAA records under its
container name, and each service name gets the records of all its containers.
When a zone file was loaded with the load_zone action, its records come first
and the container records are added after them.

Prints one JSON object: the zone, the number of records and the names skipped.
``--no-reload`` only writes the zone file, for the entrypoint before named runs.
"""

import ipaddress
import json
import os
import re
import socket
import subprocess
import sys
import time

STATE = "/var/lib/csdp/dns"
INVENTORY = os.environ.get("INVENTORY", "/etc/csdp/inventory.json")
ZONE_FILE = f"{STATE}/zone.db"
UPLOADED_ZONE = f"{STATE}/uploaded.zone"
LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")


def read_inventory() -> list[dict]:
    try:
        with open(INVENTORY, encoding="utf-8") as handle:
            entries = json.load(handle)
    except FileNotFoundError:
        return []
    if not isinstance(entries, list):
        raise ValueError(f"{INVENTORY} must hold a JSON list of containers, got {type(entries).__name__}")
    return [entry for entry in entries if isinstance(entry, dict)]


def own_addresses() -> list[str]:
    """Return this container's IPv4 and IPv6 addresses, for the name server's own records."""
    found = set()
    try:
        for _, _, _, _, sockaddr in socket.getaddrinfo(socket.gethostname(), None):
            address = ipaddress.ip_address(sockaddr[0].split("%")[0])
            if not address.is_loopback and not address.is_link_local:
                found.add(address)
    except OSError:
        pass
    return [str(address) for address in sorted(found, key=lambda item: (item.version, int(item)))]


def address_records(name: str, addresses: list[str]) -> list[str]:
    lines = []
    for text in addresses:
        try:
            address = ipaddress.ip_address(text)
        except ValueError:
            continue
        kind = "A" if address.version == 4 else "AAAA"
        lines.append(f"{name}\tIN\t{kind}\t{address}")
    return lines


def render(zone: str, ttl: int, entries: list[dict]) -> tuple[str, int, list[str]]:
    """Return the zone text, the number of address records and the container names that are no DNS label."""
    lines = [f"$TTL {ttl}", f"$ORIGIN {zone}"]
    if os.path.exists(UPLOADED_ZONE):
        with open(UPLOADED_ZONE, encoding="utf-8") as handle:
            lines += ["; loaded with the load_zone action", handle.read(), f"$TTL {ttl}", f"$ORIGIN {zone}"]
    else:
        # The serial only has to grow between reloads; seconds since 1970 do.
        serial = int(time.time())
        lines += [
            f"@\tIN\tSOA\tns.{zone} hostmaster.{zone} {serial} 3600 600 86400 {ttl}",
            f"@\tIN\tNS\tns.{zone}",
        ]
        lines += address_records("ns", own_addresses() or ["127.0.0.1"])

    lines.append("; the owner's containers")
    skipped = []
    count = 0
    by_service: dict[str, list[str]] = {}
    for entry in sorted(entries, key=lambda item: str(item.get("name"))):
        name = str(entry.get("name", "")).lower()
        addresses = [entry.get("ip_address"), entry.get("ipv6_address")]
        addresses = [address for address in addresses if address]
        if not LABEL.match(name):
            skipped.append(name)
            continue
        records = address_records(name, addresses)
        lines += records
        count += len(records)
        service = str(entry.get("service", "")).lower()
        if LABEL.match(service):
            by_service.setdefault(service, []).extend(addresses)

    lines.append("; each service name has the addresses of all its containers")
    for service, addresses in sorted(by_service.items()):
        records = address_records(service, addresses)
        lines += records
        count += len(records)
    return "\n".join(lines) + "\n", count, skipped


def main() -> int:
    reload = "--no-reload" not in sys.argv[1:]
    zone = os.environ.get("ZONE", "csdp.test.")
    ttl = int(os.environ.get("ZONE_TTL", "60"))

    try:
        text, count, skipped = render(zone, ttl, read_inventory())
    except (OSError, ValueError) as exc:
        print(f"reload-zone: cannot read the inventory: {exc}", file=sys.stderr)
        return 1

    # Check the new zone before it replaces the served one, so a bad upload
    # leaves the previous zone in place.
    candidate = f"{ZONE_FILE}.new"
    with open(candidate, "w", encoding="utf-8") as handle:
        handle.write(text)
    check = subprocess.run(["named-checkzone", "-q", zone, candidate], capture_output=True, text=True)
    if check.returncode != 0:
        detail = subprocess.run(["named-checkzone", zone, candidate], capture_output=True, text=True).stdout
        print(f"reload-zone: the new zone of {zone} is invalid, the served zone is unchanged:\n{detail}", file=sys.stderr)
        os.remove(candidate)
        return 1
    os.replace(candidate, ZONE_FILE)

    if reload:
        result = subprocess.run(["rndc", "-k", f"{STATE}/rndc.key", "reload", zone.rstrip(".")], capture_output=True, text=True)
        if result.returncode != 0:
            print(f"reload-zone: rndc reload {zone} failed: {result.stdout}{result.stderr}", file=sys.stderr)
            return 1

    print(json.dumps({"zone": zone, "records": count, "skipped": skipped}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
