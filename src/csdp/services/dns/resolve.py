#!/usr/bin/python3
"""Query the local name server with dig and print the answer as one JSON object.

Usage: dns-resolve [--server ADDRESS] NAME [TYPE], or dns-resolve --transfer.
A NAME without a final dot is relative to the zone unless it already ends
with the zone name. ``--server`` asks another name server, which makes this
image a DNS client too; ``--transfer`` lists the whole zone (AXFR) of the
local server instead. The output holds the
name, type, status (NOERROR, NXDOMAIN, REFUSED, ...), whether the answer is
authoritative, and the records as name, ttl, class, type and data.
"""

import json
import os
import re
import subprocess
import sys

HEADER = re.compile(r"status: ([A-Z]+)")
FLAGS = re.compile(r";; flags: ([a-z ]+);")
TYPES = {"A", "AAAA", "ANY", "CNAME", "MX", "NS", "PTR", "SOA", "SRV", "TXT"}


def qualify(name: str, zone: str) -> str:
    if name.endswith("."):
        return name
    if name == zone.rstrip(".") or name.endswith("." + zone.rstrip(".")):
        return name + "."
    return f"{name}.{zone}"


def parse(output: str) -> tuple[str | None, list[str], list[dict]]:
    status = None
    flags: list[str] = []
    records = []
    for line in output.splitlines():
        if line.startswith(";"):
            if status is None and (match := HEADER.search(line)):
                status = match.group(1)
            if not flags and (match := FLAGS.search(line)):
                flags = match.group(1).split()
            continue
        fields = line.split(None, 4)
        if len(fields) == 5:
            name, ttl, klass, kind, data = fields
            records.append({"name": name, "ttl": int(ttl), "class": klass, "type": kind, "data": data})
    return status, flags, records


def main() -> int:
    args = [arg for arg in sys.argv[1:] if arg != "--transfer"]
    transfer = len(args) != len(sys.argv) - 1
    server = "127.0.0.1"
    if args[:1] == ["--server"] and len(args) >= 2:
        server, args = args[1], args[2:]
    zone = os.environ.get("ZONE", "csdp.test.")
    if transfer:
        name, kind = zone, "AXFR"
    else:
        if not 1 <= len(args) <= 2 or not args[0]:
            print("dns-resolve: expected NAME [TYPE], such as: dns-resolve web AAAA", file=sys.stderr)
            return 2
        name = qualify(args[0].lower(), zone)
        kind = (args[1] if len(args) == 2 and args[1] else "A").upper()
        if kind not in TYPES:
            print(f"dns-resolve: type {kind!r} is not one of {', '.join(sorted(TYPES))}", file=sys.stderr)
            return 2

    command = ["dig", f"@{server}", "+norecurse", "+time=2", "+tries=1", "+noall", "+comments", "+answer", name, kind]
    result = subprocess.run(command, capture_output=True, text=True, timeout=20)
    if result.returncode not in (0, 9) and not result.stdout:
        print(f"dns-resolve: dig failed with status {result.returncode}: {result.stderr.strip()}", file=sys.stderr)
        return 1
    status, flags, records = parse(result.stdout)
    if transfer and status is None and records:
        status = "NOERROR"
        # A zone transfer ends with the SOA record it started with.
        if len(records) > 1 and records[-1] == records[0]:
            records.pop()
    print(json.dumps({
        "server": server,
        "name": name,
        "type": kind,
        "status": status or "NO_ANSWER",
        "authoritative": "aa" in flags,
        "records": records,
    }))
    return 0 if status is not None or records else 1


if __name__ == "__main__":
    sys.exit(main())
